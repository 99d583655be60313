"""Amazon SNS topic behind the Topic port (boto3 ``sns`` client, plus ``sqs`` for queues).

* Message attributes are typed String / Number / String.Array from the Python value.
* ``subscribe_queue`` resolves the queue ARN by name, adds to the queue's access policy a
  statement letting this topic send to it (SNS cannot deliver without it on real AWS; existing
  statements are kept), subscribes with ``RawMessageDelivery=true`` and the filter policy.
* Requests are checked with the same rules as the in-process topic before reaching SNS, and
  every botocore error is translated into a port exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ParamValidationError,
)

from stratus.platform import filterpolicy
from stratus.platform.adapters import topicrules
from stratus.platform.adapters.aws.queue import translate_sqs_error
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    MessageTooLargeError,
    NotFoundError,
    PortError,
)
from stratus.platform.ports.topic import AttributeValue

__all__ = ["SnsTopic", "translate_sns_error"]

_NOT_FOUND = {"NotFound", "NotFoundException", "ResourceNotFound", "ResourceNotFoundException"}
_INVALID = {
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterException",
    "ValidationError",
    "FilterPolicyLimitExceeded",
    "SubscriptionLimitExceeded",
}


def translate_sns_error(exc: Exception, what: str) -> PortError:
    """The port exception for a botocore error raised by an SNS call while doing ``what``."""
    if isinstance(exc, ParamValidationError):
        return InvalidRequestError(f"{what}: {exc}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = f"{what}: {code}: {error.get('Message', exc)}"
        if code in _NOT_FOUND:
            return NotFoundError(message)
        if code in _INVALID:
            if "too long" in message.lower():
                return MessageTooLargeError(message)
            return InvalidRequestError(message)
        return BackendUnavailableError(message)
    return BackendUnavailableError(f"{what}: {exc}")


@contextmanager
def _sns_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate_sns_error(exc, what) from exc


@contextmanager
def _sqs_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate_sqs_error(exc, what) from exc


class SnsTopic:
    """One SNS topic addressed by its ARN; ``name`` is the last part of the ARN.

    ``client`` (boto3 ``sns``) and ``sqs_client`` (boto3 ``sqs``, only for
    ``subscribe_queue``) are built lazily from the environment when not given.
    """

    def __init__(self, topic_arn: str, *, client: Any = None, sqs_client: Any = None) -> None:
        if not topic_arn.startswith("arn:") or topic_arn.count(":") != 5:
            raise InvalidRequestError(f"not a topic ARN: {topic_arn!r}")
        self.topic_arn = topic_arn
        self.name = topic_arn.rsplit(":", 1)[-1]
        self._client = client
        self._sqs_client = sqs_client

    def __repr__(self) -> str:
        return f"SnsTopic({self.topic_arn!r})"

    @property
    def client(self) -> Any:
        """The boto3 SNS client (built lazily)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("sns")
        return self._client

    @property
    def sqs_client(self) -> Any:
        """The boto3 SQS client (built lazily)."""
        if self._sqs_client is None:
            import boto3

            self._sqs_client = boto3.client("sqs")
        return self._sqs_client

    def publish(
        self,
        body: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> str:
        """Publish; return the SNS message id."""
        topicrules.check_publish(body, subject, attributes)
        request: dict[str, Any] = {"TopicArn": self.topic_arn, "Message": body}
        if subject is not None:
            request["Subject"] = subject
        if attributes:
            typed = {}
            for key, value in attributes.items():
                kind, text = topicrules.sns_attribute(value)
                typed[key] = {"DataType": kind, "StringValue": text}
            request["MessageAttributes"] = typed
        with _sns_errors(f"publish to {self.name!r}"):
            return cast(str, self.client.publish(**request)["MessageId"])

    def subscribe_queue(
        self, queue_name: str, *, filter_policy: Mapping[str, Any] | None = None
    ) -> str:
        """Subscribe the named SQS queue (raw delivery); return the subscription ARN."""
        if filter_policy is not None:
            filterpolicy.validate(filter_policy)
        what = f"subscribe queue {queue_name!r} to {self.name!r}"
        with _sqs_errors(what):
            url = self.sqs_client.get_queue_url(QueueName=queue_name)["QueueUrl"]
            found = self.sqs_client.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn", "Policy"]
            )["Attributes"]
            queue_arn = cast(str, found["QueueArn"])
            policy = self._allow_topic(found.get("Policy"), queue_arn)
            if policy is not None:
                self.sqs_client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        attributes = {"RawMessageDelivery": "true"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        with _sns_errors(what):
            response = self.client.subscribe(
                TopicArn=self.topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )
        return cast(str, response["SubscriptionArn"])

    def _allow_topic(self, current: str | None, queue_arn: str) -> str | None:
        """The queue policy with a statement allowing this topic to send, or None when the
        policy already has it."""
        sid = f"stratus-sns-{self.name}"[:100]
        document: dict[str, Any] = (
            json.loads(current) if current else {"Version": "2012-10-17", "Statement": []}
        )
        found: Any = document.get("Statement") or []
        statements: list[dict[str, Any]] = [found] if isinstance(found, dict) else list(found)
        document["Statement"] = statements
        if any(s.get("Sid") == sid for s in statements):
            return None
        statements.append(
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": self.topic_arn}},
            }
        )
        return json.dumps(document)

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription (an already removed one is ignored, as SNS does)."""
        with _sns_errors(f"unsubscribe {subscription_id!r}"):
            try:
                self.client.unsubscribe(SubscriptionArn=subscription_id)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _NOT_FOUND:
                    raise
