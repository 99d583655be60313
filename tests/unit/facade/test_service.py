"""Use cases on a real database (SQLite; PostgreSQL when configured), a fake legacy
transport and a FakeClock: combined answers, partial answers, database down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.relational import engines
from stratus.solutions.facade import bootstrap, demo, service
from stratus.solutions.facade.service import (
    CUSTOMER,
    CUSTOMER_ORDERS,
    PRODUCTS,
    DatabaseUnavailableError,
    Deps,
    LegacyUnavailableError,
    NotFoundError,
    UnauthorizedError,
)
from tests.unit.facade.helpers import REFUSED, FakeTransport, down_database_url

ARN = "arn:aws:execute-api:us-east-1:123456789012:api/dev/GET/customers/C1/overview"
PROFILE = (
    200,
    json.dumps(
        {"CUST_ID": "C1", "CUST_NAME": "ANN", "EMAIL": "a@x.io", "PHONE": "1", "CTRY": "PL"}
    ).encode(),
)
ORDERS = (
    200,
    json.dumps(
        {
            "ORDERS": [
                {
                    "ORDER_NO": "O1",
                    "ORDER_DATE": "2026-01-01 10:00:00",
                    "STATUS": "NEW",
                    "TOTAL": "10.50",
                },
                {
                    "ORDER_NO": "O2",
                    "ORDER_DATE": "2026-02-01 10:00:00",
                    "STATUS": "SHIPPED",
                    "TOTAL": "1.00",
                },
            ]
        }
    ).encode(),
)
FAIL = (500, b"{}")


def deps_for(db, clock: FakeClock, script, **kw) -> tuple[Deps, FakeTransport]:
    transport = FakeTransport(clock, script, **kw)
    deps = bootstrap.build(
        engines_=db, legacy_base_url="http://legacy.test", clock=clock, transport=transport
    )
    return deps, transport


@pytest.fixture
def seeded(db, clock):
    demo.seed(db.writer, now=clock.now(), customers=3)
    return db


def test_the_overview_combines_both_legacy_calls_and_the_database(seeded, clock) -> None:
    deps, transport = deps_for(seeded, clock, {CUSTOMER: [PROFILE], CUSTOMER_ORDERS: [ORDERS]})

    answer = service.customer_overview("C1", "alice-demo-token", deps)

    assert answer["partial"] is False
    assert answer["errors"] == []
    assert answer["profile"]["countryCode"] == "PL"
    assert [o["id"] for o in answer["orders"]] == ["O2", "O1"]  # newest first
    assert answer["orderSummary"] == {
        "count": 2,
        "totalCents": 1150,
        "lastOrderAt": "2026-02-01 10:00:00",
    }
    assert answer["loyalty"]["tier"] == "silver"  # from the facade database
    assert sorted(transport.paths()) == sorted([CUSTOMER, CUSTOMER_ORDERS])


def test_a_failing_legacy_source_gives_a_partial_answer_with_its_error(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {CUSTOMER: [PROFILE], CUSTOMER_ORDERS: [FAIL]})

    answer = service.customer_overview("C1", "tok", deps)

    assert answer["partial"] is True
    assert answer["orders"] is None
    assert answer["profile"] is not None
    assert answer["loyalty"] is not None
    assert answer["errors"] == [
        {"source": "legacy.orders", "error": "error", "message": "legacy API answered 500"}
    ]


def test_a_slow_legacy_api_times_out_into_a_partial_answer(seeded, clock) -> None:
    deps, _ = deps_for(
        seeded,
        clock,
        {CUSTOMER: [PROFILE], CUSTOMER_ORDERS: [ORDERS]},
        latency_s=lambda path: 30.0 if path == CUSTOMER else 0.1,
    )

    answer = service.customer_overview("C1", "tok", deps)

    assert answer["partial"] is True
    assert answer["profile"] is None
    assert answer["orders"] is not None
    assert [e["error"] for e in answer["errors"]] == ["timeout"]


def test_a_legacy_api_that_is_down_still_gives_the_database_part(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {CUSTOMER: [REFUSED], CUSTOMER_ORDERS: [REFUSED]})

    answer = service.customer_overview("C1", "tok", deps)

    assert answer["partial"] is True
    assert answer["loyalty"] is not None
    assert {e["source"]: e["error"] for e in answer["errors"]} == {
        "legacy.customer": "unavailable",
        "legacy.orders": "unavailable",
    }


def test_once_the_breakers_are_open_the_legacy_api_is_not_called_at_all(seeded, clock) -> None:
    deps, transport = deps_for(seeded, clock, {CUSTOMER: [FAIL], CUSTOMER_ORDERS: [FAIL]})
    for _ in range(5):
        service.customer_overview("C1", "tok", deps)
    calls = len(transport.paths())

    answer = service.customer_overview("C1", "tok", deps)

    assert len(transport.paths()) == calls
    assert {e["error"] for e in answer["errors"]} == {"circuit_open"}


def test_a_customer_the_legacy_api_does_not_know_is_not_found(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {CUSTOMER: [(404, b"{}")], CUSTOMER_ORDERS: [(404, b"{}")]})
    with pytest.raises(NotFoundError):
        service.customer_overview("C404", "tok", deps)


def test_an_unexpected_legacy_shape_is_a_failed_source_not_a_crash(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {CUSTOMER: [(200, b"[1]")], CUSTOMER_ORDERS: [ORDERS]})
    answer = service.customer_overview("C1", "tok", deps)
    assert answer["errors"][0]["error"] == "bad_response"


def test_notes_are_written_and_read_back_from_the_writer(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {})

    stored = service.add_note("C2", 1, "called about the invoice", deps)
    notes = service.customer_notes("C2", deps)

    assert notes == [{**stored, "author": "alice"}]
    with pytest.raises(NotFoundError):
        service.add_note("nobody", 1, "x", deps)
    with pytest.raises(NotFoundError):
        service.customer_notes("nobody", deps)


def test_static_data_comes_from_the_reader_and_the_legacy_api(seeded, clock) -> None:
    deps, _ = deps_for(
        seeded, clock, {PRODUCTS: [(200, b'[{"SKU": "S", "DESCR": "D", "PRICE": "1.99"}]')]}
    )

    assert service.products("tok", deps) == [{"sku": "S", "description": "D", "priceCents": 199}]
    assert {c["code"] for c in service.countries(deps)} >= {"PL", "US"}


def test_products_without_the_legacy_api_is_a_legacy_unavailable_error(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {PRODUCTS: [REFUSED]})
    with pytest.raises(LegacyUnavailableError):
        service.products("tok", deps)


# ---- authorizer ---------------------------------------------------------------------------


def test_a_valid_token_gets_the_users_policy_and_context(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {})

    answer = service.authorize("alice-demo-token", ARN, deps)

    assert answer["principalId"] == "1"
    assert answer["context"]["username"] == "alice"
    assert answer["context"]["permissions"] == "catalog:read,customers:read,customers:write"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("token", ["dave-demo-token", "never-issued"])
def test_expired_and_unknown_tokens_are_unauthorized(seeded, clock, token) -> None:
    deps, _ = deps_for(seeded, clock, {})
    with pytest.raises(UnauthorizedError):
        service.authorize(token, ARN, deps)


def test_a_revoked_token_gets_an_explicit_deny(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {})
    answer = service.authorize("carol-demo-token", ARN, deps)
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_a_token_expires_as_the_clock_moves(seeded, clock) -> None:
    deps, _ = deps_for(seeded, clock, {})
    service.authorize("alice-demo-token", ARN, deps)
    clock.advance(366 * 86400)
    with pytest.raises(UnauthorizedError):
        service.authorize("alice-demo-token", ARN, deps)


# ---- database down ------------------------------------------------------------------------


@pytest.fixture
def down(tmp_path: Path):
    result = engines(down_database_url(), home=tmp_path, name="down")
    yield result
    result.dispose()


def test_with_the_database_down_every_use_case_says_database_unavailable(down, clock) -> None:
    deps, _ = deps_for(down, clock, {CUSTOMER: [PROFILE], CUSTOMER_ORDERS: [ORDERS]})

    for call in (
        lambda: service.customer_overview("C1", "tok", deps),
        lambda: service.customer_notes("C1", deps),
        lambda: service.add_note("C1", 1, "x", deps),
        lambda: service.countries(deps),
        lambda: service.authorize("alice-demo-token", ARN, deps),
    ):
        with pytest.raises(DatabaseUnavailableError):
            call()


def test_a_database_that_is_down_at_start_up_is_unavailable_not_a_crash(tmp_path) -> None:
    with pytest.raises(DatabaseUnavailableError):
        bootstrap.database(down_database_url(), None, tmp_path)
