"""FOCUS normalisation: every provider's row becomes one kind of row, or a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stratus.solutions.costs.domain.focus import RowError, money, parse_tags, timestamp
from stratus.solutions.costs.domain.normalise import UnknownFormatError, bind, detect

CUR_HEADER = [
    "identity/LineItemId",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedCost",
    "product/ProductName",
    "product/regionCode",
    "lineItem/ResourceId",
    "reservation/EffectiveCost",
    "resourceTags/user:Team",
]


def cur_row(**overrides: str) -> list[str]:
    values = {
        "identity/LineItemId": "abc",
        "bill/PayerAccountId": "111",
        "bill/BillingPeriodStartDate": "2023-11-01T00:00:00.000Z",
        "lineItem/UsageAccountId": "222",
        "lineItem/LineItemType": "Usage",
        "lineItem/UsageStartDate": "2023-11-03T05:00:00.000Z",
        "lineItem/UsageEndDate": "2023-11-03T06:00:00.000Z",
        "lineItem/ProductCode": "AmazonEC2",
        "lineItem/UsageAmount": "1.5",
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedCost": "0.123",
        "product/ProductName": "Amazon Elastic Compute Cloud",
        "product/regionCode": "us-east-1",
        "lineItem/ResourceId": "i-1",
        "reservation/EffectiveCost": "0.05",
        "resourceTags/user:Team": "data",
    }
    values.update(overrides)
    return [values[c] for c in CUR_HEADER]


def test_a_legacy_cur_usage_row_becomes_a_focus_row_with_its_tags() -> None:
    row = bind("aws-cur", CUR_HEADER)(cur_row())
    assert row.billing_period == "2023-11"
    assert row.charge_period_start == datetime(2023, 11, 3, 5, tzinfo=UTC)
    assert row.billed_cost == Decimal("0.123") == row.effective_cost
    assert row.sub_account_id == "222"
    assert row.billing_account_id == "111"
    assert row.service_name == "Amazon Elastic Compute Cloud"
    assert row.region_id == "us-east-1"
    assert row.charge_category == "Usage"
    assert json.loads(row.tags) == {"user:Team": "data"}


def test_a_reserved_instance_row_is_amortised_to_its_effective_cost() -> None:
    row = bind("aws-cur", CUR_HEADER)(cur_row(**{"lineItem/LineItemType": "DiscountedUsage"}))
    assert row.billed_cost == Decimal("0.123")
    assert row.effective_cost == Decimal("0.05")


def test_cur_2_snake_case_columns_map_like_the_legacy_ones() -> None:
    header = [
        "bill_billing_period_start_date",
        "line_item_usage_start_date",
        "line_item_unblended_cost",
        "line_item_currency_code",
        "resource_tags",
    ]
    row = bind("aws-cur", header)(
        ["2024-02-01T00:00:00Z", "2024-02-02T00:00:00Z", "2.5", "EUR", '{"user_env": "prod"}']
    )
    assert (row.billing_period, row.billed_cost, row.billing_currency) == (
        "2024-02",
        Decimal("2.5"),
        "EUR",
    )
    assert json.loads(row.tags) == {"user_env": "prod"}


def test_a_cost_that_is_not_a_number_is_rejected_with_the_column_named() -> None:
    with pytest.raises(RowError, match=r"lineItem/UnblendedCost is not a number"):
        bind("aws-cur", CUR_HEADER)(cur_row(**{"lineItem/UnblendedCost": "abc"}))


def test_a_missing_usage_start_is_rejected() -> None:
    with pytest.raises(RowError, match="UsageStartDate is empty"):
        bind("aws-cur", CUR_HEADER)(cur_row(**{"lineItem/UsageStartDate": ""}))


def test_focus_nulls_read_as_empty_and_effective_cost_is_kept() -> None:
    header = [
        "BilledCost",
        "EffectiveCost",
        "BillingCurrency",
        "BillingPeriodStart",
        "ChargePeriodStart",
        "ServiceName",
        "RegionId",
        "Tags",
    ]
    row = bind("focus", header)(
        ["0.0000008", "0", "USD", "2024-09-01 00:00:00", "2024-09-18 22:00:00", "SQS", "NULL", ""]
    )
    assert row.billed_cost == Decimal("0.0000008")
    assert row.effective_cost == 0
    assert row.region_id == ""
    assert row.tags == "{}"


def test_an_azure_ea_row_with_us_dates_and_braceless_tags_normalises() -> None:
    header = ["\ufeffDate", "Cost", "BillingCurrency", "MeterCategory", "SubscriptionId", "Tags",
              "MeterId", "ResourceLocation"]  # fmt: skip
    row = bind("azure", header)(
        [
            "09/21/2023",
            "3.25",
            "USD",
            "Virtual Machines",
            "sub-1",
            '"a": "1","b": "2"',
            "m",
            "UKSouth",
        ]
    )
    assert row.charge_period_start == datetime(2023, 9, 21, tzinfo=UTC)
    assert row.billing_period == "2023-09"
    assert json.loads(row.tags) == {"a": "1", "b": "2"}
    assert row.region_id == "uksouth"


def test_a_gcp_export_row_subtracts_credits_from_effective_cost() -> None:
    header = ["billing_account_id", "service.description", "usage_start_time", "cost",
              "currency", "credits", "invoice.month", "labels", "project.id"]  # fmt: skip
    credits = json.dumps([{"name": "SUD", "amount": -0.25}])
    labels = json.dumps([{"key": "env", "value": "prod"}])
    row = bind("gcp", header)(
        [
            "A-1",
            "Compute Engine",
            "2024-03-31T23:00:00Z",
            "1.00",
            "USD",
            credits,
            "202403",
            labels,
            "proj",
        ]
    )
    assert row.billed_cost == Decimal("1.00")
    assert row.effective_cost == Decimal("0.75")
    assert row.billing_period == "2024-03"
    assert json.loads(row.tags) == {"env": "prod"}


@pytest.mark.parametrize(
    ("header", "provider"),
    [
        (CUR_HEADER, "aws-cur"),
        (["BilledCost", "ChargePeriodStart", "BillingPeriodStart"], "focus"),
        (["Date", "MeterId", "CostInBillingCurrency"], "azure"),
        (["usage_start_time", "cost", "currency"], "gcp"),
    ],
)
def test_the_provider_is_detected_from_the_header(header: list[str], provider: str) -> None:
    assert detect(header) == provider


def test_an_unknown_header_is_refused_with_the_formats_we_read() -> None:
    with pytest.raises(UnknownFormatError, match="legacy AWS CUR"):
        detect(["a", "b"])


def test_binding_a_provider_to_a_header_without_its_cost_column_says_which_is_missing() -> None:
    with pytest.raises(UnknownFormatError, match="BilledCost"):
        bind("focus", ["ChargePeriodStart"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.5", Decimal("1.5")),
        ("$10,100.00 ", Decimal("10100")),
        ("-$2.00", Decimal("-2")),
        ("1.2345e-05", Decimal("0.000012345")),
        ("0.0000000000004", Decimal("0")),
    ],
)
def test_money_parses_plain_and_formatted_amounts(raw: str, expected: Decimal) -> None:
    assert money(raw, "X") == expected


@pytest.mark.parametrize("raw", ["abc", "NaN-ish", "inf", "1,5"])
def test_money_refuses_what_is_not_an_amount(raw: str) -> None:
    with pytest.raises(RowError):
        money(raw, "X")


def test_timestamps_are_utc_whatever_their_spelling() -> None:
    expected = datetime(2025, 4, 1, tzinfo=UTC)
    for raw in (
        "2025-04-01T00:00:00Z",
        "2025-04-01 00:00:00",
        "4/1/25",
        "2025-04-01T02:00:00+02:00",
    ):
        assert timestamp(raw, "X") == expected


def test_tags_that_are_not_an_object_are_a_row_error() -> None:
    with pytest.raises(RowError):
        parse_tags("[1, 2]")


def test_an_amount_too_large_for_twelve_decimal_places_is_a_reported_row_error():
    with pytest.raises(RowError, match="BilledCost is out of range"):
        money("12345678901234567", "BilledCost")
    assert money("999999999999999", "BilledCost") is not None


# ---- hostile cells are rejected rows, never a crash -----------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def test_tags_nested_beyond_reason_are_a_rejected_row() -> None:
    with pytest.raises(RowError, match="nested too deeply"):
        parse_tags('{"a":' * 50_000 + "1" + "}" * 50_000)
    with pytest.raises(RowError):
        parse_tags(DEEP)


def test_gcp_credits_or_labels_nested_beyond_reason_are_a_rejected_row() -> None:
    header = ["cost", "currency", "usage_start_time", "credits", "labels"]
    normalise = bind("gcp", header)
    with pytest.raises(RowError, match="credits is not JSON"):
        normalise(["1", "USD", "2024-05-01T00:00:00Z", DEEP, ""])
    with pytest.raises(RowError, match="labels is not JSON"):
        normalise(["1", "USD", "2024-05-01T00:00:00Z", "", DEEP])


def test_gcp_cost_plus_credits_out_of_range_is_a_rejected_row() -> None:
    header = ["cost", "currency", "usage_start_time", "credits"]
    normalise = bind("gcp", header)
    huge = json.dumps([{"amount": "9999999999999999"}, {"amount": "9999999999999999"}])
    with pytest.raises(RowError, match="out of range"):
        normalise(["9999999999999999", "USD", "2024-05-01T00:00:00Z", huge])
