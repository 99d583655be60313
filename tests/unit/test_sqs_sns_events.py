"""Lambda SQS/SNS events built from port values (stratus.platform.events.sqs / .sns)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import SNSEvent, SQSEvent
from aws_lambda_powertools.utilities.parser.models import SnsModel, SqsModel

from stratus.platform.events.sns import sns_attribute, sns_event
from stratus.platform.events.sqs import (
    failed_message_ids,
    md5_of_message_attributes,
    sqs_event,
)
from stratus.platform.ports.errors import InvalidRequestError
from stratus.platform.ports.queue import Message
from stratus.platform.ports.topic import TopicMessage

EVENTS = Path(__file__).resolve().parent.parent / "events"
QUEUE_ARN = "arn:aws:sqs:us-east-2:123456789012:my-queue"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sns-lambda"
SENT = datetime(2018, 12, 17, 21, 37, 29, 183000, tzinfo=UTC)
FIRST = datetime(2018, 12, 17, 21, 37, 29, 185000, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def shape(value: Any) -> Any:
    """The key structure of a JSON value (dict keys and nesting; leaves become their type)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def message(**overrides: Any) -> Message:
    values: dict[str, Any] = {
        "message_id": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "body": "Test message.",
        "receipt": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "receive_count": 1,
        "sent_at": SENT,
        "first_received_at": FIRST,
    }
    values.update(overrides)
    return Message(**values)


# ---------------------------------------------------------------------------------------- SQS


def test_the_sqs_event_has_exactly_the_shape_and_values_of_the_aws_sample() -> None:
    event = sqs_event(
        [message()], queue_arn=QUEUE_ARN, region="us-east-2", sender_id="AIDAIENQZJOLO23YVJ4VO"
    )
    assert event == load("sqs_receive_message.json")


def test_an_sqs_record_with_attributes_matches_the_sample_with_attributes() -> None:
    sample = load("sqs_message_attributes.json")
    event = sqs_event(
        [
            message(
                message_id="2e1424d4-f796-459a-8184-9c92662be6da",
                receipt="AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
                receive_count=2,
                attributes={"kind": "order"},
                sent_at=datetime.fromtimestamp(1545082650.636, UTC),
                first_received_at=datetime.fromtimestamp(1545082650.649, UTC),
            )
        ],
        queue_arn=QUEUE_ARN,
        region="us-east-2",
        sender_id="AIDAIENQZJOLO23YVJ4VO",
    )
    assert shape(event) == shape(sample)
    assert event == sample


def test_powertools_parses_the_sqs_event() -> None:
    event = sqs_event(
        [message(), message(message_id="b", attributes={"a": "1"})],
        queue_arn=QUEUE_ARN,
        region="us-east-2",
    )
    parsed = SqsModel.model_validate(event)
    assert [r.messageId for r in parsed.Records] == [
        "059f36b4-87a3-44ab-83d2-661975830a7d",
        "b",
    ]
    assert parsed.Records[0].attributes.SentTimestamp == SENT
    records = list(SQSEvent(event).records)
    attribute = records[1].message_attributes["a"]
    assert attribute is not None
    assert attribute.string_value == "1"
    assert records[0].attributes.approximate_receive_count == "1"


def test_the_md5_of_the_body_is_the_hex_md5_of_its_utf8_bytes() -> None:
    (record,) = sqs_event([message(body="héllo")], queue_arn=QUEUE_ARN, region="r")["Records"]
    assert record["md5OfBody"] == hashlib.md5("héllo".encode()).hexdigest()


