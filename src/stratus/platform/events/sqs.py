"""The Lambda SQS event, built from received queue messages, and its batch-failure response.

Shape: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (sample event) and
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html (partial batch
responses). Message attributes are String attributes (the Queue port only carries text).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from stratus.platform.ports.errors import InvalidRequestError
from stratus.platform.ports.queue import Message

__all__ = [
    "LOCAL_SENDER_ID",
    "failed_message_ids",
    "md5_of_message_attributes",
    "sqs_event",
]

#: SenderId reported for local messages (SQS gives the IAM user or role id of the sender).
LOCAL_SENDER_ID = "AIDALOCALSTRATUSSENDER"
_STRING_FIELD = 1  # SQS's transport-type byte for String and Number values


def _millis(value: datetime | None) -> str:
    return "0" if value is None else str(int(value.timestamp() * 1000))


def md5_of_message_attributes(attributes: Mapping[str, str]) -> str:
    """SQS's MD5OfMessageAttributes for String attributes: for each name in sorted order,
    length-prefixed (4-byte big-endian) name, data type, then the transport byte and value."""
    md5 = hashlib.md5()  # noqa: S324 - SQS's checksum, not security

    def update(data: bytes) -> None:
        md5.update(struct.pack("!I", len(data)))
        md5.update(data)

    for name in sorted(attributes):
        update(name.encode("utf-8"))
        update(b"String")
        md5.update(bytes([_STRING_FIELD]))
        update(attributes[name].encode("utf-8"))
    return md5.hexdigest()


def _record(message: Message, queue_arn: str, region: str, sender_id: str) -> dict[str, Any]:
    sent = message.sent_at or message.first_received_at
    first = message.first_received_at or message.sent_at
    record: dict[str, Any] = {
        "messageId": message.message_id,
        "receiptHandle": message.receipt,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": _millis(sent),
            "SenderId": sender_id,
            "ApproximateFirstReceiveTimestamp": _millis(first),
        },
        "messageAttributes": {
            name: {
                "stringValue": value,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
            for name, value in sorted(message.attributes.items())
        },
        "md5OfBody": hashlib.md5(message.body.encode("utf-8")).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.attributes:
        # SQS adds md5OfMessageAttributes only when the message has attributes.
        record["md5OfMessageAttributes"] = md5_of_message_attributes(message.attributes)
    return record


def sqs_event(
    messages: Sequence[Message],
    *,
    queue_arn: str,
    region: str,
    sender_id: str = LOCAL_SENDER_ID,
) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping delivers for these messages.

    A timestamp the adapter could not tell (``sent_at`` None) falls back to the other one,
    then to "0"."""
    return {"Records": [_record(m, queue_arn, region, sender_id) for m in messages]}


def failed_message_ids(
    response: Any, *, message_ids: Collection[str] | None = None
) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response reports as failed.

    None when the whole batch succeeded: a None/empty response, or a null or empty
    ``batchItemFailures`` list (Lambda's rules). Raises InvalidRequestError for a response
    Lambda would treat as a failure of the whole batch: not a JSON object, a
    ``batchItemFailures`` that is not a list, an entry without a non-empty string
    ``itemIdentifier``, or (when ``message_ids`` is given) an id that is not in the batch.
    """
    if response is None:
        return None
    if not isinstance(response, Mapping):
        raise InvalidRequestError(
            f"batch response must be an object, got {type(response).__name__}"
        )
    failures = response.get("batchItemFailures")
    if failures is None:
        return None
    if not isinstance(failures, list):
        raise InvalidRequestError("batchItemFailures must be a list")
    failed: set[str] = set()
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, Mapping) else None
        if not isinstance(identifier, str) or not identifier:
            raise InvalidRequestError(
                f"batchItemFailures entry {entry!r} needs a non-empty itemIdentifier"
            )
        if message_ids is not None and identifier not in message_ids:
            raise InvalidRequestError(f"itemIdentifier {identifier!r} is not in the batch")
        failed.add(identifier)
    return failed or None
