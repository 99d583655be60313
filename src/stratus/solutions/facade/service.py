"""Use cases of the facade: functions taking (command, deps) -> result.

No I/O of its own: the database through :mod:`store` on ``deps.engines`` (writer for
critical reads and writes, reader for read-only queries), the legacy API through
``deps.legacy`` (a resilient :class:`LegacyClient`), time from ``deps.clock``.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from stratus.platform.ports import Clock
from stratus.platform.relational import Engines
from stratus.solutions.facade import store
from stratus.solutions.facade.domain import overview as answers
from stratus.solutions.facade.domain.permissions import (
    TokenVerdict,
    deny_all,
    judge_token,
    policy,
)
from stratus.solutions.facade.legacy_client import (
    LegacyClient,
    LegacyError,
    LegacyNotFoundError,
    PendingCall,
)
from stratus.solutions.facade.store import DatabaseUnavailableError, UnknownCustomerError

__all__ = [
    "DatabaseUnavailableError",
    "Deps",
    "LegacyUnavailableError",
    "NotFoundError",
    "UnauthorizedError",
    "add_note",
    "authorize",
    "countries",
    "customer_notes",
    "customer_overview",
    "products",
]

CUSTOMER = "/api/v1/customer"
CUSTOMER_ORDERS = "/api/v1/customer/orders"
PRODUCTS = "/api/v1/products"


@dataclass(frozen=True)
class Deps:
    """What the use cases need; built by :mod:`stratus.solutions.facade.bootstrap`."""

    engines: Engines
    legacy: LegacyClient
    clock: Clock
    pool: Executor


class UnauthorizedError(Exception):
    """The token is unknown or expired: API Gateway answers 401."""


class NotFoundError(LookupError):
    """The thing asked for does not exist."""


class LegacyUnavailableError(Exception):
    """The only source of an answer (the legacy API) failed; ``retry_after_s`` hints when."""

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# ---- authorizer -------------------------------------------------------------------------


def authorize(token: str, method_arn: str, deps: Deps) -> dict[str, Any]:
    """The TOKEN authorizer's answer for a legacy bearer token.

    Unknown or expired: :class:`UnauthorizedError` (401). Revoked: an explicit Deny of every
    route (403). Valid: an Allow of exactly the user's routes (403 elsewhere), with the user
    in the context. The token is checked on the WRITER: a revocation is critical data and
    must be seen at once, not after replica lag. DatabaseUnavailableError propagates.
    """
    record = store.token_record(deps.engines.writer, token)
    verdict = judge_token(record, deps.clock.now())
    if verdict in (TokenVerdict.UNKNOWN, TokenVerdict.EXPIRED) or record is None:
        raise UnauthorizedError(verdict.value)
    if verdict is TokenVerdict.REVOKED:
        return {
            "principalId": str(record.user_id),
            "policyDocument": deny_all(method_arn),
            "context": {"userId": record.user_id, "username": record.username, "revoked": True},
        }
    return {
        "principalId": str(record.user_id),
        "policyDocument": policy(method_arn, record.permissions),
        "context": {
            "userId": record.user_id,
            "username": record.username,
            "permissions": ",".join(sorted(p.value for p in record.permissions)),
        },
    }


# ---- facade reads and writes ------------------------------------------------------------


def _legacy_source(
    deps: Deps, endpoint: str, params: dict[str, str], token: str
) -> Future[Any] | PendingCall:
    """Start a legacy call that runs while this thread does other work: sent at once on a
    connection of its own when the transport can (no thread hand-off), else on the pool."""
    if deps.legacy.can_start:
        return deps.legacy.start_json(endpoint, params, token)
    return deps.pool.submit(deps.legacy.get_json, endpoint, params, token)


def customer_overview(customer_id: str, token: str, deps: Deps) -> dict[str, Any]:
    """Profile and orders from the legacy API (concurrently) + loyalty from the reader.

    A legacy source that fails makes the answer partial (``partial: true`` and one error per
    failed source); the legacy API saying "no such customer" is NotFoundError; the database
    being down is DatabaseUnavailableError (503), whatever the legacy API said.
    """
    params = {"id": customer_id}
    # orders started first (sent at once, or on a pool thread), then loyalty and the profile
    # on this thread: both legacy calls run at the same time.
    orders_f = _legacy_source(deps, CUSTOMER_ORDERS, params, token)
    failures: list[answers.SourceFailure] = []
    profile: dict[str, Any] | None = None
    orders: list[dict[str, Any]] | None = None
    not_found = False
    try:
        loyalty = store.loyalty(deps.engines.reader, customer_id)
        try:
            profile = answers.profile_from_legacy(deps.legacy.get_json(CUSTOMER, params, token))
        except LegacyNotFoundError:
            not_found = True
        except LegacyError as exc:
            failures.append(answers.SourceFailure("legacy.customer", exc.kind, str(exc)))
        except answers.LegacyShapeError as exc:
            failures.append(answers.SourceFailure("legacy.customer", "bad_response", str(exc)))
    except BaseException:
        orders_f.cancel()
        raise
    try:
        orders = answers.orders_from_legacy(orders_f.result())
    except LegacyNotFoundError:
        not_found = True
    except LegacyError as exc:
        failures.append(answers.SourceFailure("legacy.orders", exc.kind, str(exc)))
    except answers.LegacyShapeError as exc:
        failures.append(answers.SourceFailure("legacy.orders", "bad_response", str(exc)))
    if not_found:
        raise NotFoundError(f"customer {customer_id} not found")
    return answers.overview(
        customer_id, profile=profile, orders=orders, loyalty=loyalty, failures=failures
    )


def customer_notes(customer_id: str, deps: Deps) -> list[dict[str, Any]]:
    """The customer's notes: a critical read (read-your-writes), so from the WRITER."""
    if not store.customer_exists(deps.engines.writer, customer_id):
        raise NotFoundError(f"customer {customer_id} not found")
    return store.notes(deps.engines.writer, customer_id)


def add_note(customer_id: str, author_id: int, text: str, deps: Deps) -> dict[str, Any]:
    """Add a note to the customer (writer, one transaction with its audit row)."""
    try:
        return store.add_note(deps.engines.writer, customer_id, author_id, text, deps.clock.now())
    except UnknownCustomerError as exc:
        raise NotFoundError(f"customer {customer_id} not found") from exc


def products(token: str, deps: Deps) -> list[dict[str, Any]]:
    """The product catalogue (static data) from the legacy API."""
    try:
        return answers.products_from_legacy(deps.legacy.get_json(PRODUCTS, {}, token))
    except (LegacyError, answers.LegacyShapeError) as exc:
        kind = getattr(exc, "kind", "bad_response")
        raise LegacyUnavailableError(f"legacy products unavailable: {kind}") from exc


def countries(deps: Deps) -> list[dict[str, str]]:
    """Reference data (static): countries and currencies, from the reader."""
    return store.countries(deps.engines.reader)
