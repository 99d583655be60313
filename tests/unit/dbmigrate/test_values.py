"""Value conversion and the normal form verify compares."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from stratus.solutions.dbmigrate.domain.values import (
    ConversionError,
    batch_converter,
    converter,
    normaliser,
    parse_datetime,
    row_digest,
)


@pytest.mark.parametrize(
    ("text", "dateformat", "expected"),
    [
        ("2021/1/1", "mdy", dt.datetime(2021, 1, 1)),
        ("7/4/1996", "mdy", dt.datetime(1996, 7, 4)),
        ("7/4/1996", "dmy", dt.datetime(1996, 4, 7)),
        ("19970101", "mdy", dt.datetime(1997, 1, 1)),
        ("1997-12-31 13:45:10", "mdy", dt.datetime(1997, 12, 31, 13, 45, 10)),
        ("1998-02-03T04:05:06.123", "mdy", dt.datetime(1998, 2, 3, 4, 5, 6, 123000)),
        ("1997/12/31 1:45:10 PM", "mdy", dt.datetime(1997, 12, 31, 13, 45, 10)),
    ],
)
def test_tsql_date_literals(text: str, dateformat: str, expected: dt.datetime) -> None:
    assert parse_datetime(text, dateformat) == expected


def test_a_non_date_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError):
        parse_datetime("soon")


def test_conversions() -> None:
    assert converter("bool")(1) is True
    assert converter("bool")("0") is False
    assert converter("decimal")(0.1) == Decimal("0.1")
    assert converter("uuid")("6F9619FF-8B86-D011-B42D-00C04FC964FF") == uuid.UUID(
        "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    )
    assert converter("time")(dt.timedelta(hours=8, seconds=1)) == dt.time(8, 0, 1)
    assert converter("text")("a\x00b") == "ab"
    with pytest.raises(ConversionError):
        converter("int")("x")


def test_a_batch_is_converted_column_by_column_and_ready_columns_pass_through() -> None:
    convert = batch_converter(["int", "bool", "timestamp", "decimal"])
    rows = [(1, 1, "2024-01-02 03:04:05", 1.5), (2, 0, None, None)]
    assert convert(rows) == rows  # 0/1 and ISO text are left to PostgreSQL's input
    strict = batch_converter(["int", "bool", "timestamp", "decimal"], strict=True)
    assert strict(rows) == [
        (1, True, dt.datetime(2024, 1, 2, 3, 4, 5), Decimal("1.5")),
        (2, False, None, None),
    ]
    assert batch_converter(["timestamp"])([("7/4/1996",)]) == [(dt.datetime(1996, 7, 4),)]


def test_normal_forms_agree_across_representations() -> None:
    assert normaliser("numeric(19,4)")(Decimal("32.3800")) == normaliser("numeric(19,4)")(
        Decimal("32.38")
    )
    assert normaliser("numeric(10,2)")(Decimal("0.00")) == "0"
    assert normaliser("real")(0.15) == normaliser("real")(0.15000000596046448)
    assert normaliser("char(10)")("Eastern   ") == "Eastern"
    assert normaliser("varchar(10)")("Edinburgh ") != normaliser("varchar(10)")("Edinburgh")
    assert normaliser("bytea")(memoryview(b"\x00\xff")) == "00ff"
    assert (
        normaliser("timestamptz")(
            dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        )
        == "2024-01-01 00:00:00"
    )
    assert normaliser("text")(None) == "\\N"


def test_checksums_ignore_row_order_but_not_duplicates() -> None:
    a, b = row_digest(["1", "x"]), row_digest(["2", "y"])
    assert (a + b) == (b + a)
    assert row_digest(["1", "x"]) != row_digest(["1x", ""])
