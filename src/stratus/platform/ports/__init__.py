"""Ports: one typing.Protocol per cloud service, with the port's own exceptions.

Services and handlers depend on these only; ``bootstrap.py`` of each solution picks adapters.
"""

from stratus.platform.ports.clock import Clock
from stratus.platform.ports.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendUnavailableError,
    ConditionFailedError,
    InvalidRequestError,
    MailRejectedError,
    MessageTooLargeError,
    NotFoundError,
    PortError,
)
from stratus.platform.ports.identity import (
    Claims,
    PasswordPolicy,
    PoolUser,
    Tokens,
    UserPool,
)
from stratus.platform.ports.mail import Attachment, Email, Mailer
from stratus.platform.ports.objects import ObjectInfo, ObjectStore
from stratus.platform.ports.queue import Message, Queue, QueueBroker, QueueCounts
from stratus.platform.ports.secrets import SecretStore
from stratus.platform.ports.table import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Exists,
    IndexSpec,
    NotExists,
    Page,
    SortKeyCondition,
    StreamRecord,
    TableSpec,
    TableStore,
)
from stratus.platform.ports.topic import Topic, TopicMessage
from stratus.platform.ports.workflow import Execution, HistoryEvent, WorkflowRunner

__all__ = [
    "AllOf",
    "AlreadyExistsError",
    "AnyOf",
    "Attachment",
    "AuthenticationError",
    "BackendUnavailableError",
    "Claims",
    "Clock",
    "Compare",
    "Condition",
    "ConditionFailedError",
    "Email",
    "Execution",
    "Exists",
    "HistoryEvent",
    "IndexSpec",
    "InvalidRequestError",
    "MailRejectedError",
    "Mailer",
    "Message",
    "MessageTooLargeError",
    "NotExists",
    "NotFoundError",
    "ObjectInfo",
    "ObjectStore",
    "Page",
    "PasswordPolicy",
    "PoolUser",
    "PortError",
    "Queue",
    "QueueBroker",
    "QueueCounts",
    "SecretStore",
    "SortKeyCondition",
    "StreamRecord",
    "TableSpec",
    "TableStore",
    "Tokens",
    "Topic",
    "TopicMessage",
    "UserPool",
    "WorkflowRunner",
]
