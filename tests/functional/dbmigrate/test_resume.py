"""A crash or lost connection in the middle of a full load: the rerun resumes per table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from stratus.solutions.dbmigrate.domain.model import SourceSchema, Table
from stratus.solutions.dbmigrate.domain.translate import Options
from stratus.solutions.dbmigrate.postgres import PostgresTarget, TargetError
from stratus.solutions.dbmigrate.service import full_load, verify
from stratus.solutions.dbmigrate.sources import Row, ScriptSource
from tests.functional.dbmigrate.conftest import FIXTURES, pg_rows

pytestmark = pytest.mark.postgres


class ConnectionLostError(RuntimeError):
    """Stands for the network dropping mid-COPY."""


class FlakySource:
    """The shop script, but reading ``fail_on`` breaks after its first row."""

    def __init__(self, fail_on: str | None) -> None:
        self.inner = ScriptSource(FIXTURES / "shop.sql")
        self.dialect = self.inner.dialect
        self.dateformat = self.inner.dateformat
        self.fail_on = fail_on

    def schema(self) -> SourceSchema:
        return self.inner.schema()

    def count(self, table: Table) -> int:
        return self.inner.count(table)

    def batches(
        self, table: Table, columns: Sequence[str], *, size: int,
        since: tuple[str, Any] | None = None,
    ) -> Iterator[list[Row]]:  # fmt: skip
        for batch in self.inner.batches(table, columns, size=1, since=since):
            yield batch
            if table.name == self.fail_on:
                raise ConnectionLostError("connection lost")

    def close(self) -> None:
        self.inner.close()


def test_a_rerun_after_a_crash_skips_loaded_tables_and_leaves_no_duplicates(pg_url: str) -> None:
    target = PostgresTarget(pg_url)
    # GIVEN a first run that dies while copying Orders (loaded one table at a time)
    with pytest.raises((ConnectionLostError, TargetError)):
        full_load(FlakySource("Orders"), target, Options(), workers=1, batch_size=1)
    assert pg_rows(pg_url, "SELECT count(*) FROM orders") == [(0,)]  # rolled back, not half
    loaded_before = pg_rows(pg_url, "SELECT table_name FROM _stratus_migrate.load_state")

    # WHEN it runs again (no --replace needed: the unfinished load is resumed)
    result = full_load(FlakySource(None), target, Options(), workers=1)

    # THEN tables finished before the crash were not reloaded, and everything matches
    assert set(result.resumed) == {str(r[0]) for r in loaded_before}
    assert "customer" in result.resumed
    assert pg_rows(pg_url, "SELECT count(*) FROM orders") == [(4,)]
    assert pg_rows(pg_url, "SELECT count(*) FROM customer") == [(4,)]
    assert verify(ScriptSource(FIXTURES / "shop.sql"), target, Options()).ok
    assert pg_rows(pg_url, "SELECT count(*) FROM _stratus_migrate.load_state") == [(0,)]
