"""The facade database: the legacy application's tables and the facade's own tables.

The same SQLAlchemy Core code runs on SQLite (local default) and PostgreSQL (Aurora writer
and reader). The schema is created by the Alembic migrations in ``migrations/versions``;
the :data:`metadata` here is what the code queries (a unit test checks both agree).

Legacy tables (the legacy API reads them; bearer tokens are stored as SHA-256 hashes):
``legacy_users``, ``legacy_permissions``, ``legacy_tokens``, ``legacy_customers``,
``legacy_orders``, ``legacy_products``. Facade tables (what the legacy API does not give
the new frontend): ``facade_loyalty``, ``facade_notes``, ``facade_countries``,
``facade_audit``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back tz-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a tz-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)


metadata = MetaData()

users = Table(
    "legacy_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("email", String(255), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

permissions = Table(
    "legacy_permissions",
    metadata,
    Column("user_id", Integer, ForeignKey("legacy_users.id"), primary_key=True),
    Column("permission", String(64), primary_key=True),
)

tokens = Table(
    "legacy_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("legacy_users.id"), nullable=False, index=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

customers = Table(
    "legacy_customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(255), nullable=False, unique=True),
    Column("phone", String(40), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

orders = Table(
    "legacy_orders",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "customer_id", String(32), ForeignKey("legacy_customers.id"), nullable=False, index=True
    ),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("total_cents", Integer, nullable=False),
)

products = Table(
    "legacy_products",
    metadata,
    Column("sku", String(32), primary_key=True),
    Column("description", String(200), nullable=False),
    Column("price_cents", Integer, nullable=False),
)

loyalty = Table(
    "facade_loyalty",
    metadata,
    Column("customer_id", String(32), ForeignKey("legacy_customers.id"), primary_key=True),
    Column("tier", String(20), nullable=False),
    Column("points", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

notes = Table(
    "facade_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "customer_id", String(32), ForeignKey("legacy_customers.id"), nullable=False, index=True
    ),
    Column("author_id", Integer, ForeignKey("legacy_users.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

countries = Table(
    "facade_countries",
    metadata,
    Column("code", String(2), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
)

audit = Table(
    "facade_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("user_id", Integer, nullable=False),
    Column("action", String(100), nullable=False),
    Column("detail", Text, nullable=False),
)


def token_hash(token: str) -> str:
    """How a bearer token is stored: the hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
