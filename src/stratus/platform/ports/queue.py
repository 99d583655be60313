"""Queue port: an SQS-shaped at-least-once queue, plus a broker for creating queues.

Semantics (pinned down by tests/contract/test_queue.py):

* A received message is invisible for the visibility timeout; not deleted in time, it is
  delivered again with ``receive_count + 1``. When a queue has a dead-letter queue and a
  message's receive count would exceed ``max_receives``, it moves to the DLQ instead.
* A batch holds at most :data:`MAX_BATCH` messages and at most :data:`MAX_MESSAGE_BYTES`
  in total; one message at most :data:`MAX_MESSAGE_BYTES`. Larger raises MessageTooLargeError.
  (AWS raised the SQS limit to 1 MiB in 2025; we keep the classic 256 KiB so that messages fit
  every queue configuration and moto.)
* Bodies are text (UTF-8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

MAX_BATCH = 10
MAX_MESSAGE_BYTES = 262_144
MAX_RECEIVE = 10


@dataclass(frozen=True)
class Message:
    """A received message; ``receipt`` deletes it or changes its visibility.

    ``attributes`` are the message attributes given to ``send``; ``sent_at`` and
    ``first_received_at`` mirror SQS's SentTimestamp and ApproximateFirstReceiveTimestamp
    (None when the adapter cannot tell)."""

    message_id: str
    body: str
    receipt: str
    receive_count: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    sent_at: datetime | None = None
    first_received_at: datetime | None = None


@dataclass(frozen=True)
class QueueCounts:
    """Approximate numbers of messages, like SQS's ApproximateNumberOfMessages* attributes."""

    visible: int
    in_flight: int
    delayed: int = 0


@runtime_checkable
class Queue(Protocol):
    """One queue."""

    name: str

    def send(
        self, body: str, *, delay_s: int = 0, attributes: Mapping[str, str] | None = None
    ) -> str:
        """Send one message; return its message id."""
        ...

    def send_batch(self, bodies: Sequence[str]) -> list[str]:
        """Send up to MAX_BATCH messages (total size within MAX_MESSAGE_BYTES); return ids."""
        ...

    def receive(
        self, max_messages: int = 1, *, visibility_s: int | None = None, wait_s: float = 0
    ) -> list[Message]:
        """Receive up to ``max_messages`` (1..10) visible messages, hiding them for the visibility
        timeout (the queue's default when None). ``wait_s`` > 0 long-polls."""
        ...

    def delete(self, receipt: str) -> None:
        """Delete a received message. An unknown or stale receipt is ignored, as SQS does."""
        ...

    def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete up to MAX_BATCH received messages in one call (none: nothing to do).

        Unknown or stale receipts are ignored, as in ``delete``."""
        ...

    def change_visibility(self, receipt: str, visibility_s: int) -> None:
        """Make a received message visible again after ``visibility_s`` seconds."""
        ...

    def counts(self) -> QueueCounts:
        """Approximate message counts."""
        ...

    def purge(self) -> None:
        """Delete every message."""
        ...


@runtime_checkable
class QueueBroker(Protocol):
    """Creates, finds and deletes queues (temporary queues of a workflow included)."""

    def create(
        self,
        name: str,
        *,
        visibility_s: int = 30,
        dead_letter: str | None = None,
        max_receives: int | None = None,
    ) -> Queue:
        """Create the queue (idempotent for the same settings) and return it."""
        ...

    def get(self, name: str) -> Queue:
        """The queue with this name; NotFoundError when it does not exist."""
        ...

    def delete(self, name: str) -> None:
        """Delete the queue and its messages; NotFoundError when it does not exist."""
        ...

    def names(self, prefix: str = "") -> list[str]:
        """Names of existing queues starting with ``prefix``, sorted."""
        ...
