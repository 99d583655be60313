"""The ETL's fast path: DuckDB normalises a chunk's raw CSV rows itself.

The Python normaliser is the oracle: every chunk the fast path stores must hold exactly the
facts the Python path would store (same values to the 12th decimal, same tags JSON, same
timestamps), and every chunk it cannot reproduce exactly is handed back (None, nothing
written) so that the Python path gives rejections their reasons.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from stratus.solutions.costs.adapters import duckdb_normalise
from stratus.solutions.costs.adapters.duckdb_facts import DuckDbFactStore
from stratus.solutions.costs.adapters.sqlfacts import FACT_COLUMNS
from stratus.solutions.costs.domain.normalise import bind
from stratus.solutions.costs.etl import normalise_rows
from stratus.solutions.costs.ports import LoadRef

CORPUS_CUR = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "data"
    / "costs"
    / "aws_cur_legacy_anon_focus_converters.csv"
)

HEADER = [
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
    "lineItem/NetUnblendedCost",
    "product/ProductName",
    "product/productFamily",
    "product/regionCode",
    "product/sku",
    "pricing/unit",
    "pricing/publicOnDemandCost",
    "lineItem/ResourceId",
    "reservation/EffectiveCost",
    "reservation/ReservationARN",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "resourceTags/user:Team",
    "resourceTags/aws:createdBy",
    "resourceTags/user:Env",
]


def row(**overrides: str) -> list[str]:
    values = dict.fromkeys(HEADER, "")
    values.update(
        {
            "identity/LineItemId": "id",
            "bill/PayerAccountId": "111",
            "bill/BillingPeriodStartDate": "2023-11-01T00:00:00.000Z",
            "lineItem/UsageAccountId": "222",
            "lineItem/LineItemType": "Usage",
            "lineItem/UsageStartDate": "2023-11-03T05:00:00.000Z",
            "lineItem/UsageEndDate": "2023-11-03T06:00:00Z",
            "lineItem/ProductCode": "AmazonEC2",
            "lineItem/UsageAmount": "1.5",
            "lineItem/CurrencyCode": "USD",
            "lineItem/UnblendedCost": "0.123",
            "product/ProductName": "Amazon Elastic Compute Cloud",
            "product/regionCode": "us-east-1",
            "lineItem/ResourceId": "i-1",
            "resourceTags/user:Team": "data",
        }
    )
    values.update({k.replace("__", "/"): v for k, v in overrides.items()})
    return [values[c] for c in HEADER]


def csv_bytes(rows: list[list[str]], newline: str = "\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    return out.getvalue().encode("utf-8")


def both_paths(
    header: list[str], data: bytes, provider: str = "aws-cur"
) -> tuple[bool | None, list[tuple[object, ...]]]:
    """Store the chunk by the fast path (load ``fast``) and the Python path (load ``slow``);
    return the fast path's answer and the facts that differ between the two loads."""
    store = DuckDbFactStore(":memory:")
    fast = store.write_chunk_csv(LoadRef("fast", "c", "aws"), 0, provider, header, data)
    text = data.decode("utf-8", errors="surrogateescape")
    rows, rejections = normalise_rows(text, header, bind(provider, header), 1)
    store.write_chunk(LoadRef("slow", "c", "aws"), 0, rows, rejections)
    columns = ", ".join(FACT_COLUMNS[2:])
    differ = store._read(
        f"(SELECT {columns} FROM cost_facts WHERE load_id = 'fast' EXCEPT ALL"
        f" SELECT {columns} FROM cost_facts WHERE load_id = 'slow') UNION ALL"
        f" (SELECT {columns} FROM cost_facts WHERE load_id = 'slow' EXCEPT ALL"
        f" SELECT {columns} FROM cost_facts WHERE load_id = 'fast')"
    )
    if fast is None:  # nothing of the fast load may be left
        assert store._read("SELECT COUNT(*) FROM cost_facts WHERE load_id = 'fast'") == [(0,)]
        assert store.chunks_done("fast") == 0
        return fast, []
    return fast, differ


def test_the_space_class_is_what_str_strip_removes() -> None:
    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    found = duckdb.connect().execute(
        "SELECT v FROM unnest(?) t(v) WHERE regexp_full_match(v, ?)",
        [chars, duckdb_normalise._SPACE_CLASS],
    )
    assert {v for (v,) in found.fetchall()} == {c for c in chars if c.isspace()}
    assert set(duckdb_normalise._WHITESPACE) == {c for c in chars if c.isspace()}


