"""SNS publish rules shared by the in-process and SNS topic adapters.

Both adapters check a publish with :func:`check_publish` before delivering or calling SNS, so
they refuse the same requests with the same port exceptions. Limits copy SNS: a message of at
most 256 KiB counting its attributes, at most 10 message attributes (what SQS raw delivery
accepts), a subject of 1..100 ASCII characters without line breaks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from stratus.platform.events.sns import sns_attribute
from stratus.platform.ports.errors import InvalidRequestError, MessageTooLargeError
from stratus.platform.ports.topic import AttributeValue

__all__ = ["MAX_ATTRIBUTES", "MAX_PUBLISH_BYTES", "check_publish", "sns_attribute"]

MAX_PUBLISH_BYTES = 262_144
MAX_ATTRIBUTES = 10
MAX_SUBJECT = 100

_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_SUBJECT = re.compile(r"^[\x20-\x7e]+$")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(name: str, value: object) -> None:
    if isinstance(value, str):
        if not value:
            raise InvalidRequestError(f"attribute {name!r} has an empty string value")
        return
    if _is_number(value):
        if not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise InvalidRequestError(f"attribute {name!r} must be a finite number")
        return
    if isinstance(value, list):
        for item in value:
            if not (isinstance(item, str) or _is_number(item)):
                raise InvalidRequestError(
                    f"attribute {name!r}: String.Array items must be strings or numbers"
                )
        return
    raise InvalidRequestError(
        f"attribute {name!r} must be a string, a number or a list (String.Array)"
    )


def check_publish(
    body: str, subject: str | None, attributes: Mapping[str, AttributeValue] | None
) -> None:
    """Raise InvalidRequestError / MessageTooLargeError for a publish SNS would refuse."""
    if not isinstance(body, str) or not body:
        raise InvalidRequestError("a message body must be a non-empty string")
    if subject is not None and (
        not subject or len(subject) > MAX_SUBJECT or not _SUBJECT.match(subject)
    ):
        raise InvalidRequestError(
            f"subject must be 1..{MAX_SUBJECT} printable ASCII characters without line breaks"
        )
    size = len(body.encode("utf-8"))
    attributes = attributes or {}
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidRequestError(f"at most {MAX_ATTRIBUTES} message attributes")
    for name, value in attributes.items():
        if not isinstance(name, str) or not _ATTRIBUTE_NAME.match(name):
            raise InvalidRequestError(f"invalid message attribute name {name!r}")
        if name.lower().startswith(("aws.", "amazon.")):
            raise InvalidRequestError(f"attribute names may not start with AWS. or Amazon.: {name}")
        _check_value(name, value)
        kind, text = sns_attribute(value)
        size += len(name.encode()) + len(kind) + len(text.encode("utf-8"))
    if size > MAX_PUBLISH_BYTES:
        raise MessageTooLargeError(
            f"message is {size} bytes with its attributes; the limit is {MAX_PUBLISH_BYTES}"
        )
