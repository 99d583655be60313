"""The Lambda SNS event, built from a topic message.

Shape: https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html (sample event). Attributes
are typed like SNS does: String, Number (value as text) and String.Array (JSON text).
A local message is not signed: ``Signature`` is a placeholder (a digest of the message, so it
is stable) and ``SigningCertUrl`` points to no real certificate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from stratus.platform.ports.errors import InvalidRequestError
from stratus.platform.ports.topic import AttributeValue, TopicMessage

__all__ = ["sns_attribute", "sns_event"]

_SUBSCRIPTION_NAMESPACE = uuid.UUID("6f1c1b1e-5e0a-4a53-9a4e-2f7b8f3c9d10")


def sns_attribute(value: AttributeValue) -> tuple[str, str]:
    """(SNS DataType, string value) of an attribute: String, Number or String.Array."""
    if isinstance(value, str):
        return "String", value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "Number", str(value)
    if isinstance(value, list):
        return "String.Array", json.dumps(value)
    raise InvalidRequestError(f"attribute value {value!r} must be a string, number or list")


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise InvalidRequestError("timestamp must be tz-aware")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def sns_event(
    message: TopicMessage,
    *,
    topic_arn: str,
    region: str,
    subscription_arn: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The event SNS delivers to a subscribed Lambda function for ``message``.

    ``subscription_arn`` defaults to a stable ARN under the topic; ``timestamp`` (the publish
    time) defaults to now, the only impure default."""
    subscription_arn = subscription_arn or (
        f"{topic_arn}:{uuid.uuid5(_SUBSCRIPTION_NAMESPACE, topic_arn)}"
    )
    published = timestamp or datetime.now(UTC)
    attributes = {}
    for name, value in message.attributes.items():
        kind, text = sns_attribute(value)
        attributes[name] = {"Type": kind, "Value": text}
    digest = hashlib.sha256(f"{message.message_id}\n{message.body}".encode()).digest()
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message.message_id,
                    "TopicArn": topic_arn,
                    "Subject": message.subject,
                    "Message": message.body,
                    "Timestamp": _timestamp(published),
                    "SignatureVersion": "1",
                    "Signature": base64.b64encode(digest).decode("ascii"),
                    "SigningCertUrl": (
                        f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem"
                    ),
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                        f"&SubscriptionArn={subscription_arn}"
                    ),
                    "MessageAttributes": attributes,
                },
            }
        ]
    }