def test_clean_rows_take_the_fast_path_with_the_python_values() -> None:
    rows = [
        row(),
        row(lineItem__UnblendedCost="2.988e-07", pricing__publicOnDemandCost="1.592358E-4"),
        row(lineItem__UnblendedCost="-0.0000000000005", lineItem__UsageAmount="5e-13"),
        row(lineItem__UnblendedCost="12.3456789012345", lineItem__NetUnblendedCost="10"),
        row(lineItem__UsageEndDate="", lineItem__UsageAmount="NULL", product__ProductName=""),
        row(
            lineItem__LineItemType="SavingsPlanCoveredUsage",
            savingsPlan__SavingsPlanEffectiveCost="0.7",
        ),
        row(
            lineItem__LineItemType="SavingsPlanRecurringFee",
            savingsPlan__TotalCommitmentToDate="5",
            savingsPlan__UsedCommitment="3.25",
        ),
        row(lineItem__LineItemType="SavingsPlanNegation"),
        row(lineItem__LineItemType="DiscountedUsage", reservation__EffectiveCost="0.05"),
        row(
            lineItem__LineItemType="RIFee",
            reservation__UnusedAmortizedUpfrontFeeForBillingPeriod="1",
            reservation__UnusedRecurringFee="2",
        ),
        row(lineItem__LineItemType="Fee", reservation__ReservationARN="arn:aws:ri"),
        row(lineItem__LineItemType="Fee"),
        row(lineItem__LineItemType="Credit", lineItem__UnblendedCost="-3"),
        row(lineItem__LineItemType="Something new"),
        row(**{"resourceTags/aws:createdBy": "me", "resourceTags/user:Env": "prod, eu ü"}),
        row(**{"resourceTags/user:Team": "", "resourceTags/user:Env": "None"}),
        row(product__regionCode="  eu-west-1\t", lineItem__ResourceId="\u3000i-2\xa0"),
        row(lineItem__CurrencyCode=" EUR ", product__sku="a\nb"),
        row(lineItem__UsageStartDate="2024-02-29T23:59:59.123456Z"),
    ]
    for newline in ("\n", "\r\n"):
        data = csv_bytes(rows[:3], newline) + newline.encode() + csv_bytes(rows[3:], newline)
        fast, differ = both_paths(HEADER, data)  # a blank line is not a row on either path
        assert fast is True
        assert differ == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"lineItem__UnblendedCost": ""},
        {"lineItem__UnblendedCost": "oops"},
        {"lineItem__UnblendedCost": "$10,100.00"},  # Python parses it; the SQL leaves it
        {"lineItem__UnblendedCost": "1_000"},
        {"lineItem__UsageAmount": "Infinity"},
        {"lineItem__CurrencyCode": "NULL"},
        {"lineItem__UsageStartDate": "2023-02-01T30:00:00Z"},
        {"lineItem__UsageStartDate": "2023-02-30T00:00:00Z"},
        {"lineItem__UsageStartDate": "11/3/2023"},
        {"lineItem__UsageStartDate": "2023-11-03T05:00:00+01:00"},
        {"lineItem__UsageEndDate": "soon"},
        {"bill__BillingPeriodStartDate": "2023-11-01"},
        {"resourceTags/user:Team": 'say "hi"'},
        {"resourceTags/user:Team": "back\\slash"},
        {"lineItem__UnblendedCost": "1;2"},
    ],
)
def test_rows_the_sql_cannot_reproduce_send_the_chunk_to_python(overrides: dict[str, str]) -> None:
    data = csv_bytes([row(), row(**overrides), row()])
    fast, _ = both_paths(HEADER, data)
    assert fast is None


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n",  # too few cells
        csv_bytes([row()]) + b'x,"y"z' + b",1" * (len(HEADER) - 2) + b"\n",  # lenient quote
        csv_bytes([row()]) + b"\xff" + b",1" * (len(HEADER) - 1) + b"\n",  # not UTF-8
        csv_bytes([row()]).replace(b"\n", b"\r"),  # bare CR
    ],
)
def test_rows_duckdb_cannot_parse_strictly_send_the_chunk_to_python(data: bytes) -> None:
    fast, _ = both_paths(HEADER, data)
    assert fast is None


def test_a_redelivered_chunk_is_not_stored_twice() -> None:
    store = DuckDbFactStore(":memory:")
    load = LoadRef("l", "c", "aws")
    data = csv_bytes([row(), row()])
    assert store.write_chunk_csv(load, 3, "aws-cur", HEADER, data) is True
    assert store.write_chunk_csv(load, 3, "aws-cur", HEADER, data) is False
    assert store.summary("l").accepted == 2


def test_other_providers_and_cur2_tag_maps_use_the_python_path() -> None:
    store = DuckDbFactStore(":memory:")
    load = LoadRef("l", "c", "gcp")
    # A GCP header without a column the mapping requires (currency) compiles to None.
    gcp = ["cost", "usage_start_time", "currencies"]
    assert store.write_chunk_csv(load, 0, "gcp", gcp, b"1,2023-11-01T00:00:00Z,USD\n") is None
    # An Azure header without a column the mapping requires (Date, currency) compiles to None.
    assert store.write_chunk_csv(load, 0, "azure", ["MeterId", "Cost"], b"1,2\n") is None
    cur2 = ["line_item_unblended_cost", "bill_billing_period_start_date",
            "line_item_usage_start_date", "line_item_currency_code", "resource_tags"]  # fmt: skip
    tagged = b'1,2023-11-01T00:00:00Z,2023-11-01T00:00:00Z,USD,"{""a"": ""b""}"\n'
    assert store.write_chunk_csv(load, 0, "aws-cur", cur2, tagged) is None
    plain = b"1,2023-11-01T00:00:00Z,2023-11-01T00:00:00Z,USD,\n"
    fast, differ = both_paths(cur2, plain)
    assert fast is True
    assert differ == []


