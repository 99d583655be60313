"""The abstracted cost API: Cost Explorer (moto) and Azure Cost Management (recorded answers)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from stratus.solutions.costs.adapters.azure_cost_query import AzureCostQueryApi, request_body
from stratus.solutions.costs.costapi import (
    CostQuery,
    CostQueryError,
    ProviderError,
    months_between,
    parse_query,
    query_costs,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"


def recorded(name: str) -> bytes:
    return (EVENTS / name).read_bytes()


# ---- the query -------------------------------------------------------------------------------


def test_a_query_string_becomes_a_query():
    q = parse_query("2026-01-01", "2026-02-01", "monthly", "service,region", "effective")
    assert q == CostQuery(
        date(2026, 1, 1), date(2026, 2, 1), "MONTHLY", ("service", "region"), "effective"
    )


def test_a_bad_query_gives_every_reason():
    with pytest.raises(CostQueryError) as bad:
        parse_query("2026-13-01", None, "hourly", "service,colour,account", "list")
    reasons = " | ".join(bad.value.reasons)
    for word in ("start", "end: required", "granularity", "colour", "at most two", "cost"):
        assert word in reasons
    with pytest.raises(CostQueryError):
        parse_query("2026-02-01", "2026-01-01", None, None, None)


def test_months_are_clipped_to_the_period():
    assert months_between(date(2026, 1, 15), date(2026, 3, 10)) == [
        (date(2026, 1, 15), date(2026, 2, 1)),
        (date(2026, 2, 1), date(2026, 3, 1)),
        (date(2026, 3, 1), date(2026, 3, 10)),
    ]


# ---- AWS Cost Explorer on moto -----------------------------------------------------------------


def ce_result(groups: bool) -> dict:
    def metric(amount: str) -> dict:
        return {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}

    periods = []
    for day, amounts in (("2026-01-01", ("10.5", "2.25")), ("2026-01-02", ("11", "2.5"))):
        end = f"2026-01-0{int(day[-1]) + 1}"
        entry: dict = {"TimePeriod": {"Start": day, "End": end}, "Estimated": False}
        if groups:
            entry["Total"] = {}
            entry["Groups"] = [
                {"Keys": ["Amazon EC2"], "Metrics": metric(amounts[0])},
                {"Keys": ["Amazon S3"], "Metrics": metric(amounts[1])},
            ]
        else:
            entry["Total"] = metric(str(Decimal(amounts[0]) + Decimal(amounts[1])))
            entry["Groups"] = []
        periods.append(entry)
    return {"ResultsByTime": periods, "DimensionValueAttributes": []}


def queue_ce_answer(result: dict) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.set_ce_cost_usage(result=result, account_id=DEFAULT_ACCOUNT_ID)


def test_cost_explorer_rows_become_common_rows(moto_aws):
    import boto3

    from stratus.solutions.costs.adapters.aws_cost_explorer import CostExplorerCostApi

    queue_ce_answer(ce_result(groups=True))
    api = CostExplorerCostApi(boto3.session.Session())
    query = CostQuery(date(2026, 1, 1), date(2026, 1, 3), "DAILY", ("service",), "billed")
    result = query_costs(api, query).as_dict()
    assert result["Provider"] == "aws"
    assert [(r["Start"], r["Group"], r["Amount"]) for r in result["Rows"]] == [
        ("2026-01-01", {"service": "Amazon EC2"}, "10.5"),
        ("2026-01-01", {"service": "Amazon S3"}, "2.25"),
        ("2026-01-02", {"service": "Amazon EC2"}, "11"),
        ("2026-01-02", {"service": "Amazon S3"}, "2.5"),
    ]
    assert result["Totals"] == {"USD": "26.25"}


def test_cost_explorer_without_grouping_uses_the_total(moto_aws):
    import boto3

    from stratus.solutions.costs.adapters.aws_cost_explorer import CostExplorerCostApi

    queue_ce_answer(ce_result(groups=False))
    api = CostExplorerCostApi(boto3.session.Session())
    rows = api.query(CostQuery(date(2026, 1, 1), date(2026, 1, 3)))
    assert [(r.group, r.amount) for r in rows] == [((), Decimal("12.75")), ((), Decimal("13.5"))]


def test_cost_explorer_errors_become_provider_errors(moto_aws):
    from stratus.solutions.costs.adapters.aws_cost_explorer import CostExplorerCostApi

    class Refusing:
        def client(self, *args, **kwargs):
            import boto3

            return boto3.client("ce", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")

    api = CostExplorerCostApi(Refusing())
    with pytest.raises(ProviderError):
        api.query(CostQuery(date(2026, 1, 1), date(2026, 1, 3)))


# ---- Azure Cost Management Query on recorded answers ---------------------------------------------


class Recorder:
    """A transport replaying recorded answers and keeping the requests."""

    def __init__(self, answers: list[tuple[int, bytes]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        self.requests.append((method, url, dict(headers), body))
        return self.answers.pop(0)


TOKEN = (
    200,
    json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0"}).encode(),
)


def azure(transport: Recorder) -> AzureCostQueryApi:
    return AzureCostQueryApi(
        tenant_id="tenant-1",
        client_id="app-1",
        client_secret="s3cr3t",
        scope="subscriptions/00000000-0000-0000-0000-000000000000",
        transport=transport,
    )


def test_azure_daily_pages_are_followed_and_read_by_column_name():
    transport = Recorder(
        [
            TOKEN,
            (200, recorded("costs_azure_query_daily_by_service_page1.json")),
            (200, recorded("costs_azure_query_daily_by_service_page2.json")),
        ]
    )
    query = CostQuery(date(2026, 1, 1), date(2026, 1, 3), "DAILY", ("service",), "billed")
    result = query_costs(azure(transport), query).as_dict()
    assert result["Totals"] == {"EUR": "31.0011"}
    assert {(r["Start"], r["End"], r["Group"]["service"], r["Amount"]) for r in result["Rows"]} >= {
        ("2026-01-01", "2026-01-02", "Virtual Machines", "12.5"),
        ("2026-01-02", "2026-01-03", "Storage", "3.5"),
    }
    sign_in, first, second = transport.requests
    assert "login.microsoftonline.com/tenant-1/oauth2/v2.0/token" in sign_in[1]
    assert b"client_secret=s3cr3t" in (sign_in[3] or b"")
    assert first[2]["Authorization"] == "Bearer eyJ0"
    assert "/providers/Microsoft.CostManagement/query?api-version=" in first[1]
    assert "skiptoken" in second[1]
    sent = json.loads(first[3] or b"{}")
    assert sent["type"] == "ActualCost"
    assert sent["dataset"]["grouping"] == [{"type": "Dimension", "name": "ServiceName"}]
    assert sent["timePeriod"]["to"].startswith("2026-01-02T23:59:59")


def test_azure_monthly_amortized_answer():
    transport = Recorder([TOKEN, (200, recorded("costs_azure_query_monthly_amortized.json"))])
    query = CostQuery(date(2026, 1, 1), date(2026, 3, 1), "MONTHLY", ("region",), "effective")
    rows = azure(transport).query(query)
    assert [(r.start, r.end, dict(r.group)["region"], r.amount) for r in rows] == [
        (date(2026, 1, 1), date(2026, 2, 1), "westeurope", Decimal("410.2")),
        (date(2026, 1, 1), date(2026, 2, 1), "eastus", Decimal("95.8")),
        (date(2026, 2, 1), date(2026, 3, 1), "westeurope", Decimal("120.0")),
    ]
    assert request_body(query)["type"] == "AmortizedCost"


def test_azure_refusals_are_provider_errors():
    with pytest.raises(ProviderError, match="sign-in"):
        azure(Recorder([(401, b"{}")])).query(CostQuery(date(2026, 1, 1), date(2026, 1, 2)))
    with pytest.raises(ProviderError, match="HTTP 429"):
        azure(Recorder([TOKEN, (429, b"Too many requests")])).query(
            CostQuery(date(2026, 1, 1), date(2026, 1, 2))
        )
    with pytest.raises(ProviderError, match="lacks"):
        azure(Recorder([TOKEN, (200, b'{"properties": {"columns": [], "rows": []}}')])).query(
            CostQuery(date(2026, 1, 1), date(2026, 1, 2))
        )
