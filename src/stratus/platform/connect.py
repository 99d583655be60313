"""Resources for handlers and bootstraps: one call, the right adapter for the target.

A handler reads a resource's identifier from its environment (declared in the SAM template:
``TABLE_NAME: !Ref OrdersTable``) and asks this module for the port::

    orders = connect.table(os.environ["TABLE_NAME"])

On AWS (inside Lambda, or ``STRATUS_TARGET=aws``) the aws adapters are built from the
identifier with boto3, once per process. Locally, the runtime (``stratus up``/``stratus
invoke``) installs a :class:`LocalResources` provider whose adapters share state with the
runtime (topic subscriptions, object notifications, the workflow runner). Outside a runtime,
locally, a provider over ``STRATUS_HOME`` is created on first use.

Identifiers are what CloudFormation gives: table name, queue URL, topic ARN, bucket name,
user pool id and app client id.
"""

from __future__ import annotations

import os
import re
import threading
from functools import cache
from pathlib import Path
from typing import Protocol

from stratus.platform.ports import (
    Clock,
    Mailer,
    ObjectStore,
    Queue,
    QueueBroker,
    SecretStore,
    TableStore,
    Topic,
    UserPool,
    WorkflowRunner,
)


class ResourceProvider(Protocol):
    """What a target supplies: ports from CloudFormation identifiers (name, URL or ARN,
    as given: a provider normalises them, e.g. with :func:`resource_name`)."""

    def table(self, name: str) -> TableStore: ...
    def queue(self, name: str) -> Queue: ...
    def queue_broker(self) -> QueueBroker: ...
    def topic(self, name: str) -> Topic: ...
    def bucket(self, name: str) -> ObjectStore: ...
    def workflows(self) -> WorkflowRunner: ...
    def mailer(self) -> Mailer: ...
    def secrets(self) -> SecretStore: ...
    def clock(self) -> Clock: ...
    def user_pool(self, pool_id: str, client_id: str) -> UserPool: ...


def resource_name(identifier: str) -> str:
    """The short name inside an ARN, a queue URL or a plain name.

    ``arn:aws:sns:us-east-1:1:Alerts`` → ``Alerts``; ``https://sqs.../1/Jobs`` → ``Jobs``;
    ``arn:aws:dynamodb:...:table/Orders`` → ``Orders``;
    ``arn:...:stateMachine:Fulfil`` → ``Fulfil``.
    """
    ident = identifier.strip()
    if not ident:
        raise ValueError("empty resource identifier")
    if ident.startswith(("https://", "http://")):
        return ident.rstrip("/").rsplit("/", 1)[-1]
    if ident.startswith("arn:"):
        resource = ident.split(":", 5)[-1]  # e.g. "table/Orders/stream/..." or "stateMachine:X"
        kind, _, rest = resource.partition("/") if "/" in resource else resource.partition(":")
        if not rest:
            return kind
        if kind in ("table", "stateMachine", "function", "secret"):
            return re.split(r"[/:]", rest, maxsplit=1)[0]
        return re.split(r"[/:]", resource)[-1]
    return ident


_lock = threading.Lock()
_provider: ResourceProvider | None = None


def install(provider: ResourceProvider | None) -> None:
    """Make ``provider`` answer every call of this module (None removes it)."""
    global _provider
    with _lock:
        _provider = provider


def target() -> str:
    """``aws`` or ``local``: STRATUS_TARGET when set, else ``aws`` inside Lambda."""
    explicit = os.environ.get("STRATUS_TARGET")
    if explicit:
        if explicit not in ("aws", "local"):
            raise ValueError(f"STRATUS_TARGET must be 'aws' or 'local', not {explicit!r}")
        return explicit
    return "aws" if os.environ.get("AWS_EXECUTION_ENV") else "local"


def home() -> Path:
    """The local data directory: STRATUS_HOME, default ``./.stratus``."""
    return Path(os.environ.get("STRATUS_HOME", ".stratus")).resolve()


def provider() -> ResourceProvider:
    """The provider for the current target."""
    with _lock:
        if _provider is not None:
            return _provider
    if target() == "aws":
        return _aws_provider()
    return _default_local_provider(str(home()))


@cache
def _aws_provider() -> ResourceProvider:
    from stratus.platform.adapters.aws.provider import AwsResources

    return AwsResources()


@cache
def _default_local_provider(home_dir: str) -> ResourceProvider:
    from stratus.platform.runtime.resources import LocalResources

    return LocalResources(Path(home_dir))


def table(name: str) -> TableStore:
    """The table with this name or ARN."""
    return provider().table(name)


def queue(url_or_name: str) -> Queue:
    """The queue with this URL, ARN or name."""
    return provider().queue(url_or_name)


def queue_broker() -> QueueBroker:
    """The queue broker, to create and delete queues at run time (e.g. temporary queues)."""
    return provider().queue_broker()


def topic(arn_or_name: str) -> Topic:
    """The topic with this ARN or name."""
    return provider().topic(arn_or_name)


def bucket(name: str) -> ObjectStore:
    """The bucket with this name."""
    return provider().bucket(name)


def workflows() -> WorkflowRunner:
    """The workflow runner (Step Functions, or the local ASL runner)."""
    return provider().workflows()


def mailer() -> Mailer:
    """The mailer (SES, or the local outbox)."""
    return provider().mailer()


def secrets() -> SecretStore:
    """The secret store (Secrets Manager, or the encrypted local file)."""
    return provider().secrets()


def clock() -> Clock:
    """The clock of the target (the runtime's possibly accelerated clock locally)."""
    return provider().clock()


def user_pool(pool_id: str, client_id: str) -> UserPool:
    """The user pool ``pool_id`` (``!Ref UserPool``) through its app client ``client_id``
    (``!Ref UserPoolClient``): Cognito on AWS, the SQLite pool locally."""
    return provider().user_pool(pool_id, client_id)
