"""SQS request rules shared by the SQLite and SQS queue adapters.

Both adapters check requests with these functions *before* touching their backend, so that
a request refused by one is refused by the other with the same port exception (moto, for one,
accepts 1 MiB messages and counts characters rather than bytes). The limits copy SQS:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from stratus.platform.ports.errors import InvalidRequestError, MessageTooLargeError
from stratus.platform.ports.queue import MAX_BATCH, MAX_MESSAGE_BYTES

MAX_DELAY_S = 900
MAX_VISIBILITY_S = 43_200
MAX_WAIT_S = 20
MAX_ATTRIBUTES = 10
MAX_MAX_RECEIVES = 1000
#: Type name SQS counts for each String message attribute (name + type + value bytes).
STRING_TYPE = "String"

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
# SQS accepts only these code points in a body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD
# | #x10000-#x10FFFF. Anything else is an InvalidMessageContents error.
_INVALID_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_queue_name(name: str) -> None:
    """SQS standard queue names: 1-80 letters, digits, hyphens and underscores."""
    if not isinstance(name, str) or not _QUEUE_NAME.match(name):
        raise InvalidRequestError(
            f"invalid queue name {name!r}: 1-80 letters, digits, '-' or '_' (FIFO unsupported)"
        )


def check_queue_settings(
    visibility_s: int, dead_letter: str | None, max_receives: int | None
) -> None:
    """Visibility 0..43200 s; a dead-letter queue needs max_receives 1..1000 and vice versa."""
    check_visibility(visibility_s)
    if (dead_letter is None) != (max_receives is None):
        raise InvalidRequestError("dead_letter and max_receives go together (SQS redrive policy)")
    if dead_letter is not None:
        check_queue_name(dead_letter)
    if max_receives is not None and not 1 <= max_receives <= MAX_MAX_RECEIVES:
        raise InvalidRequestError(f"max_receives must be 1..{MAX_MAX_RECEIVES}")


def check_visibility(visibility_s: int) -> None:
    """A visibility timeout lies in 0..43200 seconds (12 hours)."""
    if not isinstance(visibility_s, int) or not 0 <= visibility_s <= MAX_VISIBILITY_S:
        raise InvalidRequestError(f"visibility timeout must be 0..{MAX_VISIBILITY_S} seconds")


def check_receive(max_messages: int, visibility_s: int | None, wait_s: float) -> None:
    """1..10 messages per receive, wait 0..20 s."""
    if not isinstance(max_messages, int) or not 1 <= max_messages <= MAX_BATCH:
        raise InvalidRequestError(f"max_messages must be 1..{MAX_BATCH}")
    if visibility_s is not None:
        check_visibility(visibility_s)
    if not 0 <= wait_s <= MAX_WAIT_S:
        raise InvalidRequestError(f"wait_s must be 0..{MAX_WAIT_S} seconds")


def message_size(body: str, attributes: Mapping[str, str] | None = None) -> int:
    """Bytes SQS counts for a message: UTF-8 body plus each attribute's name, type and value."""
    size = len(body.encode("utf-8"))
    for name, value in (attributes or {}).items():
        size += len(name.encode()) + len(STRING_TYPE) + len(value.encode("utf-8"))
    return size


def check_message(body: str, attributes: Mapping[str, str] | None = None) -> int:
    """Validate one message; return its size in bytes."""
    if not isinstance(body, str) or not body:
        raise InvalidRequestError("a message body must be a non-empty string")
    bad = _INVALID_CHARS.search(body)
    if bad:
        raise InvalidRequestError(
            f"message body contains a character SQS refuses: U+{ord(bad.group()):04X}"
        )
    if attributes:
        if len(attributes) > MAX_ATTRIBUTES:
            raise InvalidRequestError(f"at most {MAX_ATTRIBUTES} message attributes")
        for name, value in attributes.items():
            if not _ATTRIBUTE_NAME.match(name) or name.lower().startswith(("aws.", "amazon.")):
                raise InvalidRequestError(f"invalid message attribute name {name!r}")
            if not isinstance(value, str) or not value:
                raise InvalidRequestError(f"message attribute {name!r} needs a non-empty string")
    size = message_size(body, attributes)
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(
            f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes"
        )
    return size


def check_send(body: str, delay_s: int, attributes: Mapping[str, str] | None) -> None:
    """Validate a single send: the message and a delay of 0..900 s."""
    if not isinstance(delay_s, int) or not 0 <= delay_s <= MAX_DELAY_S:
        raise InvalidRequestError(f"delay_s must be 0..{MAX_DELAY_S} seconds")
    check_message(body, attributes)


def check_batch(bodies: Sequence[str]) -> None:
    """1..10 messages whose sizes add up to at most MAX_MESSAGE_BYTES."""
    if isinstance(bodies, str):
        raise InvalidRequestError("send_batch takes a sequence of bodies, not one string")
    if not bodies:
        raise InvalidRequestError("a batch needs at least one message (SQS EmptyBatchRequest)")
    if len(bodies) > MAX_BATCH:
        raise InvalidRequestError(
            f"a batch holds at most {MAX_BATCH} messages, got {len(bodies)}"
            " (SQS TooManyEntriesInBatchRequest)"
        )
    total = sum(check_message(body) for body in bodies)
    if total > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(
            f"batch is {total} bytes; the limit is {MAX_MESSAGE_BYTES} bytes"
            " (SQS BatchRequestTooLong)"
        )


def check_receipts(receipts: Sequence[str]) -> None:
    """At most MAX_BATCH receipts, each a non-empty string (delete_batch)."""
    if isinstance(receipts, str):
        raise InvalidRequestError("delete_batch takes a sequence of receipts, not one string")
    if len(receipts) > MAX_BATCH:
        raise InvalidRequestError(
            f"a batch holds at most {MAX_BATCH} receipts, got {len(receipts)}"
            " (SQS TooManyEntriesInBatchRequest)"
        )
    if any(not isinstance(r, str) or not r for r in receipts):
        raise InvalidRequestError("every receipt must be a non-empty string")
