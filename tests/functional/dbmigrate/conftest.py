"""Fresh databases per test: PostgreSQL targets and MariaDB sources, dropped at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from stratus.cli import main
from stratus.solutions.dbmigrate.postgres import conninfo

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (SQLAlchemy URL), dropped after the test."""
    admin = conninfo(postgres_url)
    name = f"stratus_dbm_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    base = postgres_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pg_rows(url: str, query: str) -> list[tuple[object, ...]]:
    """Rows of one query on the database at ``url``."""
    with psycopg.connect(conninfo(url)) as connection:
        return connection.execute(query.encode()).fetchall()


def pg_execute(url: str, statement: str) -> None:
    """Run one statement (committed) on the database at ``url``."""
    with psycopg.connect(conninfo(url), autocommit=True) as connection:
        connection.execute(statement.encode())


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A new MariaDB/MySQL database (STRATUS_TEST_MYSQL_URL, default root@127.0.0.1:3306),
    dropped after the test; skips when the server is not reachable."""
    pymysql = pytest.importorskip("pymysql")
    base = os.environ.get("STRATUS_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
    from sqlalchemy.engine import make_url

    parsed = make_url(base)
    params = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 3306,
        "user": parsed.username or "root",
        "password": parsed.password or "",
    }
    try:
        admin = pymysql.connect(**params, autocommit=True)
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"MariaDB/MySQL not reachable at {parsed.host}:{parsed.port}: {exc}")
    name = f"stratus_dbm_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield str(parsed.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


@pytest.fixture
def migrate() -> Callable[..., Result]:
    """``stratus migrate ARGS`` in process."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["migrate", *args], catch_exceptions=False)

    return run
