"""`stratus migrate` with a T-SQL script source into a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result

from tests.functional.dbmigrate.conftest import FIXTURES, pg_execute, pg_rows

pytestmark = pytest.mark.postgres

SHOP = str(FIXTURES / "shop.sql")
BROKEN = str(FIXTURES / "broken.sql")
Migrate = Callable[..., Result]


def test_full_load_creates_schema_data_constraints_views_and_identities(
    migrate: Migrate, pg_url: str
) -> None:
    result = migrate("full", "--source", SHOP, "--target", pg_url)
    assert result.exit_code == 0, result.output
    assert "3 tables, 10 rows loaded" in result.output
    assert "procedure Orders Of" in result.output  # reported, not silently dropped

    assert pg_rows(pg_url, "SELECT name, is_active FROM customer ORDER BY customer_id") == [
        ("Ann's Deli", True), ("Bob", False), ("Çelik /* not a comment */", True), ("Dee", True),
    ]  # fmt: skip
    assert pg_rows(pg_url, "SELECT freight FROM orders ORDER BY order_id") == [
        (Decimal("32.3800"),), (Decimal("0.0000"),), (Decimal("0.0000"),), (Decimal("1234.5678"),),
    ]  # fmt: skip
    constraints = pg_rows(
        pg_url,
        "SELECT contype, count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = "
        "c.connamespace WHERE nspname = 'public' AND conrelid::regclass::text <> "
        "'flyway_schema_history' GROUP BY 1 ORDER BY 1",
    )
    assert constraints == [("c", 2), ("f", 1), ("p", 3)]
    assert pg_rows(pg_url, "SELECT indexname FROM pg_indexes WHERE indexname = 'region_idx'")
    assert pg_rows(pg_url, "SELECT label FROM active_customers ORDER BY customer_id")[0] == (
        "Ann's Deli (WA)",
    )
    # identity sequences continue after the loaded keys
    assert pg_rows(pg_url, "INSERT INTO customer (name) VALUES ('Eve') RETURNING customer_id") == [
        (5,)
    ]
    history = pg_rows(pg_url, "SELECT version, script FROM flyway_schema_history ORDER BY 1")
    assert history == [
        ("1", "V1__create_tables.sql"),
        ("2", "V2__constraints_and_indexes.sql"),
        ("3", "V3__create_views.sql"),
    ]


def test_verify_passes_then_catches_a_corrupted_row(migrate: Migrate, pg_url: str) -> None:
    assert migrate("full", "--source", SHOP, "--target", pg_url).exit_code == 0
    passed = migrate("verify", "--source", SHOP, "--target", pg_url)
    assert passed.exit_code == 0, passed.output
    assert "verify passed: 3 tables match" in passed.output

    pg_execute(pg_url, "UPDATE orders SET freight = 32.39 WHERE order_id = 1")
    failed = migrate("verify", "--source", SHOP, "--target", pg_url)
    assert failed.exit_code == 1
    assert "orders" in failed.output
    assert "MISMATCH" in failed.output
    assert "verify FAILED: 1 of 3 tables differ" in failed.output


def test_verify_catches_a_missing_row(migrate: Migrate, pg_url: str) -> None:
    assert migrate("full", "--source", SHOP, "--target", pg_url).exit_code == 0
    pg_execute(pg_url, "DELETE FROM region WHERE region_id = 2")
    result = migrate("verify", "--source", SHOP, "--target", pg_url)
    assert result.exit_code == 1
    assert "region" in result.output


def test_a_target_that_has_the_tables_is_refused_unless_replace(
    migrate: Migrate, pg_url: str
) -> None:
    assert migrate("full", "--source", SHOP, "--target", pg_url).exit_code == 0
    refused = migrate("full", "--source", SHOP, "--target", pg_url)
    assert refused.exit_code == 2
    assert "already has 3 of these tables" in refused.output
    assert "Traceback" not in refused.output
    replaced = migrate("full", "--source", SHOP, "--target", pg_url, "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert pg_rows(pg_url, "SELECT count(*) FROM customer") == [(4,)]


def test_bad_statements_are_listed_with_lines_and_the_rest_migrates_as_partial(
    migrate: Migrate, pg_url: str
) -> None:
    result = migrate("full", "--source", BROKEN, "--target", pg_url)
    assert result.exit_code == 3
    assert "line 7" in result.output
    assert "line 10" in result.output
    assert "partial" in result.output
    assert pg_rows(pg_url, "SELECT thing_id, label FROM thing ORDER BY 1") == [
        (1, "one"),
        (3, "three"),
    ]


def test_schema_writes_flyway_files_that_apply_records_once(
    migrate: Migrate, pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "flyway"
    written = migrate("schema", "--source", SHOP, "--out", str(out))
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in out.iterdir()) == [
        "V1__create_tables.sql",
        "V2__constraints_and_indexes.sql",
        "V3__create_views.sql",
        "translation-report.md",
    ]
    assert "procedure Orders Of" in (out / "translation-report.md").read_text()

    first = migrate("apply", "--dir", str(out), "--target", pg_url)
    assert first.exit_code == 0, first.output
    assert "applied: 1, 2, 3" in first.output
    again = migrate("apply", "--dir", str(out), "--target", pg_url)
    assert "applied: nothing; already applied: 1, 2, 3" in again.output

    (out / "V4__add_column.sql").write_text("ALTER TABLE customer ADD COLUMN email text;\n")
    assert "applied: 4" in migrate("apply", "--dir", str(out), "--target", pg_url).output
    with (out / "V1__create_tables.sql").open("a") as file:
        file.write("-- edited after release\n")
    changed = migrate("apply", "--dir", str(out), "--target", pg_url)
    assert changed.exit_code == 2
    assert "changed after it was applied" in changed.output


def test_keep_naming_and_a_type_override(migrate: Migrate, pg_url: str) -> None:
    result = migrate(
        "full", "--source", SHOP, "--target", pg_url, "--naming", "keep",
        "--type", "Orders.Level=integer", "--schema", "legacy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    types = pg_rows(
        pg_url,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
        "'legacy' AND table_name = 'Orders' AND column_name IN ('Level', 'Shipped') ORDER BY 1",
    )
    assert types == [("Level", "integer"), ("Shipped", "boolean")]
    verified = migrate("verify", "--source", SHOP, "--target", pg_url, "--naming", "keep",
                       "--type", "Orders.Level=integer", "--schema", "legacy")  # fmt: skip
    assert verified.exit_code == 0, verified.output


def test_clear_errors_without_tracebacks(migrate: Migrate, tmp_path: Path) -> None:
    missing = migrate("full", "--source", str(tmp_path / "nope.sql"), "--target",
                      "postgresql://127.0.0.1:1/x")  # fmt: skip
    assert missing.exit_code == 2
    assert "neither a SQLAlchemy URL nor a script file" in missing.output
    unreachable = migrate("verify", "--source", SHOP, "--target",
                          "postgresql://nobody@127.0.0.1:1/x")  # fmt: skip
    assert unreachable.exit_code == 2
    assert "cannot connect to the target" in unreachable.output
    bad_override = migrate("schema", "--source", SHOP, "--out", str(tmp_path), "--type", "x")
    assert bad_override.exit_code == 2
    assert "TABLE.COLUMN=PGTYPE" in bad_override.output
