"""DynamoDB AttributeValue converters and the DynamoDB Streams Lambda event, both directions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.events.dynamodb import (
    deserialize,
    item_from_av,
    item_to_av,
    serialize,
    stream_event,
    stream_record_from_event_record,
)
from stratus.platform.ports.errors import InvalidRequestError
from stratus.platform.ports.table import StreamRecord

EVENTS = Path(__file__).resolve().parent.parent / "events"
TTL_EVENT = EVENTS / "dynamodb_stream_ttl_remove.json"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/app-table"


@pytest.fixture
def ttl_event() -> dict[str, Any]:
    return dict(json.loads(TTL_EVENT.read_text()))


@pytest.mark.parametrize(
    ("value", "av"),
    [
        ("text", {"S": "text"}),
        ("", {"S": ""}),
        (True, {"BOOL": True}),
        (7, {"N": "7"}),
        (Decimal("2.50"), {"N": "2.50"}),
        (Decimal("10.0"), {"N": "10"}),
        (0.1, {"N": "0.1"}),
        (None, {"NULL": True}),
        (b"\x00\x01", {"B": "AAE="}),
        ([1, "a"], {"L": [{"N": "1"}, {"S": "a"}]}),
        ({"k": {"n": None}}, {"M": {"k": {"M": {"n": {"NULL": True}}}}}),
    ],
)
def test_each_value_type_serializes_to_its_attribute_value(value: Any, av: dict[str, Any]) -> None:
    assert serialize(value) == av


def test_numbers_come_back_as_int_when_integral_else_decimal() -> None:
    assert deserialize({"N": "10"}) == 10
    assert type(deserialize({"N": "1E+2"})) is int
    assert deserialize({"N": "2.5"}) == Decimal("2.5")


def test_binary_is_base64_in_json_and_raw_for_boto3() -> None:
    assert serialize(b"\xff", bytes_as_base64=False) == {"B": b"\xff"}
    assert deserialize({"B": "/w=="}) == b"\xff"
    assert deserialize({"B": b"\xff"}) == b"\xff"


def test_an_item_round_trips_through_attribute_values() -> None:
    item = {"PK": "a", "n": Decimal("1.5"), "b": b"x", "l": [None, False], "m": {"$": 1}}
    assert item_from_av(item_to_av(item)) == item


def test_sets_from_aws_events_become_python_sets() -> None:
    assert deserialize({"SS": ["a", "b"]}) == {"a", "b"}
    assert deserialize({"NS": ["1", "1.5"]}) == {1, Decimal("1.5")}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, object()])
def test_values_dynamodb_cannot_store_are_invalid_requests(value: Any) -> None:
    with pytest.raises(InvalidRequestError):
        serialize(value)


def test_a_ttl_deletion_record_reads_as_a_service_removal(ttl_event: dict[str, Any]) -> None:
    record = stream_record_from_event_record(ttl_event["Records"][0])
    assert record == StreamRecord(
        sequence="4421584500000000017450439091",
        event_name="REMOVE",
        keys={"PK": "session#7f3a", "SK": "meta"},
        new_image=None,
        old_image={
            "PK": "session#7f3a",
            "SK": "meta",
            "Data1": "user#42",
            "ttl": 1767225660,
            "score": Decimal("12.5"),
            "active": True,
            "note": None,
            "token": b"\x00\x01\x02\xff",
            "tags": ["a", 2],
            "meta": {"ip": "203.0.113.9"},
        },
        by_service=True,
    )


def test_a_ttl_deletion_builds_the_same_event_aws_delivers(ttl_event: dict[str, Any]) -> None:
    record = stream_record_from_event_record(ttl_event["Records"][0])
    built = stream_event(
        [record],
        table_arn=TABLE_ARN,
        region="eu-west-1",
        created_at=datetime.fromtimestamp(1767225720, UTC),
        stream_label="2026-01-01T00:00:00.000",
    )
    expected = ttl_event["Records"][0]
    got = built["Records"][0]
    # eventID and SizeBytes are AWS-internal: same field, same type, not the same value.
    for entry in (expected, got):
        assert isinstance(entry.pop("eventID"), str)
        assert isinstance(entry["dynamodb"].pop("SizeBytes"), int)
    assert got == expected
    assert list(built) == ["Records"]


def test_a_caller_deletion_has_no_user_identity() -> None:
    record = StreamRecord("1", "REMOVE", {"PK": "a"}, None, {"PK": "a"}, by_service=False)
    event = stream_event([record], table_arn=TABLE_ARN, region="eu-west-1")
    assert "userIdentity" not in event["Records"][0]
    assert stream_record_from_event_record(event["Records"][0]) == record


def test_inserts_and_modifications_carry_the_images_they_have() -> None:
    insert = StreamRecord("1", "INSERT", {"PK": "a"}, {"PK": "a", "v": 1}, None)
    modify = StreamRecord("2", "MODIFY", {"PK": "a"}, {"PK": "a", "v": 2}, {"PK": "a", "v": 1})
    event = stream_event([insert, modify], table_arn=TABLE_ARN, region="eu-west-1")
    first, second = event["Records"]
    assert "OldImage" not in first["dynamodb"]
    assert second["dynamodb"]["OldImage"] == {"PK": {"S": "a"}, "v": {"N": "1"}}
    assert first["eventID"] != second["eventID"]
    assert first["eventSourceARN"].startswith(TABLE_ARN + "/stream/")
    assert [stream_record_from_event_record(r) for r in event["Records"]] == [insert, modify]


def test_a_record_that_is_not_from_dynamodb_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequestError):
        stream_record_from_event_record({"eventName": "aws:sqs"})