@pytest.mark.skipif(not CORPUS_CUR.is_file(), reason="../shared/data is absent")
def test_the_corpus_cur_file_takes_the_fast_path_with_the_python_values() -> None:
    raw = CORPUS_CUR.read_bytes()
    end = raw.index(b"\n") + 1
    header = next(csv.reader([raw[:end].decode("utf-8-sig")]))
    fast, differ = both_paths([h.strip() for h in header], raw[end:])
    assert fast is True
    assert differ == []


def test_the_cheap_decimal_cast_equals_the_128_bit_cast() -> None:
    """``_decimal`` parses plain spellings into 64 bits first: over random spellings (long
    fractions that round, signs, exponents, values around the 64-bit limit) it must give what
    ``TRY_CAST(x AS DECIMAL(38,12))`` gives, NULLs included."""
    import random

    rng = random.Random(7)
    spellings = ["5.", ".5", "-0", "+1", "0.0000000000005", "-0.0000000000005",
                 "999999.9999999999995", "999999.99999999999949", "1e5", "5e-13", "1E+3",
                 "12345678.5", "-", "", "1.2.3", "0x10"]  # fmt: skip
    for _ in range(20_000):
        whole = str(rng.randint(0, 10 ** rng.randint(0, 9)))
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 20)))
        text = rng.choice(["", "-", "+"]) + whole + ("." + fraction if fraction else "")
        if rng.random() < 0.15:
            text += rng.choice("eE") + rng.choice(["", "-", "+"]) + str(rng.randint(0, 25))
        spellings.append(text)
    con = duckdb.connect()
    con.execute("CREATE TABLE v (s VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[s] for s in spellings])
    differ = con.execute(
        f"SELECT s FROM v WHERE {duckdb_normalise._decimal('s')}"
        " IS DISTINCT FROM TRY_CAST(s AS DECIMAL(38,12))"
    ).fetchall()
    assert differ == []
    cheap = con.execute("SELECT count(TRY_CAST(s AS DECIMAL(18,12))) FROM v").fetchone()
    assert cheap is not None
    assert cheap[0] > 10_000  # most spellings do take the 64-bit parse


# ---- FOCUS -------------------------------------------------------------------------------

FOCUS_HEADER = ["BillingAccountId", "BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd",
                "BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ServiceName",
                "RegionId", "ResourceId", "ChargeCategory", "ConsumedQuantity", "ConsumedUnit",
                "SubAccountId", "ProviderName", "Tags"]  # fmt: skip
CORPUS_FOCUS = CORPUS_CUR.parent / "focus_1.0_sample_official.csv"


def focus_row(**overrides: str) -> list[str]:
    values = {
        "BillingAccountId": "acct", "BillingPeriodStart": "2024-09-01T00:00:00Z",
        "ChargePeriodStart": "2024-09-18 22:00:00", "ChargePeriodEnd": "2024-09-18 23:00:00",
        "BilledCost": "1.25", "EffectiveCost": "1.1", "ListCost": "1.5", "BillingCurrency": "USD",
        "ServiceName": "Compute", "RegionId": "eu-west-1", "ResourceId": "r-1",
        "ChargeCategory": "Usage", "ConsumedQuantity": "2", "ConsumedUnit": "Hours",
        "SubAccountId": "sub", "ProviderName": "Microsoft",
        "Tags": '{"team": "data", "env": "prod"}',
    }  # fmt: skip
    values.update(overrides)
    return [values[c] for c in FOCUS_HEADER]


@pytest.mark.parametrize("provider", ["focus", "aws-focus", "oci"])
def test_focus_rows_take_the_fast_path_with_the_python_values(provider: str) -> None:
    rows = [
        focus_row(),
        focus_row(Tags='{"env":"prod","team":"data"}'),  # same tags, other spelling
        focus_row(Tags="NULL", EffectiveCost="", ChargePeriodEnd=""),  # billed stands in
        focus_row(Tags="", ProviderName="", ListCost="NULL"),  # the provider's default name
        focus_row(Tags='{"a": "", "b": 1, "c": "x"}'),  # empty values dropped, 1 as text
        focus_row(Tags='"k": "v","k2": "v2"'),  # Azure's brace-less form
        focus_row(Tags="k=v;k2=v2"),
        focus_row(ChargePeriodStart="2024-09-18", BillingPeriodStart="2024-09-01"),
        focus_row(ChargePeriodStart="2024-09-18T22:00:00.25Z", BilledCost=" -0.0000000000005 "),
        focus_row(ServiceName="  padded  ", Tags=' {"ü": "é"} '),
    ]
    fast, differ = both_paths(FOCUS_HEADER, csv_bytes(rows), provider)
    assert fast is True
    assert differ == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"Tags": "[1, 2]"},  # not an object: the Python path rejects the row
        {"Tags": "not tags"},
        {"BilledCost": "$10,100.00"},  # currency sign and thousands: only Python parses it
        {"BilledCost": ""},
        {"BillingCurrency": ""},
        {"ChargePeriodStart": "9/18/2024"},  # a US date
        {"ChargePeriodStart": "2024-09-18T22:00:00+02:00"},  # an offset
        {"ChargePeriodEnd": "2023-02-01T30:00:00Z"},  # hour 30, as in the FOCUS examples
        {"ChargePeriodStart": "2024-02-30 00:00:00"},
    ],
)
def test_focus_rows_the_sql_cannot_reproduce_send_the_chunk_to_python(
    overrides: dict[str, str],
) -> None:
    fast, _ = both_paths(FOCUS_HEADER, csv_bytes([focus_row(), focus_row(**overrides)]), "focus")
    assert fast is None


