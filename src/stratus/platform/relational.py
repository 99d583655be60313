"""Relational data (the spec's Aurora/RDS PostgreSQL): one way for every solution.

A solution gets its :class:`Engines` from :func:`engines` and applies its Alembic
migrations with :func:`upgrade`; the same SQLAlchemy code then runs on

* AWS: the Aurora/RDS writer endpoint and, when configured, a reader endpoint;
* local: a SQLite file under ``STRATUS_HOME/db/`` (WAL, foreign keys on) by default, or any
  PostgreSQL URL a user points at.

:func:`database_unavailable` tells a handler whether an exception means "the database is
down" (retry later / 503) rather than a bug or bad data.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import URL, Engine, make_url

_SQLITE_NOT_AN_OUTAGE = ("no such table", "no such column", "syntax error", "has no column")


@dataclass(frozen=True)
class Engines:
    """The writer engine and the reader engine (the same object when there is no reader)."""

    writer: Engine
    reader: Engine

    def dispose(self) -> None:
        """Close every pooled connection of both engines."""
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def normalise_url(url: str) -> URL:
    """``postgres://`` and ``postgresql://`` use the psycopg 3 driver; others are unchanged."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def _engine(url: URL) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def engines(
    writer_url: str | None,
    reader_url: str | None = None,
    *,
    home: Path,
    name: str,
) -> Engines:
    """Engines for ``writer_url`` (and ``reader_url``), or the default SQLite file.

    Without a writer URL the database is ``home/db/<name>.sqlite3`` (created on first
    connection). Without a reader URL reads go to the writer, as they do on a single
    RDS instance. Every engine pings pooled connections before use (``pool_pre_ping``), so
    a failover or a restarted server costs one reconnect instead of an error.
    """
    if writer_url:
        writer_parsed = normalise_url(writer_url)
    else:
        directory = Path(home) / "db"
        directory.mkdir(parents=True, exist_ok=True)
        writer_parsed = URL.create("sqlite", database=str(directory / f"{name}.sqlite3"))
    writer = _engine(writer_parsed)
    reader = _engine(normalise_url(reader_url)) if reader_url else writer
    return Engines(writer=writer, reader=reader)


def upgrade(engine: Engine, script_location: str | Path, revision: str = "head") -> None:
    """Apply the Alembic migrations of ``script_location`` up to ``revision``.

    Runs without an ini file and without the directory's ``env.py``: only its
    ``versions/`` scripts are used. Alembic applies all pending revisions in one transaction:
    on PostgreSQL (transactional DDL) a failing revision leaves the schema as it was; on
    SQLite some DDL of the failing revision may remain.
    """
    config = Config()
    config.set_main_option("script_location", str(script_location))
    script = ScriptDirectory.from_config(config)

    def migrate(current: Any, _context: Any) -> Any:
        # What ``alembic upgrade`` itself does (alembic.command.upgrade).
        return script._upgrade_revs(revision, current)

    with (
        EnvironmentContext(config, script, fn=migrate, destination_rev=revision) as env,
        engine.connect() as connection,
    ):
        env.configure(connection=connection)
        with env.begin_transaction():
            env.run_migrations()
        if connection.in_transaction():
            connection.commit()


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached or used right now.

    OperationalError / InterfaceError / DisconnectionError / pool timeouts count; SQLite
    reports some programming errors (missing table or column, syntax) as OperationalError
    too, and those do not."""
    if isinstance(error, exc.OperationalError):
        original = error.orig
        if isinstance(original, sqlite3.OperationalError):
            message = str(original).lower()
            return not any(marker in message for marker in _SQLITE_NOT_AN_OUTAGE)
        return True
    return isinstance(error, exc.InterfaceError | exc.DisconnectionError | exc.TimeoutError)


__all__ = ["Engines", "database_unavailable", "engines", "normalise_url", "upgrade"]
