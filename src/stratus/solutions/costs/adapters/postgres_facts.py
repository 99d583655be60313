"""PostgreSQL fact store (Aurora PostgreSQL on AWS), through SQLAlchemy engines from
:mod:`stratus.platform.relational`. The schema is created idempotently on first use, in the
schema the URL's ``search_path`` names (tests use a unique schema each)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from stratus.platform.relational import engines
from stratus.solutions.costs.adapters.sqlfacts import (
    FACT_COLUMNS,
    SqlFactStore,
    chunked,
    schema,
)
from stratus.solutions.costs.ports import FactStoreError, LoadRef


def _named(sql: str) -> tuple[str, list[str]]:
    """``?`` placeholders → ``:p0, :p1, ...``."""
    parts = sql.split("?")
    names = [f"p{i}" for i in range(len(parts) - 1)]
    out = parts[0]
    for name, part in zip(names, parts[1:], strict=True):
        out += f":{name}{part}"
    return out, names


class PostgresFactStore(SqlFactStore):
    """FactStore on PostgreSQL."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        if engine is None:
            if not url:
                raise ValueError("a PostgreSQL URL or engine is required")
            engine = engines(url, home=Path("."), name="costs").writer
        self.engine = engine
        try:
            with engine.begin() as conn:
                for statement in schema("TEXT", "TIMESTAMPTZ"):
                    conn.execute(text(statement))
        except SQLAlchemyError as error:
            raise FactStoreError(f"cannot prepare the PostgreSQL fact store: {error}") from error
        columns = ", ".join(FACT_COLUMNS)
        values = ", ".join(f":{c}" for c in FACT_COLUMNS)
        self._insert = text(f"INSERT INTO cost_facts ({columns}) VALUES ({values})")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as error:
            raise FactStoreError(f"PostgreSQL conflict: {error.orig}", conflict=True) from error
        except OperationalError as error:
            conflict = getattr(getattr(error.orig, "sqlstate", None), "startswith", None)
            is_conflict = bool(conflict and conflict("40"))
            raise FactStoreError(f"PostgreSQL: {error.orig}", conflict=is_conflict) from error
        except (DBAPIError, SQLAlchemyError) as error:
            raise FactStoreError(f"PostgreSQL: {error}") from error

    def _exec(self, handle: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        named, names = _named(sql)
        result = handle.execute(text(named), dict(zip(names, params, strict=True)))
        if not result.returns_rows:
            return []
        return [tuple(row) for row in result]

    def _insert_facts(self, handle: Any, values: list[tuple[Any, ...]]) -> None:
        for part in chunked(values, 1000):
            handle.execute(self._insert, [dict(zip(FACT_COLUMNS, v, strict=True)) for v in part])

    def write_chunk_csv(
        self, load: LoadRef, chunk_no: int, provider: str, header: Sequence[str], data: bytes
    ) -> bool | None:
        """No in-store normalisation on PostgreSQL: the ETL normalises in Python."""
        return None

    def _tag_expression(self) -> str:
        return "(CAST(f.tags AS JSONB) ->> ?)"

    def close(self) -> None:
        """Dispose of the engine's pool."""
        self.engine.dispose()
