"""`stratus up` serves the legacy demo API and the facade end to end over HTTP: the
authorizer, every resilience path through the legacy API's configurable latency and error
rate, the database down, throttling (429) and caching of static data only."""

from __future__ import annotations

import time
import urllib.request

from tests.e2e.facade.conftest import ALICE, call, set_faults


def test_up_serves_the_legacy_demo_and_the_facade_combining_it_with_the_database(facade):
    server = facade()

    status, legacy, _ = call(server, "GET", "/facade/legacy/api/v1/customer?id=C1", headers=ALICE)
    assert status == 200
    assert legacy["CUST_ID"] == "C1"
    assert "ORDERS" not in legacy  # the legacy API gives only part of what is needed

    status, body, _ = call(server, "GET", "/facade/customers/C1/overview", headers=ALICE)
    assert status == 200
    assert body["partial"] is False
    assert body["profile"]["name"] == "CUSTOMER 1"
    assert body["orderSummary"]["count"] == len(body["orders"]) == 1
    assert body["loyalty"]["tier"] == "silver"  # from the facade database only


def test_the_authorizer_refuses_unknown_expired_and_revoked_tokens_and_limits_users(facade):
    server = facade()
    path = "/facade/customers/C1/overview"

    assert call(server, "GET", path)[0] == 401
    assert call(server, "GET", path, headers={"Authorization": "Bearer nope"})[0] == 401
    assert call(server, "GET", path, headers={"Authorization": "Bearer dave-demo-token"})[0] == 401
    assert call(server, "GET", path, headers={"Authorization": "Bearer carol-demo-token"})[0] == 403
    bob = {"Authorization": "Bearer bob-demo-token"}
    assert call(server, "GET", "/facade/catalog/products", headers=bob)[0] == 200
    assert call(server, "GET", path, headers=bob)[0] == 403  # cached policy: still only catalog


def test_a_slow_legacy_api_gives_partial_answers_after_the_timeout(facade):
    server = facade("--parameter", "LegacyTimeoutMs=200")
    set_faults(server, latency_ms=2000)

    status, body, _ = call(server, "GET", "/facade/customers/C2/overview", headers=ALICE)

    assert status == 200
    assert body["partial"] is True
    assert {e["error"] for e in body["errors"]} == {"timeout"}
    assert body["loyalty"] is None or "tier" in body["loyalty"]


def test_a_failing_legacy_api_gives_partial_answers_then_its_breakers_open(facade):
    server = facade()
    set_faults(server, error_rate=1.0)

    kinds = []
    for _ in range(8):
        status, body, _ = call(server, "GET", "/facade/customers/C3/overview", headers=ALICE)
        assert status == 200
        assert body["partial"] is True
        kinds.append({e["error"] for e in body["errors"]})

    assert kinds[0] == {"error"}
    assert kinds[-1] == {"circuit_open"}


def test_a_legacy_api_that_is_down_still_gives_the_database_part(facade):
    server = facade()
    set_faults(server, down=True)

    status, body, _ = call(server, "GET", "/facade/customers/C5/overview", headers=ALICE)

    assert status == 200
    assert body["partial"] is True
    assert body["profile"] is None
    assert body["orders"] is None
    assert body["loyalty"]["points"] == 50
    status, _, headers = call(server, "GET", "/facade/catalog/products", headers=ALICE)
    assert status == 503
    assert "Retry-After" in headers


def test_with_the_reader_database_down_the_facade_answers_503_with_retry_after(facade):
    from tests.unit.facade.helpers import down_database_url

    server = facade("--parameter", f"ReaderUrl={down_database_url()}")

    status, body, headers = call(server, "GET", "/facade/customers/C1/overview", headers=ALICE)
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert "database" in body["message"]
    # critical reads and writes use the writer, which is up
    assert call(server, "GET", "/facade/customers/C1/notes", headers=ALICE)[0] == 200


def test_writes_are_throttled_per_method_with_429(facade):
    server = facade("--parameter", "WriteRateLimit=1", "--parameter", "WriteBurstLimit=2")

    statuses = [
        call(server, "POST", "/facade/customers/C1/notes", {"text": f"n{i}"}, ALICE)[0]
        for i in range(8)
    ]

    assert statuses[:2] == [201, 201]
    assert 429 in statuses
    assert set(statuses) <= {201, 429}
    # other methods have their own bucket
    assert call(server, "GET", "/facade/customers/C1/notes", headers=ALICE)[0] == 200


def test_static_data_is_cached_and_customer_data_is_not(facade):
    server = facade()
    for _ in range(3):
        assert call(server, "GET", "/facade/catalog/products", headers=ALICE)[0] == 200
        assert call(server, "GET", "/facade/reference/countries", headers=ALICE)[0] == 200
        assert call(server, "GET", "/facade/customers/C1/overview", headers=ALICE)[0] == 200

    _, metrics, _ = call(server, "GET", "/_stratus/metrics")
    routes = metrics["apis"]["/facade"]["routes"]
    assert routes["GET /catalog/products"]["cache_hits"] == 2
    assert routes["GET /reference/countries"]["cache_hits"] == 2
    overview = routes["GET /customers/{customerId}/overview"]
    assert overview["cache_hits"] == overview["cache_misses"] == 0
    assert overview["count"] == 3
    assert overview["5xx"] == 0


def test_cached_static_data_expires_after_an_hour(facade):
    server = facade("--clock-factor", "3600")  # one hour of the runtime's clock per second
    url = server.base + "/facade/catalog/products"

    def outcome() -> str:
        req = urllib.request.Request(url, headers=ALICE)
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        _, metrics, _ = call(server, "GET", "/_stratus/metrics")
        route = metrics["apis"]["/facade"]["routes"]["GET /catalog/products"]
        return f"{route['cache_hits']}/{route['cache_misses']}"

    assert outcome() == "0/1"
    assert outcome() == "1/1"  # well within the hour
    time.sleep(1.5)  # 1.5 hours of the runtime's clock
    assert outcome() == "1/2"
