"""The S3 event converter builds the events AWS delivers for a new object."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from stratus.platform.events.s3 import eventbridge_object_created, object_created_event
from stratus.platform.ports.objects import ObjectInfo

INFO = ObjectInfo(
    key="uploads/2026 Q1/cost+usage ü.csv",
    size=1234,
    etag='"0123456789abcdef0123456789abcdef"',
    last_modified=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    content_type="text/csv",
)


def test_the_notification_is_a_version_2_1_s3_record() -> None:
    event = object_created_event(INFO, bucket="costs-raw", region="eu-west-1")

    (record,) = event["Records"]
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"] == "2026-01-02T03:04:05.678Z"
    assert record["s3"]["s3SchemaVersion"] == "1.0"
    assert record["s3"]["bucket"]["name"] == "costs-raw"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::costs-raw"


def test_the_notification_url_encodes_the_key_like_s3() -> None:
    obj = object_created_event(INFO, bucket="b", region="r")["Records"][0]["s3"]["object"]

    assert obj["key"] == "uploads/2026+Q1/cost%2Busage+%C3%BC.csv"
    assert unquote_plus(obj["key"]) == INFO.key


def test_the_notification_carries_size_unquoted_etag_and_a_sequencer() -> None:
    obj = object_created_event(INFO, bucket="b", region="r")["Records"][0]["s3"]["object"]

    assert obj["size"] == 1234
    assert obj["eTag"] == "0123456789abcdef0123456789abcdef"
    int(obj["sequencer"], 16)


def test_a_later_write_gets_a_greater_sequencer() -> None:
    later = ObjectInfo(
        key=INFO.key, size=1, etag='"x"', last_modified=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
    )

    first = object_created_event(INFO, bucket="b", region="r")["Records"][0]["s3"]["object"]
    second = object_created_event(later, bucket="b", region="r")["Records"][0]["s3"]["object"]

    assert int(second["sequencer"], 16) > int(first["sequencer"], 16)


def test_the_event_name_can_be_another_creation_kind() -> None:
    event = object_created_event(
        INFO, bucket="b", region="r", event_name="ObjectCreated:CompleteMultipartUpload"
    )

    assert event["Records"][0]["eventName"] == "ObjectCreated:CompleteMultipartUpload"


def test_the_eventbridge_event_is_an_object_created_event_from_aws_s3() -> None:
    event = eventbridge_object_created(
        INFO, bucket="costs-raw", region="eu-west-1", account="123456789012"
    )

    assert event["detail-type"] == "Object Created"
    assert event["source"] == "aws.s3"
    assert event["account"] == "123456789012"
    assert event["region"] == "eu-west-1"
    assert event["time"] == "2026-01-02T03:04:05Z"
    assert event["resources"] == ["arn:aws:s3:::costs-raw"]
    assert event["detail"]["bucket"] == {"name": "costs-raw"}
    assert event["detail"]["reason"] == "PutObject"


def test_the_eventbridge_event_carries_the_key_verbatim() -> None:
    detail = eventbridge_object_created(INFO, bucket="b", region="r", account="1")["detail"]

    assert detail["object"]["key"] == INFO.key
    assert detail["object"]["size"] == 1234
    assert detail["object"]["etag"] == "0123456789abcdef0123456789abcdef"


def test_both_events_are_deterministic_and_json_serialisable() -> None:
    a = eventbridge_object_created(INFO, bucket="b", region="r", account="1")
    b = eventbridge_object_created(INFO, bucket="b", region="r", account="1")

    assert a == b
    assert json.loads(json.dumps(a)) == a
    n = object_created_event(INFO, bucket="b", region="r")
    assert json.loads(json.dumps(n)) == n