def test_a_focus_header_without_currency_or_tags_takes_the_fast_path() -> None:
    header = [c for c in FOCUS_HEADER if c not in ("BillingCurrency", "Tags")]
    rows = [[v for c, v in zip(FOCUS_HEADER, focus_row(), strict=True) if c in header]]
    fast, differ = both_paths(header, csv_bytes(rows), "focus")
    assert fast is True
    assert differ == []


def test_the_sql_timestamps_are_the_ones_python_reads() -> None:
    """Every spelling the SQL path's pattern admits parses to the same moment both ways."""
    import re
    from datetime import UTC

    from stratus.solutions.costs.domain.focus import timestamp

    spellings = ["2024-09-18", "2024-09-18 22:00:00", "2024-09-18T22:00:00",
                 "2024-09-18T22:00:00Z", "2024-09-18 22:00:00Z", "2024-09-18T22:00:00.5Z",
                 "2024-09-18T22:00:00.123456", "2024-12-31 23:59:59.999999Z"]  # fmt: skip
    con = duckdb.connect()
    for text in spellings:
        assert re.fullmatch(duckdb_normalise._FOCUS_TS_RE, text)
        (sql,) = con.execute(
            "SELECT TRY_CAST(replace(?, 'Z', '') AS TIMESTAMP)", [text]
        ).fetchone() or (None,)
        assert sql is not None
        assert sql.replace(tzinfo=UTC) == timestamp(text, "t"), text


@pytest.mark.skipif(not CORPUS_FOCUS.is_file(), reason="../shared/data is absent")
def test_the_corpus_focus_sample_takes_the_fast_path_with_the_python_values() -> None:
    raw = CORPUS_FOCUS.read_bytes()
    end = raw.index(b"\n") + 1
    header = next(csv.reader([raw[:end].decode("utf-8-sig")]))
    fast, differ = both_paths([h.strip() for h in header], raw[end:], "focus")
    assert fast is True
    assert differ == []


# ---- Azure -------------------------------------------------------------------------------

AZURE_HEADER = ["BillingAccountId", "BillingPeriodStartDate", "SubscriptionId", "Date",
                "MeterCategory", "ServiceFamily", "ResourceLocation", "ResourceId",
                "ResourceName", "ConsumedService", "MeterId", "ChargeType", "Quantity",
                "UnitOfMeasure", "CostInBillingCurrency", "PayGPrice", "BillingCurrencyCode",
                "Tags"]  # fmt: skip
CORPUS_AZURE = sorted(CORPUS_CUR.parent.glob("azure_*.csv"))


def azure_row(**overrides: str) -> list[str]:
    values = {
        "BillingAccountId": "8611537", "BillingPeriodStartDate": "09/01/2023",
        "SubscriptionId": "sub-1", "Date": "09/21/2023", "MeterCategory": "Virtual Machines",
        "ServiceFamily": "Compute", "ResourceLocation": "EastUS", "ResourceId": "/subs/r1",
        "ResourceName": "vm1", "ConsumedService": "Microsoft.Compute", "MeterId": "m-1",
        "ChargeType": "Usage", "Quantity": "8", "UnitOfMeasure": "1 Hour",
        "CostInBillingCurrency": "0.493152", "PayGPrice": "0.146",
        "BillingCurrencyCode": "USD", "Tags": '{"team": "data", "env": "prod"}',
    }  # fmt: skip
    values.update(overrides)
    return [values[c] for c in AZURE_HEADER]


