"""The Reporting API over loopback HTTP with the demo data put through the real pipeline
(Credentials API → uploader state machine → reports bucket → ETL state machine → facts)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from stratus.solutions.costs import demo
from tests.functional.costs.api_runtime import CostsApi, start_runtime


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CostsApi]:
    costs = start_runtime(tmp_path_factory.mktemp("costs-reports"))
    lines = demo.load(costs.runtime)
    assert any("1 file(s) uploaded" in line for line in lines), lines
    yield costs
    costs.runtime.stop()


def gateway_metrics(api: CostsApi, route: str) -> dict:
    return api.runtime.gateways["/costs"].metrics.snapshot()["routes"].get(route, {})


def test_cost_by_service_sums_to_the_generated_rows(api):
    today = api.runtime.clock.now().date()
    expected: dict[str, Decimal] = {}
    month = f"{today:%Y-%m}"
    for row in demo.demo_rows(today):
        if row["BillingPeriodStart"].startswith(month):
            expected[row["ServiceName"]] = expected.get(row["ServiceName"], Decimal(0)) + Decimal(
                row["BilledCost"]
            )
    status, body = api.call("GET", f"/reports/demo?by=service&month={month}")
    assert status == 200
    got = {r["key"]: Decimal(r["billed_cost"]) for r in body["rows"]}
    assert got == expected


def test_every_report_route_answers(api):
    base = "/reports/demo"
    for path in (
        f"{base}?by=day",
        f"{base}?by=account&cost=effective",
        f"{base}?by=region&limit=2",
        f"{base}?by=tag:team",
        f"{base}/summary",
        f"{base}/top-resources?limit=3",
        f"{base}/billed-vs-effective",
        f"{base}/months",
    ):
        status, body = api.call("GET", path)
        assert status == 200, (path, body)
    assert len(api.call("GET", f"{base}?by=region&limit=2")[1]["rows"]) == 2
    top = api.call("GET", f"{base}/top-resources?limit=3")[1]["rows"]
    assert len(top) == 3
    status, detail = api.call("GET", f"{base}/resources/{top[0]['key'].replace('/', '%2F')}")
    assert status == 200, detail
    assert detail["resource_id"] == top[0]["key"]


def test_summary_compares_month_to_date_with_the_previous_month(api):
    body = api.call("GET", "/reports/demo/summary")[1]
    today = api.runtime.clock.now().date()
    assert body["month"] == f"{today:%Y-%m}"
    [usd] = body["currencies"]
    assert Decimal(usd["month_to_date"]) > 0
    assert Decimal(usd["previous_month"]) >= Decimal(usd["previous_month_same_days"]) > 0


def test_bad_parameters_are_400_with_a_reason(api):
    for query, word in (
        ("?by=colour", "by"),
        ("", "by"),
        ("?by=service&cost=list", "cost"),
        ("?by=service&month=2026-13", "month"),
        ("?by=service&limit=0", "limit"),
        ("?by=service&limit=lots", "limit"),
    ):
        status, body = api.call("GET", f"/reports/demo{query}")
        assert status == 400, query
        assert any(word in r for r in body["reasons"]), (query, body)
    assert api.call("GET", "/reports/demo/resources/none")[0] == 404
    assert api.call("GET", "/reports/demo/months", key=None)[0] == 403


def test_report_answers_are_cached_per_query(api):
    route = "GET /reports/{clientId}"
    before = gateway_metrics(api, route).get("cache_hits", 0)
    first = api.call("GET", "/reports/demo?by=service&cost=effective")
    second = api.call("GET", "/reports/demo?by=service&cost=effective")
    assert first == second
    assert gateway_metrics(api, route)["cache_hits"] == before + 1
    other = api.call("GET", "/reports/demo?by=service&cost=billed")
    assert other[1]["cost"] == "billed"  # a different query string is a different entry
    assert gateway_metrics(api, route)["cache_hits"] == before + 1


def test_an_unknown_client_has_empty_reports(api):
    status, body = api.call("GET", "/reports/nobody?by=service")
    assert (status, body["rows"]) == (200, [])
