"""Topic port: SNS-shaped publish/subscribe with filter policies.

Semantics (tests/contract/test_topic.py): a message published is delivered to every
subscription whose filter policy matches the message attributes (SNS filter policy syntax:
exact values, ``prefix``, ``anything-but``, ``numeric``, ``exists``); a subscription without a
policy gets every message. Queue subscriptions receive the raw message body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: Attribute values: strings, numbers, or lists of them (SNS String, Number, String.Array).
AttributeValue = str | int | float | list[str | int | float]


@dataclass(frozen=True)
class TopicMessage:
    """A message as subscribers see it."""

    message_id: str
    body: str
    subject: str | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@runtime_checkable
class Topic(Protocol):
    """One topic."""

    name: str

    def publish(
        self,
        body: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> str:
        """Publish; return the message id."""
        ...

    def subscribe_queue(
        self, queue_name: str, *, filter_policy: Mapping[str, Any] | None = None
    ) -> str:
        """Deliver matching messages (raw body) to the named queue; return a subscription id."""
        ...

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription."""
        ...