def test_azure_rows_take_the_fast_path_with_the_python_values() -> None:
    rows = [
        azure_row(),
        azure_row(Date="9/2/2023", BillingPeriodStartDate="9/1/2023"),  # US, no zero padding
        azure_row(Date="2023-09-21", BillingPeriodStartDate="2023-09-01T00:00:00Z"),  # ISO
        azure_row(Date="2023-09-30T22:00:00+02:00"),  # an offset: the UTC day
        azure_row(Date="8/31/23", BillingPeriodStartDate=""),  # empty start: the day's period
        azure_row(BillingPeriodStartDate="NULL", Date=" 10/01/2023 "),
        azure_row(BillingPeriodStartDate="09/01/2023", Date="10/02/2023"),  # the start's month
        azure_row(ChargeType=""),  # → Usage
        azure_row(ChargeType="Refund"),  # unknown → Adjustment
        azure_row(ChargeType="UnusedReservation"),
        azure_row(ChargeType="Purchase", Quantity="0"),  # zero quantity: no list cost
        azure_row(Quantity="", PayGPrice="1"),
        azure_row(PayGPrice="NULL"),
        azure_row(PayGPrice="0", Quantity="3"),
        # list cost ties at the 13th decimal, HALF_EVEN: ...0 stays, ...1 goes up to ...2
        azure_row(PayGPrice="0.000000000001", Quantity="0.5"),  # 5e-13 → 0
        azure_row(PayGPrice="0.000000000003", Quantity="0.5"),  # 1.5e-12 → 2e-12
        azure_row(PayGPrice="0.000000000005", Quantity="0.5"),  # 2.5e-12 → 2e-12
        azure_row(PayGPrice="-0.000000000005", Quantity="0.5"),  # → -2e-12
        azure_row(PayGPrice="2.000000000001", Quantity="1.5"),  # 3.0000000000015 → ...02
        azure_row(PayGPrice="2.000000000003", Quantity="-1.5"),  # -3.0000000000045 → ...04
        azure_row(PayGPrice="0.123456789012", Quantity="0.987654321098"),  # no tie: rounds
        azure_row(PayGPrice="12345.6789", Quantity="98765.4321"),  # above 1e4, exact
        azure_row(PayGPrice="20000.000000000001", Quantity="0.5"),  # a tie above 1e4 → ...0
        azure_row(PayGPrice="1.5e-3", Quantity="2E2", CostInBillingCurrency="3e-1"),
        azure_row(Tags='"k": "v","k2": "v2"'),  # Azure's brace-less form
        azure_row(Tags=""),
        azure_row(Tags="k=v;k2=v2"),
        azure_row(ResourceLocation="  UK South ", MeterId="\u3000m-2"),
        azure_row(BillingCurrencyCode=" EUR "),
    ]
    fast, differ = both_paths(AZURE_HEADER, csv_bytes(rows), "azure")
    assert fast is True
    assert differ == []


def test_an_azure_header_with_other_names_and_cases_takes_the_fast_path() -> None:
    """Lower-case names, the alternatives (``Cost``, ``UsageDate``, ``Currency``), no
    optional column, and a duplicated name (the last one wins, as in ``Columns``)."""
    header = ["cost", "usagedate", "currency", "Cost"]
    rows = [["1", "09/21/2023", "USD", "2.5"], ["", "2023-09-22", "EUR", "-3"]]
    fast, differ = both_paths(header, csv_bytes(rows), "azure")
    assert fast is True
    assert differ == []
    # Several alternatives present: the first name of each list wins, whatever the order.
    header = ["PreTaxCost", "cost", "usagedate", "Date", "currency", "BillingCurrency",
              "SubscriptionGuid", "SubscriptionId", "InstanceId", "resourceid", "PartNumber",
              "MeterId", "ConsumedService", "MeterCategory", "UsageQuantity", "Quantity",
              "PayGPrice"]  # fmt: skip
    rows = [["1", "2", "09/01/2023", "09/02/2023", "USD", "EUR", "g", "s", "i", "r", "p",
             "m", "svc", "cat", "3", "4", "0.5"]]  # fmt: skip
    fast, differ = both_paths(header, csv_bytes(rows), "azure")
    assert fast is True
    assert differ == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"CostInBillingCurrency": "$1.00"},  # currency sign: only Python parses it
        {"CostInBillingCurrency": ""},
        {"PayGPrice": "1,000.5"},
        {"BillingCurrencyCode": ""},
        {"Date": "13/01/2023"},  # month 13: Python rejects the row
        {"Date": "2023-02-30"},
        {"Date": ""},
        {"BillingPeriodStartDate": "soon"},
        {"Tags": "[1, 2]"},
        {"Tags": "not tags"},
        {"ResourceLocation": "İstanbul"},  # not ASCII: str.lower and lower() may differ
        {"PayGPrice": "9999999", "Quantity": "9999999"},  # list cost above the SQL's 1e12
        # Above 1e4 Python rounds the product to 28 digits first (a 5 at the 13th place here,
        # then HALF_EVEN up to ...992; the exact product rounds down to ...991): not ok.
        {"PayGPrice": "10000.000000000001", "Quantity": "1.499999999999"},
    ],
)
def test_azure_rows_the_sql_cannot_reproduce_send_the_chunk_to_python(
    overrides: dict[str, str],
) -> None:
    data = csv_bytes([azure_row(), azure_row(**overrides)])
    fast, _ = both_paths(AZURE_HEADER, data, "azure")
    assert fast is None


