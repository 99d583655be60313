"""Resilience of legacy calls, on a fake transport and a FakeClock: timeout, one retry with
backoff, a circuit breaker per endpoint, request coalescing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.facade.legacy_client import (
    LegacyClient,
    LegacyError,
    LegacyNotFoundError,
    TransportError,
)
from stratus.solutions.facade.resilience import (
    Breakers,
    BreakerState,
    CircuitBreaker,
    Coalescer,
    RetryPolicy,
)
from tests.unit.facade.helpers import REFUSED, FakeTransport

CUSTOMER = "/api/v1/customer"
ORDERS = "/api/v1/customer/orders"
OK = (200, b'{"CUST_ID": "C1"}')
FAIL = (500, b'{"ERROR": "ORA-00600"}')


def client(clock: FakeClock, transport: FakeTransport, **kw) -> LegacyClient:
    kw.setdefault("timeout_s", 1.0)
    return LegacyClient(
        base_url="http://legacy.test",
        transport=transport,
        clock=clock,
        breakers=Breakers(clock, failure_threshold=3, reset_after_s=10),
        rng=lambda: 0.0,
        **kw,
    )


# ---- circuit breaker ------------------------------------------------------------------------


def test_a_breaker_opens_after_the_threshold_of_consecutive_failures(clock) -> None:
    breaker = CircuitBreaker(clock, failure_threshold=3, reset_after_s=10)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after_s() == 10


def test_a_success_resets_the_count_of_failures(clock) -> None:
    breaker = CircuitBreaker(clock, failure_threshold=2, reset_after_s=10)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED


def test_after_the_reset_time_one_probe_goes_through_and_its_success_closes(clock) -> None:
    breaker = CircuitBreaker(clock, failure_threshold=1, reset_after_s=10)
    breaker.record_failure()
    clock.advance(10)

    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # only one probe at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_a_failed_probe_opens_the_breaker_again_for_the_full_reset_time(clock) -> None:
    breaker = CircuitBreaker(clock, failure_threshold=1, reset_after_s=10)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN
    clock.advance(9)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


def test_bad_breaker_settings_are_refused(clock) -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(clock, failure_threshold=0)


# ---- retry policy -------------------------------------------------------------------------------


def test_backoff_is_exponential_and_jittered_down() -> None:
    policy = RetryPolicy(backoff_s=0.1, jitter=0.5)
    assert policy.backoff(1, lambda: 0.0) == pytest.approx(0.1)
    assert policy.backoff(1, lambda: 1.0) == pytest.approx(0.05)
    assert policy.backoff(2, lambda: 0.0) == pytest.approx(0.2)


# ---- the client ---------------------------------------------------------------------------------


def test_a_healthy_call_makes_one_attempt(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [OK]})
    legacy = client(clock, transport)

    assert legacy.get_json(CUSTOMER, {"id": "C1"}, "tok") == {"CUST_ID": "C1"}
    assert transport.paths() == [CUSTOMER]


def test_a_failed_idempotent_call_is_retried_once_after_a_backoff(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [FAIL, OK]})
    legacy = client(clock, transport)
    started = clock.now()

    assert legacy.get_json(CUSTOMER, {"id": "C1"}, "tok") == {"CUST_ID": "C1"}
    assert transport.paths() == [CUSTOMER, CUSTOMER]
    # two latencies of 0.15 s and one backoff of 0.05 s
    assert (clock.now() - started).total_seconds() == pytest.approx(0.35)


def test_at_most_one_retry_is_made(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [FAIL]})
    legacy = client(clock, transport)

    with pytest.raises(LegacyError) as caught:
        legacy.get_json(CUSTOMER, {"id": "C1"}, "tok")

    assert caught.value.kind == "error"
    assert caught.value.status == 500
    assert len(transport.paths()) == 2


def test_a_refused_connection_is_retried_and_reported_unavailable(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [REFUSED]}, latency_s=0.0)
    legacy = client(clock, transport)

    with pytest.raises(LegacyError) as caught:
        legacy.get_json(CUSTOMER, {"id": "C1"}, "tok")

    assert caught.value.kind == "unavailable"
    assert len(transport.paths()) == 2


def test_a_slow_call_times_out_and_is_not_retried_past_the_deadline(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [OK]}, latency_s=5.0)
    legacy = client(clock, transport, timeout_s=1.0)
    started = clock.now()

    with pytest.raises(LegacyError) as caught:
        legacy.get_json(CUSTOMER, {"id": "C1"}, "tok")

    assert caught.value.kind == "timeout"
    assert transport.calls == [(CUSTOMER, 1.0)]
    assert (clock.now() - started).total_seconds() <= legacy.deadline_s


def test_a_retry_gets_only_what_is_left_of_the_deadline(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [FAIL, OK]}, latency_s=0.3)
    legacy = client(clock, transport, timeout_s=1.0, deadline_s=1.0)

    assert legacy.get_json(CUSTOMER, {}, "tok") == {"CUST_ID": "C1"}
    first, second = transport.calls
    assert first[1] == 1.0
    assert second[1] == pytest.approx(1.0 - 0.3 - 0.05)


@pytest.mark.parametrize("status", [404, 401, 403, 400])
def test_client_errors_are_not_retried_and_do_not_count_against_the_breaker(clock, status) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [(status, b"{}")]})
    legacy = client(clock, transport)

    for _ in range(5):
        with pytest.raises(LegacyError):
            legacy.get_json(CUSTOMER, {"id": "nope"}, "tok")

    assert len(transport.paths()) == 5
    assert legacy.breakers.get(f"GET {CUSTOMER}").state is BreakerState.CLOSED


def test_not_found_is_its_own_error(clock) -> None:
    legacy = client(clock, FakeTransport(clock, {CUSTOMER: [(404, b"{}")]}))
    with pytest.raises(LegacyNotFoundError):
        legacy.get_json(CUSTOMER, {"id": "nope"}, "tok")


def test_malformed_json_is_a_bad_response(clock) -> None:
    legacy = client(clock, FakeTransport(clock, {CUSTOMER: [(200, b"<html>")]}))
    with pytest.raises(LegacyError) as caught:
        legacy.get_json(CUSTOMER, {}, "tok")
    assert caught.value.kind == "bad_response"


def test_an_endpoint_that_keeps_failing_opens_its_breaker_and_then_fails_fast(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [FAIL], ORDERS: [(200, b'{"ORDERS": []}')]})
    legacy = client(clock, transport)
    for _ in range(3):
        with pytest.raises(LegacyError):
            legacy.get_json(CUSTOMER, {"id": "C1"}, "tok")
    calls = len(transport.paths())

    with pytest.raises(LegacyError) as caught:
        legacy.get_json(CUSTOMER, {"id": "C1"}, "tok")

    assert caught.value.kind == "circuit_open"
    assert len(transport.paths()) == calls  # failed fast: no call went out
    # the breaker is per endpoint: the orders endpoint still works
    assert legacy.get_json(ORDERS, {"id": "C1"}, "tok") == {"ORDERS": []}


def test_after_the_reset_time_a_probe_closes_the_breaker_when_the_legacy_api_is_back(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [FAIL, FAIL, FAIL, FAIL, FAIL, FAIL, OK]})
    legacy = client(clock, transport)
    for _ in range(3):
        with pytest.raises(LegacyError):
            legacy.get_json(CUSTOMER, {}, "tok")
    clock.advance(10)

    assert legacy.get_json(CUSTOMER, {}, "tok") == {"CUST_ID": "C1"}
    assert legacy.breakers.states() == {f"GET {CUSTOMER}": "closed"}


# ---- coalescing ---------------------------------------------------------------------------------


def test_identical_calls_in_flight_share_one_execution(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [OK]})
    transport.gate = threading.Event()
    legacy = client(clock, transport)

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(legacy.get_json, CUSTOMER, {"id": "C1"}, "tok") for _ in range(10)]
        deadline = time.monotonic() + 5
        while legacy.coalescer.shared < 9 and time.monotonic() < deadline:
            time.sleep(0.01)
        transport.gate.set()
        results = [f.result() for f in futures]

    assert results == [{"CUST_ID": "C1"}] * 10
    assert transport.paths() == [CUSTOMER]
    assert legacy.coalescer.executions == 1


def test_calls_of_different_users_or_parameters_are_not_coalesced(clock) -> None:
    transport = FakeTransport(clock, {CUSTOMER: [OK]})
    legacy = client(clock, transport)

    legacy.get_json(CUSTOMER, {"id": "C1"}, "alice")
    legacy.get_json(CUSTOMER, {"id": "C1"}, "bob")
    legacy.get_json(CUSTOMER, {"id": "C2"}, "bob")

    assert len(transport.paths()) == 3


def test_a_coalesced_failure_reaches_every_waiter_and_the_next_call_runs_again() -> None:
    coalescer: Coalescer[int] = Coalescer()
    gate = threading.Event()
    calls = []

    def failing() -> int:
        calls.append(1)
        gate.wait(5)
        raise TransportError("down")

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(coalescer.run, "k", failing) for _ in range(3)]
        deadline = time.monotonic() + 5
        while coalescer.shared < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.set()
        errors = [f.exception() for f in futures]

    assert all(isinstance(e, TransportError) for e in errors)
    assert len(calls) == 1
    assert coalescer.run("k", lambda: 7) == 7
