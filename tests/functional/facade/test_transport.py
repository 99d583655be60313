"""The keep-alive transport over real loopback sockets: answers, timeouts, refusals, and a
kept-alive connection the server closed."""

from __future__ import annotations

import pytest

from stratus.platform.adapters.local.clock import SystemClock
from stratus.solutions.facade.legacy_client import (
    KeepAliveTransport,
    LegacyClient,
    LegacyError,
    TransportError,
    TransportTimeoutError,
)
from tests.unit.facade.helpers import closed_port

ALICE = {"Authorization": "Bearer alice-demo-token"}


def test_a_kept_alive_connection_serves_many_calls(legacy, monkeypatch) -> None:
    import os

    base = os.environ["LEGACY_BASE_URL"]
    transport = KeepAliveTransport()
    for _ in range(3):
        status, body = transport.get(f"{base}/api/v1/customer?id=C1", ALICE, 2.0)
        assert status == 200
        assert b"CUST_ID" in body


def test_a_slow_answer_is_a_timeout(legacy) -> None:
    import os

    legacy.set_faults(latency_ms=1500)
    with pytest.raises(TransportTimeoutError):
        KeepAliveTransport().get(f"{os.environ['LEGACY_BASE_URL']}/api/v1/products", ALICE, 0.2)


def test_a_refused_connection_is_a_transport_error() -> None:
    with pytest.raises(TransportError):
        KeepAliveTransport().get(f"http://127.0.0.1:{closed_port()}/x", {}, 1.0)


def test_the_client_reports_a_legacy_api_that_is_not_there_as_unavailable() -> None:
    client = LegacyClient(
        base_url=f"http://127.0.0.1:{closed_port()}",
        transport=KeepAliveTransport(),
        clock=SystemClock(),
        timeout_s=0.5,
    )
    with pytest.raises(LegacyError) as caught:
        client.get_json("/api/v1/customer", {"id": "C1"}, "tok")
    assert caught.value.kind == "unavailable"


def _client(base: str, timeout_s: float = 2.0) -> LegacyClient:
    return LegacyClient(
        base_url=base, transport=KeepAliveTransport(), clock=SystemClock(), timeout_s=timeout_s
    )


def test_two_started_calls_of_one_thread_run_at_the_same_time(legacy) -> None:
    import os
    import time

    legacy.set_faults(latency_ms=300)
    client = _client(os.environ["LEGACY_BASE_URL"])
    assert client.can_start
    started = time.perf_counter()
    orders = client.start_json("/api/v1/customer/orders", {"id": "C1"}, "alice-demo-token")
    profile = client.get_json("/api/v1/customer", {"id": "C1"}, "alice-demo-token")
    assert profile["CUST_ID"] == "C1"
    assert "ORDERS" in orders.result()
    assert time.perf_counter() - started < 0.55  # not 2 x 300 ms
    # the connections went back to the thread's idle list and are reused
    legacy.set_faults(latency_ms=0)
    for _ in range(3):
        again = client.start_json("/api/v1/customer", {"id": "C2"}, "alice-demo-token")
        assert again.result()["CUST_ID"] == "C2"


def test_a_started_call_times_out_and_a_cancelled_one_frees_its_key(legacy) -> None:
    import os

    legacy.set_faults(latency_ms=1500)
    client = _client(os.environ["LEGACY_BASE_URL"], timeout_s=0.2)
    slow = client.start_json("/api/v1/products", {}, "alice-demo-token")
    with pytest.raises(LegacyError) as caught:
        slow.result()
    assert caught.value.kind == "timeout"
    legacy.set_faults(latency_ms=0)
    abandoned = client.start_json("/api/v1/customer", {"id": "C1"}, "alice-demo-token")
    abandoned.cancel()
    assert client.coalescer._inflight == {}
    assert client.get_json("/api/v1/customer", {"id": "C1"}, "alice-demo-token")["CUST_ID"] == "C1"


def test_the_standalone_legacy_server_answers_like_the_mounted_one(legacy) -> None:
    import http.client
    import json

    from stratus.solutions.facade.legacy.server import serve_async

    legacy.set_faults(latency_ms=0)
    server = serve_async(legacy)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        answers = []
        for method, path, headers, body in [
            ("GET", "/api/v1/customer?id=C1", ALICE, None),  # same kept-alive connection
            ("GET", "/api/v1/customer?id=C1", {"Authorization": "Bearer nope"}, None),
            ("GET", "/api/v1/customer?id=NOPE", ALICE, None),
            ("PUT", "/_admin/faults", {}, json.dumps({"error_rate": 1})),
            ("GET", "/api/v1/customer?id=C1", ALICE, None),
            ("PUT", "/_admin/faults", {}, json.dumps({"error_rate": 0, "down": True})),
            ("GET", "/api/v1/customer?id=C1", ALICE, None),
        ]:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answers.append((response.status, json.loads(response.read())))
        assert [status for status, _ in answers] == [200, 401, 404, 200, 500, 200, 503]
        assert answers[0][1]["CUST_ID"] == "C1"
        conn.request("GET", "/api/v1/products", headers={**ALICE, "Connection": "close"})
        closing = conn.getresponse()
        assert closing.status == 503
        assert closing.getheader("Connection") == "close"
    finally:
        server.stop()