def test_md5_of_message_attributes_agrees_with_moto(moto_aws: None) -> None:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="md5")["QueueUrl"]
    attributes = {"zeta": "é", "alpha": "1", "kind": "order"}
    sqs.send_message(
        QueueUrl=url,
        MessageBody="x",
        MessageAttributes={
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        },
    )
    (received,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert md5_of_message_attributes(attributes) == received["MD5OfMessageAttributes"]


def test_a_missing_sent_time_falls_back_to_the_first_receive_time() -> None:
    (record,) = sqs_event([message(sent_at=None)], queue_arn=QUEUE_ARN, region="r")["Records"]
    assert record["attributes"]["SentTimestamp"] == "1545082649185"


def test_a_batch_response_reports_the_failed_message_ids() -> None:
    response = load("sqs_batch_item_failures_response.json")
    assert failed_message_ids(response) == {"2e1424d4-f796-459a-8184-9c92662be6da"}
    assert failed_message_ids(
        response, message_ids={"2e1424d4-f796-459a-8184-9c92662be6da", "other"}
    ) == {"2e1424d4-f796-459a-8184-9c92662be6da"}


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"statusCode": 200}],
)
def test_an_empty_or_absent_failure_list_means_the_whole_batch_succeeded(response: Any) -> None:
    assert failed_message_ids(response) is None


@pytest.mark.parametrize(
    "response",
    [
        "ok",
        ["a"],
        {"batchItemFailures": "a"},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemId": "a"}]},
        {"batchItemFailures": ["a"]},
    ],
)
def test_a_malformed_batch_response_is_refused(response: Any) -> None:
    with pytest.raises(InvalidRequestError):
        failed_message_ids(response)


def test_a_failure_naming_a_message_outside_the_batch_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="not in the batch"):
        failed_message_ids({"batchItemFailures": [{"itemIdentifier": "x"}]}, message_ids={"a"})


# ---------------------------------------------------------------------------------------- SNS


def topic_message(**overrides: Any) -> TopicMessage:
    values: dict[str, Any] = {
        "message_id": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "body": "Hello from SNS!",
        "subject": "TestInvoke",
        "attributes": {"Test": "TestString", "Amount": 150},
    }
    values.update(overrides)
    return TopicMessage(**values)


def test_the_sns_event_has_the_shape_and_values_of_the_aws_sample() -> None:
    sample = load("sns_notification.json")
    subscription = sample["Records"][0]["EventSubscriptionArn"]
    event = sns_event(
        topic_message(),
        topic_arn=TOPIC_ARN,
        region="us-east-1",
        subscription_arn=subscription,
        timestamp=datetime(2019, 1, 2, 12, 45, 7, tzinfo=UTC),
    )
    assert shape(event) == shape(sample)
    (record,) = event["Records"]
    (expected,) = sample["Records"]
    unsigned = {"Signature", "SigningCertUrl", "UnsubscribeUrl"}
    assert {k: v for k, v in record["Sns"].items() if k not in unsigned} == {
        k: v for k, v in expected["Sns"].items() if k not in unsigned
    }
    assert {k: v for k, v in record.items() if k != "Sns"} == {
        k: v for k, v in expected.items() if k != "Sns"
    }
    assert record["Sns"]["UnsubscribeUrl"].endswith(f"SubscriptionArn={subscription}")


def test_powertools_parses_the_sns_event() -> None:
    event = sns_event(topic_message(subject=None), topic_arn=TOPIC_ARN, region="us-east-1")
    parsed = SnsModel.model_validate(event)
    assert parsed.Records[0].Sns.Message == "Hello from SNS!"
    assert parsed.Records[0].Sns.Subject is None
    record = next(iter(SNSEvent(event).records))
    assert record.sns.message_attributes["Amount"].value == "150"
    assert record.event_subscription_arn.startswith(TOPIC_ARN + ":")


def test_sns_attributes_are_typed_string_number_or_string_array() -> None:
    assert sns_attribute("a") == ("String", "a")
    assert sns_attribute(2.5) == ("Number", "2.5")
    assert sns_attribute(["a", 1]) == ("String.Array", '["a", 1]')
    with pytest.raises(InvalidRequestError):
        sns_attribute(True)


def test_the_sns_timestamp_is_utc_with_milliseconds() -> None:
    event = sns_event(
        topic_message(),
        topic_arn=TOPIC_ARN,
        region="us-east-1",
        timestamp=datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC),
    )
    assert event["Records"][0]["Sns"]["Timestamp"] == "2026-01-01T12:00:00.123Z"


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        sns_event(
            topic_message(),
            topic_arn=TOPIC_ARN,
            region="us-east-1",
            timestamp=datetime(2026, 1, 1),
        )
