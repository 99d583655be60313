"""Amazon SQS queues behind the Queue/QueueBroker ports (boto3 ``sqs`` client).

Requests are checked with the same rules as the SQLite adapter before they reach SQS
(``stratus.platform.adapters.queuerules``), so both adapters refuse the same requests with the
same port exceptions; every botocore error that still comes back is translated.

* Dead-letter queues use a redrive policy (deadLetterTargetArn + maxReceiveCount).
* ``receive_count`` comes from the ApproximateReceiveCount system attribute.
* Message attributes are sent and read back as SQS ``String`` attributes.
* A stale or unknown receipt given to ``delete``/``change_visibility`` is ignored (port
  semantics); SQS answers ReceiptHandleIsInvalid for a malformed one, which is swallowed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

# adapters/aws is where botocore belongs (ruff bans ClientError everywhere else).
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ParamValidationError,
)

from stratus.platform.adapters import queuerules
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    MessageTooLargeError,
    NotFoundError,
    PortError,
)
from stratus.platform.ports.queue import Message, QueueCounts

__all__ = ["SqsQueue", "SqsQueueBroker", "translate_sqs_error"]

_NOT_FOUND = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NonExistentQueue",
}
_TOO_LARGE = {"BatchRequestTooLong", "MessageTooLong", "AWS.SimpleQueueService.BatchRequestTooLong"}
_STALE_RECEIPT = {
    "ReceiptHandleIsInvalid",
    "MessageNotInflight",
    "AWS.SimpleQueueService.MessageNotInflight",
}
_INVALID = {
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidMessageContents",
    "InvalidBatchEntryId",
    "BatchEntryIdsNotDistinct",
    "EmptyBatchRequest",
    "TooManyEntriesInBatchRequest",
    "QueueAlreadyExists",
    "QueueNameExists",
    "UnsupportedOperation",
    "ValidationError",
    "InvalidAddress",
    "OverLimit",
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate_sqs_error(exc: Exception, what: str) -> PortError:
    """The port exception for a botocore error raised while doing ``what``."""
    if isinstance(exc, ParamValidationError):
        return InvalidRequestError(f"{what}: {exc}")
    if isinstance(exc, ClientError):
        code = _code(exc)
        message = f"{what}: {code}: {exc.response.get('Error', {}).get('Message', exc)}"
        if code in _NOT_FOUND:
            return NotFoundError(message)
        if code in _TOO_LARGE or (code == "InvalidParameterValue" and "shorter than" in message):
            return MessageTooLargeError(message)
        if code in _INVALID:
            return InvalidRequestError(message)
        return BackendUnavailableError(message)
    return BackendUnavailableError(f"{what}: {exc}")


@contextmanager
def _errors(what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate_sqs_error(exc, what) from exc


def _millis(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except ValueError:
        return None


class SqsQueueBroker:
    """Creates, finds and deletes SQS standard queues by name.

    ``client`` is a boto3 ``sqs`` client; by default one is built on first use from the
    environment (region, credentials).
    """

    def __init__(self, *, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 SQS client (built lazily)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def _url(self, name: str) -> str:
        with _errors(f"queue {name!r}"):
            return cast(str, self.client.get_queue_url(QueueName=name)["QueueUrl"])

    def _arn(self, url: str, name: str) -> str:
        with _errors(f"queue {name!r}"):
            attributes = self.client.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]
        return cast(str, attributes["QueueArn"])

    def create(
        self,
        name: str,
        *,
        visibility_s: int = 30,
        dead_letter: str | None = None,
        max_receives: int | None = None,
    ) -> SqsQueue:
        """Create the queue (idempotent for the same settings; other settings are refused)."""
        queuerules.check_queue_name(name)
        queuerules.check_queue_settings(visibility_s, dead_letter, max_receives)
        attributes = {"VisibilityTimeout": str(visibility_s)}
        if dead_letter is not None:
            dlq_arn = self._arn(self._url(dead_letter), dead_letter)
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
            )
        with _errors(f"create queue {name!r}"):
            url = cast(
                str, self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            )
            existing = self.client.get_queue_attributes(
                QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
            )["Attributes"]
        # SQS only compares the attributes a CreateQueue names; compare them all so that the
        # broker refuses other settings exactly as the SQLite broker does.
        redrive = json.loads(existing.get("RedrivePolicy") or "{}")
        actual = (
            int(existing.get("VisibilityTimeout", visibility_s)),
            str(redrive["deadLetterTargetArn"]).rsplit(":", 1)[-1] if redrive else None,
            int(redrive["maxReceiveCount"]) if redrive else None,
        )
        if actual != (visibility_s, dead_letter, max_receives):
            raise InvalidRequestError(f"queue {name!r} already exists with other settings {actual}")
        return SqsQueue(name, url, client=self.client)

    def get(self, name: str) -> SqsQueue:
        """The queue with this name; NotFoundError when it does not exist."""
        return SqsQueue(name, self._url(name), client=self.client)

    def delete(self, name: str) -> None:
        """Delete the queue and its messages; NotFoundError when it does not exist."""
        url = self._url(name)
        with _errors(f"delete queue {name!r}"):
            self.client.delete_queue(QueueUrl=url)

    def names(self, prefix: str = "") -> list[str]:
        """Names of existing queues starting with ``prefix``, sorted."""
        names: list[str] = []
        request: dict[str, Any] = {"MaxResults": 1000}
        if prefix:
            request["QueueNamePrefix"] = prefix
        with _errors("list queues"):
            while True:
                page = self.client.list_queues(**request)
                names.extend(
                    url.rstrip("/").rsplit("/", 1)[-1] for url in page.get("QueueUrls", [])
                )
                token = page.get("NextToken")
                if not token:
                    break
                request["NextToken"] = token
        return sorted(n for n in names if n.startswith(prefix))


class SqsQueue:
    """One SQS queue, addressed by its URL."""

    def __init__(self, name: str, url: str, *, client: Any) -> None:
        self.name = name
        self.url = url
        self._client = client

    def __repr__(self) -> str:
        return f"SqsQueue({self.name!r})"

    def _what(self, action: str) -> str:
        return f"{action} on queue {self.name!r}"

    def send(
        self, body: str, *, delay_s: int = 0, attributes: Mapping[str, str] | None = None
    ) -> str:
        """Send one message; return its message id."""
        queuerules.check_send(body, delay_s, attributes)
        request: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": body}
        if delay_s:
            request["DelaySeconds"] = delay_s
        if attributes:
            request["MessageAttributes"] = {
                key: {"DataType": queuerules.STRING_TYPE, "StringValue": value}
                for key, value in attributes.items()
            }
        with _errors(self._what("send")):
            return cast(str, self._client.send_message(**request)["MessageId"])

    def send_batch(self, bodies: Sequence[str]) -> list[str]:
        """Send 1..10 messages (at most MAX_MESSAGE_BYTES in all); return their ids.

        SQS batches are not atomic: when SQS fails some entries, the others were sent and the
        error names the failed ones."""
        queuerules.check_batch(bodies)
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
        with _errors(self._what("send_batch")):
            response = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
        failed = response.get("Failed") or []
        if failed:
            detail = "; ".join(
                f"#{f['Id']}: {f.get('Code')} {f.get('Message', '')}" for f in failed
            )
            error = (
                InvalidRequestError
                if all(f.get("SenderFault") for f in failed)
                else BackendUnavailableError
            )
            raise error(f"{self._what('send_batch')}: {len(failed)} entries failed: {detail}")
        ids = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
        return [cast(str, ids[str(i)]) for i in range(len(bodies))]

    def receive(
        self, max_messages: int = 1, *, visibility_s: int | None = None, wait_s: float = 0
    ) -> list[Message]:
        """Receive up to ``max_messages``; ``wait_s`` is rounded up to whole seconds (SQS)."""
        queuerules.check_receive(max_messages, visibility_s, wait_s)
        request: dict[str, Any] = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": math.ceil(wait_s),
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["All"],
        }
        if visibility_s is not None:
            request["VisibilityTimeout"] = visibility_s
        with _errors(self._what("receive")):
            response = self._client.receive_message(**request)
        return [self._message(raw) for raw in response.get("Messages", [])]

    @staticmethod
    def _message(raw: Mapping[str, Any]) -> Message:
        system = raw.get("Attributes", {})
        attributes = {
            key: str(value.get("StringValue", ""))
            for key, value in raw.get("MessageAttributes", {}).items()
            if "StringValue" in value
        }
        return Message(
            message_id=raw["MessageId"],
            body=raw["Body"],
            receipt=raw["ReceiptHandle"],
            receive_count=int(system.get("ApproximateReceiveCount", 1)),
            attributes=attributes,
            sent_at=_millis(system.get("SentTimestamp")),
            first_received_at=_millis(system.get("ApproximateFirstReceiveTimestamp")),
        )

    def delete(self, receipt: str) -> None:
        """Delete a received message. An unknown or stale receipt is ignored, as SQS does."""
        try:
            self._client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)
        except ClientError as exc:
            if _code(exc) not in _STALE_RECEIPT:
                raise translate_sqs_error(exc, self._what("delete")) from exc
        except BotoCoreError as exc:
            raise translate_sqs_error(exc, self._what("delete")) from exc

    def delete_batch(self, receipts: Sequence[str]) -> None:
        """DeleteMessageBatch; entries failing only for a stale receipt are ignored."""
        queuerules.check_receipts(receipts)
        if not receipts:
            return
        entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts)]
        with _errors(self._what("delete_batch")):
            response = self._client.delete_message_batch(QueueUrl=self.url, Entries=entries)
        failed = [f for f in response.get("Failed") or [] if f.get("Code") not in _STALE_RECEIPT]
        if failed:
            detail = "; ".join(
                f"#{f['Id']}: {f.get('Code')} {f.get('Message', '')}" for f in failed
            )
            raise BackendUnavailableError(
                f"{self._what('delete_batch')}: {len(failed)} entries failed: {detail}"
            )

    def change_visibility(self, receipt: str, visibility_s: int) -> None:
        """Make a received message visible again after ``visibility_s`` seconds.

        A stale receipt (SQS: MessageNotInflight / ReceiptHandleIsInvalid) is ignored, like
        the SQLite adapter does."""
        queuerules.check_visibility(visibility_s)
        try:
            self._client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=visibility_s
            )
        except ClientError as exc:
            if _code(exc) not in _STALE_RECEIPT:
                raise translate_sqs_error(exc, self._what("change_visibility")) from exc
        except BotoCoreError as exc:
            raise translate_sqs_error(exc, self._what("change_visibility")) from exc

    def counts(self) -> QueueCounts:
        """SQS's ApproximateNumberOfMessages, ...NotVisible and ...Delayed."""
        with _errors(self._what("counts")):
            attributes = self._client.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
        return QueueCounts(
            visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    def purge(self) -> None:
        """Delete every message (SQS allows one purge per queue every 60 s; a second one
        raises BackendUnavailableError, which may be retried later)."""
        with _errors(self._what("purge")):
            self._client.purge_queue(QueueUrl=self.url)

    def arn(self) -> str:
        """The queue ARN (for redrive policies and SNS subscriptions)."""
        with _errors(self._what("arn")):
            attributes = self._client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["QueueArn"]
            )["Attributes"]
        return cast(str, attributes["QueueArn"])
