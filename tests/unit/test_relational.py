"""The shared relational module: engines, Alembic migrations and outage classification,
on a SQLite file and (when STRATUS_TEST_POSTGRES_URL is set) on PostgreSQL."""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, exc, inspect, text

from stratus.platform.relational import (
    Engines,
    database_unavailable,
    engines,
    normalise_url,
    upgrade,
)

MIGRATIONS = Path(__file__).parent / "relational_migrations"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engines]:
    """Empty engines: a SQLite file in tmp_path, or a fresh schema on the test PostgreSQL."""
    if request.param == "sqlite":
        result = engines(None, home=tmp_path, name="test")
        yield result
        result.dispose()
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"stratus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    result = engines(url, home=tmp_path, name="test")
    try:
        yield result
    finally:
        result.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def tables(db: Engines) -> set[str]:
    return set(inspect(db.writer).get_table_names())


def version(db: Engines) -> str:
    with db.reader.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


# -- engines ---------------------------------------------------------------------------


def test_without_a_url_the_database_is_a_sqlite_file_under_home(tmp_path: Path) -> None:
    db = engines(None, home=tmp_path, name="costs")
    with db.writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))

    assert (tmp_path / "db" / "costs.sqlite3").is_file()
    assert db.reader is db.writer
    db.dispose()


def test_the_default_sqlite_database_uses_wal_and_enforces_foreign_keys(tmp_path: Path) -> None:
    db = engines(None, home=tmp_path, name="x")

    with db.writer.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    db.dispose()


def test_a_reader_url_gets_its_own_engine(tmp_path: Path) -> None:
    db = engines(
        f"sqlite:///{tmp_path / 'w.sqlite3'}",
        f"sqlite:///{tmp_path / 'r.sqlite3'}",
        home=tmp_path,
        name="x",
    )

    assert db.reader is not db.writer
    assert db.reader.url.database == str(tmp_path / "r.sqlite3")
    db.dispose()


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:p@db.example:5432/app", "postgres://u:p@db.example:5432/app"],
)
def test_postgresql_urls_use_the_psycopg_3_driver(tmp_path: Path, url: str) -> None:
    db = engines(url, url.replace("db.example", "ro.example"), home=tmp_path, name="x")

    assert db.writer.url.drivername == "postgresql+psycopg"
    assert db.reader.url.drivername == "postgresql+psycopg"
    assert db.reader.url.host == "ro.example"
    assert not (tmp_path / "db").exists()


def test_an_explicit_driver_is_kept() -> None:
    assert normalise_url("postgresql+psycopg2://h/db").drivername == "postgresql+psycopg2"


# -- migrations ------------------------------------------------------------------------


def test_upgrade_to_head_applies_every_revision(db: Engines) -> None:
    upgrade(db.writer, MIGRATIONS)

    assert {"accounts", "invoices", "alembic_version"} <= tables(db)
    assert version(db) == "0002"


def test_upgrade_can_stop_at_a_revision_and_continue_later(db: Engines) -> None:
    upgrade(db.writer, MIGRATIONS, "0001")
    assert "invoices" not in tables(db)
    assert version(db) == "0001"

    upgrade(db.writer, str(MIGRATIONS))

    assert "invoices" in tables(db)
    assert version(db) == "0002"


def test_upgrading_twice_changes_nothing(db: Engines) -> None:
    upgrade(db.writer, MIGRATIONS)
    with db.writer.begin() as conn:
        conn.execute(text("INSERT INTO accounts (name) VALUES ('acme')"))

    upgrade(db.writer, MIGRATIONS)

    with db.reader.connect() as conn:
        rows = conn.execute(text("SELECT name, currency FROM accounts")).all()
    assert [tuple(r) for r in rows] == [("acme", "EUR")]


def test_foreign_keys_are_enforced(db: Engines) -> None:
    upgrade(db.writer, MIGRATIONS)

    with pytest.raises(exc.IntegrityError), db.writer.begin() as conn:
        conn.execute(text("INSERT INTO invoices (account_id, amount_cents) VALUES (42, 100)"))


def test_data_survives_reopening_the_sqlite_file(tmp_path: Path) -> None:
    first = engines(None, home=tmp_path, name="app")
    upgrade(first.writer, MIGRATIONS)
    with first.writer.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, name) VALUES (1, 'acme')"))
        conn.execute(text("INSERT INTO invoices (account_id, amount_cents) VALUES (1, 1999)"))
    first.dispose()

    again = engines(None, home=tmp_path, name="app")

    with again.reader.connect() as conn:
        total = conn.execute(text("SELECT SUM(amount_cents) FROM invoices")).scalar_one()
    assert total == 1999
    again.dispose()


# -- outage classification ---------------------------------------------------------------


def test_an_unreachable_server_counts_as_the_database_being_unavailable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = engines(
        f"postgresql://u:p@127.0.0.1:{port}/nope?connect_timeout=5", home=tmp_path, name="x"
    )

    with pytest.raises(exc.SQLAlchemyError) as caught, db.writer.connect():
        pass

    assert database_unavailable(caught.value)


def test_a_locked_sqlite_database_counts_as_unavailable() -> None:
    error = exc.OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))

    assert database_unavailable(error)


def test_a_missing_table_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    db = engines(None, home=tmp_path, name="x")

    with pytest.raises(exc.OperationalError) as caught, db.reader.connect() as conn:
        conn.execute(text("SELECT * FROM missing"))

    assert not database_unavailable(caught.value)
    db.dispose()


@pytest.mark.parametrize(
    "error",
    [
        exc.IntegrityError("INSERT", {}, Exception("duplicate")),
        exc.ProgrammingError("SELECT", {}, Exception("syntax")),
        ValueError("not a database error"),
    ],
)
def test_other_errors_are_not_outages(error: BaseException) -> None:
    assert not database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        exc.InterfaceError("connect", {}, Exception("connection closed")),
        exc.DisconnectionError("gone"),
        exc.TimeoutError("QueuePool limit reached"),
    ],
)
def test_interface_disconnection_and_pool_timeouts_are_outages(error: BaseException) -> None:
    assert database_unavailable(error)