def test_the_sql_list_cost_is_pythons_half_even_quantize() -> None:
    """Over random 12-place prices and quantities (many built to tie at the 13th decimal, or
    to sit near a tie above 1e4 where Python rounds the product to 28 digits first), every
    product the SQL calls ok equals ``(payg * quantity).quantize(cost)``, and nearly every
    product below the SQL's 1e12 gate is ok."""
    import random
    from decimal import Decimal, InvalidOperation

    from stratus.solutions.costs.domain.focus import MONEY_PLACES

    rng = random.Random(11)
    pairs = [("10000.000000000001", "1.499999999999"), ("0.000000000001", "0.5"),
             ("20000.000000000001", "0.5"), ("-7.000000000001", "0.5"), ("3", "0")]  # fmt: skip
    for _ in range(20_000):
        digits = rng.randint(0, 12)
        places = rng.choice([12, 12, rng.randint(0, 11)])  # 12 places make ties likelier
        payg = Decimal(rng.randint(-(10**digits), 10**digits)).scaleb(-places)
        shape = rng.random()
        if shape < 0.4:  # a multiple of 0.5, 0.25, ... : ties at the 13th decimal are common
            quantity = Decimal(rng.randint(-64, 64)) / rng.choice([2, 4, 8, 16])
        elif shape < 0.7:  # large: products from 1e4 up, some near a tie
            quantity = Decimal(rng.randint(1, 10**9)) + Decimal(rng.randint(0, 10**12)) / 10**12
        else:
            quantity = Decimal(rng.randint(0, 10**15)).scaleb(-12)
        pairs.append((str(payg.quantize(MONEY_PLACES)), str(quantity.quantize(MONEY_PLACES))))
    con = duckdb.connect()
    con.execute("CREATE TABLE v (p VARCHAR, q VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?)", [list(pair) for pair in pairs])
    stages, value, ok = duckdb_normalise._azure_list_cost("pd", "qd")
    typed = "(SELECT *, p::DECIMAL(38,12) AS pd, q::DECIMAL(38,12) AS qd FROM v)"
    source = duckdb_normalise._staged(typed, stages)
    results = con.execute(f"SELECT p, q, {value}, {ok} FROM {source}").fetchall()
    accepted = ties = gated = 0
    for p, q, sql, is_ok in results:
        payg, quantity = Decimal(p), Decimal(q)
        gated += abs(payg * quantity) < 10**12
        try:
            expected = (payg * quantity).quantize(MONEY_PLACES) if quantity else None
        except InvalidOperation:  # 28 digits exceeded: the Python path fails, SQL is not ok
            assert not is_ok, (p, q)
            continue
        if is_ok:
            accepted += 1
            assert sql == expected, (p, q)
            exact = abs(payg * quantity).scaleb(12)
            ties += exact % 1 == Decimal("0.5")
    assert accepted > 0.99 * gated > 15_000  # only products near a tie above 1e4 are refused
    assert ties > 500  # the HALF_EVEN branch is exercised, not only rounding away


@pytest.mark.skipif(not CORPUS_AZURE, reason="../shared/data has no azure_*.csv")
@pytest.mark.parametrize("path", CORPUS_AZURE, ids=lambda p: p.name)
def test_the_corpus_azure_files_take_the_fast_path_with_the_python_values(path: Path) -> None:
    raw = path.read_bytes()
    end = raw.index(b"\n") + 1
    header = next(csv.reader([raw[:end].decode("utf-8-sig")]))
    fast, differ = both_paths([h.strip() for h in header], raw[end:], "azure")
    assert fast is True
    assert differ == []


# ---- GCP ---------------------------------------------------------------------------------

GCP_HEADER = ["billing_account_id", "service.id", "service.description", "sku.id",
              "sku.description", "usage_start_time", "usage_end_time", "project.id",
              "project.name", "labels", "location.location", "location.region", "cost",
              "currency", "usage.amount", "usage.unit", "credits", "invoice.month",
              "cost_type", "cost_at_list", "resource.name", "resource.global_name"]  # fmt: skip
#: A BigQuery billing export as CSV (``gcp_*.csv``), when the shared corpus has one.
CORPUS_GCP = sorted(CORPUS_CUR.parent.glob("gcp_*.csv"))


def gcp_row(**overrides: str) -> list[str]:
    values = {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9", "service.id": "6F81-5844-456A",
        "service.description": "Compute Engine", "sku.id": "2E27-4F75-95CD",
        "sku.description": "N1 Predefined Instance Core", "project.id": "proj-1",
        "usage_start_time": "2024-03-31T23:00:00Z", "usage_end_time": "2024-04-01T00:00:00Z",
        "project.name": "Project One", "labels": '[{"key":"env","value":"prod"}]',
        "location.location": "us-central1", "location.region": "us-central1",
        "cost": "1.25", "currency": "USD", "usage.amount": "3600", "usage.unit": "seconds",
        "credits": '[{"name":"SUD","amount":-0.25,"type":"SUSTAINED_USAGE_DISCOUNT"}]',
        "invoice.month": "202403", "cost_type": "regular", "cost_at_list": "1.5",
        "resource.name": "vm-1", "resource.global_name": "//compute.googleapis.com/vm-1",
    }  # fmt: skip
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return [values[c] for c in GCP_HEADER]


