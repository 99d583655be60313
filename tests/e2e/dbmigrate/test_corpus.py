"""Corpus evaluation: Chinook and Northwind install scripts into PostgreSQL.

Needs ../shared/data (skips visibly without it) and STRATUS_TEST_POSTGRES_URL. Chinook is
checked against its published PostgreSQL port and its SQLite copy; Northwind against the
numbers the issue gives (13 tables, 3,308 rows, revenue 1,265,793.04).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import Result

from stratus.solutions.dbmigrate.domain.model import TargetTable
from stratus.solutions.dbmigrate.domain.translate import Options
from stratus.solutions.dbmigrate.postgres import PostgresTarget, conninfo
from stratus.solutions.dbmigrate.service import plan, table_checksum
from stratus.solutions.dbmigrate.sources import ScriptSource
from tests.functional.dbmigrate.conftest import pg_rows

pytestmark = [pytest.mark.corpus, pytest.mark.postgres, pytest.mark.slow]
Migrate = Callable[..., Result]


@pytest.fixture
def chinook_reference(postgres_url: str, shared_data: Path) -> Iterator[str]:
    """The published Chinook PostgreSQL database, loaded from its script into a new database."""
    script = (shared_data / "migration/chinook/Chinook_PostgreSql.sql").read_text(encoding="utf-8")
    body = script.split("\\c chinook;", 1)[1]
    admin = conninfo(postgres_url)
    name = f"stratus_dbm_ref_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(conninfo(url), autocommit=True) as connection:
        connection.execute(body.encode())
    yield url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


COLUMNS = (
    "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, "
    "numeric_scale, is_nullable FROM information_schema.columns WHERE table_schema = 'public' "
    "AND table_name <> 'flyway_schema_history' ORDER BY 1, 2"
)


def _rstripped(table: TargetTable) -> TargetTable:
    """The same table with varchar columns compared as char (trailing blanks ignored)."""
    from dataclasses import replace

    columns = tuple(replace(c, pg_type=c.pg_type.replace("varchar", "char")) for c in table.columns)
    return replace(table, columns=columns)


def _checksums(url: str, tables: tuple[TargetTable, ...], *, blanks: bool) -> dict[str, Any]:
    target = PostgresTarget(url)
    return {t.name: table_checksum(t if blanks else _rstripped(t), target.rows(t)) for t in tables}


def test_chinook_tsql_matches_the_published_postgresql_database(
    migrate: Migrate, pg_url: str, chinook_reference: str, shared_data: Path
) -> None:
    script = str(shared_data / "migration/chinook/Chinook_SqlServer.sql")
    result = migrate("full", "--source", script, "--target", pg_url)
    assert result.exit_code == 0, result.output
    assert "11 tables, 15607 rows loaded" in result.output

    # same tables and column types (snake_case policy = the port's naming)
    assert pg_rows(pg_url, COLUMNS) == pg_rows(chinook_reference, COLUMNS)

    tables = plan(ScriptSource(Path(script)), Options()).tables
    ours = _checksums(pg_url, tables, blanks=True)
    published = _checksums(chinook_reference, tables, blanks=True)
    differing = {name for name in ours if ours[name] != published[name]}
    # The published port trims one trailing blank the SQL Server script has
    # ("Edinburgh " in Customer 54 and its Invoice 20): nothing else differs.
    assert differing == {"customer", "invoice"}
    assert _checksums(pg_url, tables, blanks=False) == _checksums(
        chinook_reference, tables, blanks=False
    )
    assert pg_rows(pg_url, "SELECT city FROM customer WHERE customer_id = 54") == [("Edinburgh ",)]


def test_chinook_tsql_migration_verifies_against_the_sqlite_copy(
    migrate: Migrate, pg_url: str, shared_data: Path
) -> None:
    chinook = shared_data / "migration/chinook"
    assert migrate("full", "--source", str(chinook / "Chinook_SqlServer.sql"), "--target",
                   pg_url).exit_code == 0  # fmt: skip
    result = migrate("verify", "--source", f"sqlite:///{chinook / 'Chinook_Sqlite.sqlite'}",
                     "--target", pg_url)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "verify passed: 11 tables match" in result.output


def test_chinook_with_autoincrement_keys_numbers_rows_like_sql_server(
    migrate: Migrate, pg_url: str, shared_data: Path
) -> None:
    chinook = shared_data / "migration/chinook"
    result = migrate("full", "--source", str(chinook / "Chinook_SqlServer_AutoIncrementPKs.sql"),
                     "--target", pg_url)  # fmt: skip
    assert result.exit_code == 0, result.output
    verified = migrate("verify", "--source", f"sqlite:///{chinook / 'Chinook_Sqlite.sqlite'}",
                       "--target", pg_url)  # fmt: skip
    assert verified.exit_code == 0, verified.output
    assert pg_rows(pg_url, "INSERT INTO genre (name) VALUES ('x') RETURNING genre_id") == [(26,)]


def test_northwind_migrates_whole_with_constraints_indexes_views_and_revenue(
    migrate: Migrate, pg_url: str, shared_data: Path
) -> None:
    script = str(shared_data / "migration/northwind/instnwnd.sql")
    result = migrate("full", "--source", script, "--target", pg_url)
    assert result.exit_code == 0, result.output
    assert "13 tables, 3308 rows loaded" in result.output
    assert result.output.count("procedural code is not translated") == 7

    constraints = pg_rows(
        pg_url,
        "SELECT contype, count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = "
        "c.connamespace WHERE nspname = 'public' AND conrelid::regclass::text <> "
        "'flyway_schema_history' GROUP BY 1 ORDER BY 1",
    )
    assert constraints == [("c", 8), ("f", 13), ("p", 13)]
    indexes = pg_rows(
        pg_url,
        "SELECT count(*) FROM pg_indexes i WHERE schemaname = 'public' AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    assert indexes == [(26,)]
    # the index "Region" on Customers cannot share the table Region's name in PostgreSQL
    assert pg_rows(pg_url, "SELECT tablename FROM pg_indexes WHERE indexname = 'region_idx'") == [
        ("customers",)
    ]
    revenue = pg_rows(
        pg_url,
        "SELECT round(sum(unit_price * quantity * (1 - discount::numeric)), 2) FROM order_details",
    )
    assert revenue == [(Decimal("1265793.04"),)]
    views = pg_rows(pg_url, "SELECT count(*) FROM information_schema.views "
                            "WHERE table_schema = 'public'")  # fmt: skip
    assert views == [(16,)]
    assert pg_rows(pg_url, "SELECT count(*) FROM invoices") == [(2155,)]

    verified = migrate("verify", "--source", script, "--target", pg_url)
    assert verified.exit_code == 0, verified.output
