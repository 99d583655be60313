"""The dashboard in headless Chromium: it loads, fetches the Reporting API and draws charts
from the demo data that went through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stratus.solutions.costs import demo
from tests.functional.costs.api_runtime import CostsApi, start_runtime
from tests.functional.costs.chromium import body_state, charts, dump_dom, need_chromium, status_text


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CostsApi]:
    need_chromium()
    costs = start_runtime(tmp_path_factory.mktemp("costs-dashboard"))
    demo.load(costs.runtime)
    yield costs
    costs.runtime.stop()


def test_the_page_is_served_without_a_key_as_html(api):
    status, page = api.call("GET", "/dashboard", key=None)
    assert status == 200
    assert page.startswith("<!doctype html>")


def test_the_dashboard_draws_every_chart_from_the_reporting_api(api):
    dom = dump_dom(f"{api.runtime.url}/costs/dashboard#key={api.key}")
    assert body_state(dom) == "ready", status_text(dom)
    drawn = charts(dom)
    today = api.runtime.clock.now().date()
    assert drawn["by-day"] == today.day  # one bar per day of the month so far
    assert drawn["by-service"] == len(demo.SERVICES)
    assert drawn["by-account"] == len(demo.ACCOUNTS)
    assert drawn["by-region"] == len(demo.REGIONS)
    assert drawn["billed-effective"] == len(demo.SERVICES)
    assert drawn["by-tag"] == len(demo.TEAMS)
    assert "Demo Corp" in dom
    assert dom.count("<tr>") >= 10  # top resources


def test_without_the_key_the_page_says_what_is_missing(api):
    dom = dump_dom(f"{api.runtime.url}/costs/dashboard")
    assert body_state(dom) == "error"
    assert "API key" in status_text(dom)


def test_a_wrong_key_is_reported_not_drawn(api):
    dom = dump_dom(f"{api.runtime.url}/costs/dashboard#key=wrong")
    assert body_state(dom) == "error"
    assert "403" in status_text(dom)