GCP_CLEAN = [
    gcp_row(),
    gcp_row(credits=""),  # no credits
    gcp_row(credits="[]"),
    gcp_row(credits="NULL"),
    gcp_row(credits='[{"amount": -0.5}, {"amount": "-0.25"}, {"name": "x"}, 7]'),  # several
    gcp_row(credits='[{"amount": -5}]'),  # more credit than cost: effective floored at 0
    gcp_row(credits='{"amount": 0.125}'),  # one object, not a list; a positive amount
    gcp_row(credits='[{"amount": 1e-13}, {"amount": 5e-13}, {"amount": null}]'),  # half up
    gcp_row(credits='[{"amount": -1.25}]'),  # exactly zero
    gcp_row(cost="-0.3", credits='[{"amount": 0.1}]'),  # a negative cost: floored too
    gcp_row(cost="0.0000000000005", credits=""),  # money rounds half up
    gcp_row(cost="1.5e-3", usage__amount="2E2", cost_at_list="NULL"),
    gcp_row(usage_start_time="2024-03-05T10:00:00.250000Z"),  # BigQuery's microseconds
    gcp_row(usage_start_time="2024-03-05 10:00:00 ", usage_end_time="2024-03-05 11:00:00"),
    gcp_row(usage_start_time="2024-03-05T10:00:00+02:00", usage_end_time=""),  # an offset
    gcp_row(usage_start_time="2024-03-05", usage_end_time="NULL"),  # a date only
    gcp_row(invoice__month="", usage_start_time="2024-02-29T23:00:00-01:00"),  # start's month
    gcp_row(invoice__month=" 202402 "),
    gcp_row(labels=""),
    gcp_row(labels="[]"),
    gcp_row(labels='[{"key":"b","value":"2"},{"key":"a","value":""},{"key":"ü","value":"é"}]'),
    gcp_row(labels='[{"key":"k"},{"x":"y"},{"key":"n","value":1},"skip"]'),  # value "", dicts
    gcp_row(labels='{"key":"team","value":"data \\"q\\""}'),  # one object, an escaped quote
    gcp_row(location__region="", location__location="EU"),  # the location stands in
    gcp_row(location__region="NULL", location__location=""),
    gcp_row(cost_type="TAX"),
    gcp_row(cost_type="credit"),
    gcp_row(cost_type="rounding_error"),
    gcp_row(cost_type="adjustment"),
    gcp_row(cost_type="something new"),
    gcp_row(cost_type="credİt"),  # DuckDB's lower() maps U+0130 to "i"; str.lower() does not
    gcp_row(cost_type=""),
    gcp_row(currency=" EUR ", project__id="\u3000p-2\xa0", sku__id=""),
]


def test_gcp_rows_take_the_fast_path_with_the_python_values() -> None:
    fast, differ = both_paths(GCP_HEADER, csv_bytes(GCP_CLEAN), "gcp")
    assert fast is True
    assert differ == []


def test_a_gcp_chunk_stores_the_expected_values() -> None:
    """Not only equal to the Python path: the values themselves (credits, floor, labels)."""
    from decimal import Decimal

    rows = [gcp_row(), gcp_row(credits='[{"amount": -5}]', invoice__month="")]
    store = DuckDbFactStore(":memory:")
    assert store.write_chunk_csv(LoadRef("l", "c", "gcp"), 0, "gcp", GCP_HEADER,
                                 csv_bytes(rows)) is True  # fmt: skip
    found = store._read(
        "SELECT billing_period, billed_cost, effective_cost, tags, region_id, charge_category"
        " FROM cost_facts ORDER BY effective_cost DESC"
    )
    assert found == [
        ("2024-03", Decimal("1.25"), Decimal("1.00"), '{"env":"prod"}', "us-central1", "Usage"),
        ("2024-03", Decimal("1.25"), Decimal("0"), '{"env":"prod"}', "us-central1", "Usage"),
    ]


