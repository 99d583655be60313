"""Queries of the facade database (SQLAlchemy Core; SQLite or PostgreSQL).

Errors are translated: when the database cannot be reached or used,
:class:`DatabaseUnavailableError` (the facade answers 503 with Retry-After).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from stratus.platform.relational import database_unavailable
from stratus.solutions.facade import db
from stratus.solutions.facade.domain.permissions import TokenRecord, parse_permissions

T = TypeVar("T")


class DatabaseUnavailableError(Exception):
    """The database cannot be reached or used right now; retry later."""


class UnknownCustomerError(LookupError):
    """No customer with this id."""


@contextmanager
def _guard() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        if database_unavailable(exc):
            raise DatabaseUnavailableError(str(exc).splitlines()[0]) from exc
        raise


def _read(engine: Engine, work: Callable[[Connection], T]) -> T:
    with _guard(), engine.connect() as conn:
        return work(conn)


def _write(engine: Engine, work: Callable[[Connection], T]) -> T:
    with _guard(), engine.begin() as conn:
        return work(conn)


def token_record(engine: Engine, token: str) -> TokenRecord | None:
    """The stored token (by hash) with its user's permissions, or None."""

    def work(conn: Connection) -> TokenRecord | None:
        row = conn.execute(
            select(
                db.tokens.c.user_id,
                db.tokens.c.expires_at,
                db.tokens.c.revoked_at,
                db.users.c.username,
            )
            .join(db.users, db.users.c.id == db.tokens.c.user_id)
            .where(db.tokens.c.token_hash == db.token_hash(token))
        ).first()
        if row is None:
            return None
        perms = conn.execute(
            select(db.permissions.c.permission).where(db.permissions.c.user_id == row.user_id)
        ).scalars()
        return TokenRecord(
            user_id=int(row.user_id),
            username=str(row.username),
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            permissions=parse_permissions(perms),
        )

    return _read(engine, work)


# Built once: the overview runs this on every request, and building a statement (and its
# cache key) costs more than executing it on SQLite.
_LOYALTY = select(db.loyalty).where(db.loyalty.c.customer_id == bindparam("customer_id"))


def loyalty(engine: Engine, customer_id: str) -> dict[str, Any] | None:
    """The customer's loyalty tier and points, or None when they have none."""

    def work(conn: Connection) -> dict[str, Any] | None:
        row = conn.execute(_LOYALTY, {"customer_id": customer_id}).first()
        if row is None:
            return None
        return {"tier": row.tier, "points": row.points, "updatedAt": row.updated_at.isoformat()}

    return _read(engine, work)


def customer_exists(engine: Engine, customer_id: str) -> bool:
    """Whether the customer exists."""
    return _read(
        engine,
        lambda conn: (
            conn.execute(select(func.count()).where(db.customers.c.id == customer_id)).scalar_one()
            > 0
        ),
    )


def notes(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    """The customer's notes, newest first."""

    def work(conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(db.notes, db.users.c.username)
            .join(db.users, db.users.c.id == db.notes.c.author_id)
            .where(db.notes.c.customer_id == customer_id)
            .order_by(db.notes.c.created_at.desc(), db.notes.c.id.desc())
        ).all()
        return [
            {
                "id": r.id,
                "text": r.text,
                "author": r.username,
                "createdAt": r.created_at.isoformat(),
            }
            for r in rows
        ]

    return _read(engine, work)


def add_note(
    engine: Engine, customer_id: str, author_id: int, text: str, now: datetime
) -> dict[str, Any]:
    """Store a note (and an audit row) in one transaction; UnknownCustomerError if none."""

    def work(conn: Connection) -> dict[str, Any]:
        exists = conn.execute(
            select(func.count()).where(db.customers.c.id == customer_id)
        ).scalar_one()
        if not exists:
            raise UnknownCustomerError(customer_id)
        note_id = conn.execute(
            insert(db.notes)
            .values(customer_id=customer_id, author_id=author_id, text=text, created_at=now)
            .returning(db.notes.c.id)
        ).scalar_one()
        conn.execute(
            insert(db.audit).values(
                at=now, user_id=author_id, action="note.added", detail=f"{customer_id}:{note_id}"
            )
        )
        return {"id": note_id, "text": text, "createdAt": now.isoformat()}

    return _write(engine, work)


def countries(engine: Engine) -> list[dict[str, str]]:
    """Reference data: countries and their currencies, by code."""
    return _read(
        engine,
        lambda conn: [
            {"code": r.code, "name": r.name, "currency": r.currency}
            for r in conn.execute(select(db.countries).order_by(db.countries.c.code))
        ],
    )
