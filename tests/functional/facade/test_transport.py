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
