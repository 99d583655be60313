"""The demo legacy API: deliberately old-fashioned, slow on demand, failing on demand.

What makes it "legacy": upper-case column names, prices as decimal strings, one resource per
call (the profile and the orders of a customer need two calls), no loyalty data at all, and
bearer tokens checked against the database on every request.

``GET  /api/v1/customer?id=C1``         ``{"CUST_ID", "CUST_NAME", "EMAIL", "PHONE", "CTRY"}``
``GET  /api/v1/customer/orders?id=C1``  ``{"ORDERS": [{"ORDER_NO", "ORDER_DATE", ...}]}``
``GET  /api/v1/products``               ``[{"SKU", "DESCR", "PRICE"}]``
``GET|PUT /_admin/faults``              latency, slow and error rates, down (no auth: local)

Faults (:class:`Faults`): every request waits ``latency_ms``; a ``slow_rate`` fraction waits
``slow_ms`` instead; an ``error_rate`` fraction answers 500; ``down`` answers 503 at once.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from stratus.platform.runtime.apigateway import HttpRequest, HttpResponse
from stratus.solutions.facade import db


@dataclass(frozen=True)
class Faults:
    """The legacy API's configurable misbehaviour."""

    latency_ms: float = 150.0
    slow_rate: float = 0.0
    slow_ms: float = 3000.0
    error_rate: float = 0.0
    down: bool = False

    def validated(self) -> Faults:
        """Itself, or ValueError naming the bad setting."""
        for name in ("latency_ms", "slow_ms"):
            if not 0 <= getattr(self, name) <= 60_000:
                raise ValueError(f"{name}: between 0 and 60000")
        for name in ("slow_rate", "error_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: between 0 and 1")
        return self


def _json(status: int, body: Any, **headers: str) -> HttpResponse:
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), *headers.items()],
        json.dumps(body).encode(),
    )


class LegacyService:
    """The legacy API over the facade database; ``handle`` needs no sockets."""

    def __init__(
        self,
        engine: Engine,
        faults: Faults | None = None,
        *,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self._faults = (faults or Faults()).validated()
        self._rng = rng
        self._sleep = sleep
        self._now = now
        self._lock = threading.Lock()
        self.requests = 0

    @property
    def faults(self) -> Faults:
        """The current fault settings."""
        with self._lock:
            return self._faults

    def set_faults(self, **changes: Any) -> Faults:
        """Change some fault settings; ValueError for an unknown or bad one."""
        known = {f.name: f.type for f in fields(Faults)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        cast: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "down":
                if not isinstance(value, bool):
                    raise ValueError("down: true or false")
                cast[key] = value
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key}: a number")
            else:
                cast[key] = float(value)
        with self._lock:
            self._faults = replace(self._faults, **cast).validated()
            return self._faults

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request (sleeping for the configured latency first)."""
        delay = self.delay(request)
        if isinstance(delay, HttpResponse):
            return delay
        if delay > 0:
            self._sleep(delay)
        return self.answer(request)

    def delay(self, request: HttpRequest) -> float | HttpResponse:
        """First half of :meth:`handle`: the seconds to wait before :meth:`answer`, or the
        response itself when there is nothing to wait for (admin, down). An asynchronous
        server waits without holding a thread (``legacy.server.serve_async``)."""
        path = request.path.rstrip("/") or "/"
        if path == "/_admin/faults":
            return self._admin(request)
        with self._lock:
            self.requests += 1
            faults = self._faults
        if faults.down:
            return _json(503, {"ERROR": "SERVICE UNAVAILABLE"}, **{"Retry-After": "30"})
        delay = faults.slow_ms if self._rng() < faults.slow_rate else faults.latency_ms
        return max(0.0, delay / 1000)

    def answer(self, request: HttpRequest) -> HttpResponse:
        """Second half of :meth:`handle`, once the latency has passed."""
        path = request.path.rstrip("/") or "/"
        with self._lock:
            faults = self._faults
        if self._rng() < faults.error_rate:
            return _json(500, {"ERROR": "ORA-00600 INTERNAL ERROR"})
        if request.method.upper() != "GET":
            return _json(405, {"ERROR": "METHOD NOT ALLOWED"})
        try:
            with self.engine.connect() as conn:  # one pooled connection per request
                if not self._authorised(conn, request):
                    return _json(401, {"ERROR": "INVALID TOKEN"})
                query = dict(parse_qsl(request.query))
                if path == "/api/v1/customer":
                    return self._customer(conn, query.get("id", ""))
                if path == "/api/v1/customer/orders":
                    return self._orders(conn, query.get("id", ""))
                if path == "/api/v1/products":
                    return self._products(conn)
        except SQLAlchemyError:
            return _json(500, {"ERROR": "DATABASE ERROR"})
        return _json(404, {"ERROR": "NO SUCH SERVICE"})

    def _admin(self, request: HttpRequest) -> HttpResponse:
        if request.method.upper() == "GET":
            return _json(200, asdict(self.faults))
        if request.method.upper() not in ("PUT", "POST"):
            return _json(405, {"message": "GET or PUT"})
        try:
            changes = json.loads(request.body or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("a JSON object of settings")
            return _json(200, asdict(self.set_faults(**changes)))
        except ValueError as exc:
            return _json(400, {"message": str(exc)})

    def _authorised(self, conn: Connection, request: HttpRequest) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        row = conn.execute(
            select(db.tokens.c.expires_at, db.tokens.c.revoked_at).where(
                db.tokens.c.token_hash == db.token_hash(token.strip())
            )
        ).first()
        now = self._now()
        return row is not None and row.revoked_at is None and row.expires_at > now

    def _customer(self, conn: Connection, customer_id: str) -> HttpResponse:
        if not customer_id:
            return _json(400, {"ERROR": "ID REQUIRED"})
        row = conn.execute(select(db.customers).where(db.customers.c.id == customer_id)).first()
        if row is None:
            return _json(404, {"ERROR": "CUSTOMER NOT FOUND"})
        return _json(
            200,
            {
                "CUST_ID": row.id,
                "CUST_NAME": row.name.upper(),
                "EMAIL": row.email,
                "PHONE": row.phone,
                "CTRY": row.country_code,
            },
        )

    def _orders(self, conn: Connection, customer_id: str) -> HttpResponse:
        if not customer_id:
            return _json(400, {"ERROR": "ID REQUIRED"})
        exists = conn.execute(
            select(db.customers.c.id).where(db.customers.c.id == customer_id)
        ).first()
        if exists is None:
            return _json(404, {"ERROR": "CUSTOMER NOT FOUND"})
        rows = conn.execute(select(db.orders).where(db.orders.c.customer_id == customer_id)).all()
        return _json(
            200,
            {
                "ORDERS": [
                    {
                        "ORDER_NO": r.id,
                        "ORDER_DATE": r.placed_at.strftime("%Y-%m-%d %H:%M:%S"),
                        "STATUS": r.status.upper(),
                        "TOTAL": f"{r.total_cents / 100:.2f}",
                    }
                    for r in rows
                ]
            },
        )

    def _products(self, conn: Connection) -> HttpResponse:
        rows = conn.execute(select(db.products).order_by(db.products.c.sku)).all()
        return _json(
            200,
            [
                {"SKU": r.sku, "DESCR": r.description, "PRICE": f"{r.price_cents / 100:.2f}"}
                for r in rows
            ],
        )