def test_a_gcp_header_with_underscored_names_and_no_optional_column_takes_the_fast_path() -> None:
    header = ["Cost", "Currency", "Usage_Start_Time"]
    rows = [["1", "USD", "2024-03-05T10:00:00Z"], ["-2.5", "EUR", "2024-04-01 00:00:00"]]
    fast, differ = both_paths(header, csv_bytes(rows), "gcp")
    assert fast is True
    assert differ == []
    header = ["cost", "currency", "usage_start_time", "invoice_month", "project_id",
              "service_description", "sku_id", "location_region", "location_location",
              "resource_global_name", "resource_name", "usage_amount", "usage_unit",
              "invoice.month", "cost"]  # fmt: skip
    rows = [["1", "USD", "2024-03-05T10:00:00Z", "202401", "p", "s", "k", "", "eu", "g", "n",
             "2", "h", "202402", "3"]]  # fmt: skip
    fast, differ = both_paths(header, csv_bytes(rows), "gcp")
    assert fast is True
    assert differ == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"credits": "not json"},  # the Python path rejects the row
        {"credits": '"a string"'},
        {"credits": '[{"amount": "oops"}]'},
        {"credits": '[{"amount": true}]'},
        {"credits": '[{"amount": 1e16}]'},
        # Python's 28 digits round a partial sum (1.8e16 + 2e-12), the total is in range
        {
            "credits": '[{"amount": "9000000000000000.000000000001"},'
            ' {"amount": "9000000000000000.000000000001"}, {"amount": "-9000000000000000"}]'
        },
        {"labels": "not json"},
        {"labels": "42"},
        {"usage_start_time": "soon"},
        {"usage_start_time": ""},
        {"usage_start_time": "2024-02-30T00:00:00Z"},
        {"usage_start_time": "2024-03-05 10:00:00 UTC"},  # the BigQuery console's spelling
        {"usage_start_time": "0999-03-05T00:00:00Z"},  # out of the fast path's years
        {"usage_end_time": "2024-03-05T25:00:00Z"},
        {"cost": ""},
        {"cost": "$1.00"},  # a currency sign: only Python parses it
        {"cost": "1,000.5"},
        {"cost": "1e16"},
        {"usage.amount": "Infinity"},
        {"cost_at_list": "n/a"},
        {"currency": ""},
        {"invoice.month": "2024-03"},
        {"invoice.month": "\uff12\uff10\uff12\uff14\uff10\uff13"},  # full-width: isdigit()
    ],
)
def test_gcp_rows_the_sql_cannot_reproduce_send_the_chunk_to_python(
    overrides: dict[str, str],
) -> None:
    data = csv_bytes(
        [gcp_row(), gcp_row(**{k.replace(".", "__"): v for k, v in overrides.items()})]
    )
    fast, _ = both_paths(GCP_HEADER, data, "gcp")
    assert fast is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"cost": "9999999999999999", "credits": '[{"amount": 1}]'},  # cost + credits ≥ 1e16
        {"credits": '[{"amount": 9e15}, {"amount": 9e15}]'},  # credits ≥ 1e16
        {"credits": "[" * 100_000},  # RecursionError in json
    ],
)
def test_gcp_cells_the_python_path_raises_on_are_left_to_python(
    overrides: dict[str, str],
) -> None:
    """``GcpNormaliser`` raises more than RowError on these (InvalidOperation when it
    quantizes an effective cost of 28 digits or more, RecursionError from json): the fast
    path must not store them, and its lookups turn such errors into the Python path."""
    store = DuckDbFactStore(":memory:")
    data = csv_bytes([gcp_row(), gcp_row(**overrides)])
    assert store.write_chunk_csv(LoadRef("l", "c", "gcp"), 0, "gcp", GCP_HEADER, data) is None
    assert store._read("SELECT COUNT(*) FROM cost_facts") == [(0,)]
    assert store.chunks_done("l") == 0


def test_only_ascii_gcp_cost_types_lower_to_a_charge_category_key() -> None:
    """What the SQL's ASCII test rests on: a character that is not ASCII never lowers (in
    Python) to text that occurs in a key of ``CHARGE_CATEGORY``."""
    from stratus.solutions.costs.domain.normalise.gcp import CHARGE_CATEGORY

    lowered = {
        chr(c).lower()
        for c in range(0x80, 0x110000)
        if not 0xD800 <= c < 0xE000 and chr(c).lower().isascii()
    }
    assert lowered == {"k"}  # the Kelvin sign
    assert not [key for key in CHARGE_CATEGORY if any(part in key for part in lowered)]
    assert all(key.isascii() for key in CHARGE_CATEGORY)


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        ("ELSE {location} END AS region_id", "ELSE '' END AS region_id"),
        ("< 0 THEN CAST(0 AS DECIMAL(38,12))", "< -1 THEN CAST(0 AS DECIMAL(38,12))"),
        ("right({month}, 2)", "right({month}, 1)"),
    ],
)
def test_a_mutated_gcp_mapping_is_caught(
    monkeypatch: pytest.MonkeyPatch, find: str, replace: str
) -> None:
    """The comparison is sharp enough: a change to one column of the compiled SQL shows up
    as facts that differ from the Python path's."""
    compiled = duckdb_normalise.compile_gcp(GCP_HEADER)
    assert compiled is not None
    month = GCP_HEADER.index("invoice.month")
    location = GCP_HEADER.index("location.location")
    before = find.format(location=f"n{location}", month=f"n{month}")
    after = replace.format(location=f"n{location}", month=f"n{month}")
    assert compiled.select.count(before) == 1
    mutated = duckdb_normalise.ChunkSql(
        compiled.width, compiled.select.replace(before, after), compiled.lookups
    )
    monkeypatch.setattr(duckdb_normalise, "compiled", lambda provider, header: mutated)
    fast, differ = both_paths(GCP_HEADER, csv_bytes(GCP_CLEAN), "gcp")
    assert fast is True
    assert differ != []


@pytest.mark.skipif(not CORPUS_GCP, reason="../shared/data/costs has no GCP billing export")
@pytest.mark.parametrize("path", CORPUS_GCP, ids=lambda p: p.name)
def test_the_corpus_gcp_files_take_the_fast_path_with_the_python_values(path: Path) -> None:
    raw = path.read_bytes()
    end = raw.index(b"\n") + 1
    header = next(csv.reader([raw[:end].decode("utf-8-sig")]))
    fast, differ = both_paths([h.strip() for h in header], raw[end:], "gcp")
    assert fast is True
    assert differ == []
