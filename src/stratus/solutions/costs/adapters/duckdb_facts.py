"""DuckDB fact store: the embedded default (one file under STRATUS_HOME).

One database instance per file per process (DuckDB allows one writing process per file); each
transaction runs on its own cursor, so worker threads write concurrently under DuckDB's MVCC.
Facts are bulk-loaded through a temporary CSV read by ``read_csv`` (DuckDB's executemany is
two orders of magnitude slower).
"""

from __future__ import annotations

import csv
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from stratus.solutions.costs.adapters.sqlfacts import FACT_COLUMNS, MONEY, SqlFactStore, schema
from stratus.solutions.costs.ports import FactStoreError

_TYPES = {
    "chunk_no": "INTEGER",
    "charge_date": "DATE",
    "charge_period_start": "TIMESTAMPTZ",
    "charge_period_end": "TIMESTAMPTZ",
    "consumed_quantity": MONEY,
    "billed_cost": MONEY,
    "effective_cost": MONEY,
    "list_cost": MONEY,
}
_COLUMNS_SQL = "{" + ", ".join(f"'{c}': '{_TYPES.get(c, 'VARCHAR')}'" for c in FACT_COLUMNS) + "}"
_NULL = "\\N"

_instances: dict[str, duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def _connection(path: str) -> duckdb.DuckDBPyConnection:
    with _instances_lock:
        con = _instances.get(path)
        if con is None:
            try:
                con = duckdb.connect(path)
            except duckdb.Error as error:
                raise FactStoreError(
                    f"cannot open the DuckDB fact store {path}: {error}"
                ) from error
            for statement in schema("VARCHAR", "TIMESTAMPTZ"):
                con.execute(statement)
            _instances[path] = con
        return con


class DuckDbFactStore(SqlFactStore):
    """FactStore on a DuckDB file (``:memory:`` for a private in-memory store)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._con = _connection(str(Path(self.path).resolve()))
        else:
            self._con = duckdb.connect(":memory:")
            for statement in schema("VARCHAR", "TIMESTAMPTZ"):
                self._con.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self._con.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        except (duckdb.ConstraintException, duckdb.TransactionException) as error:
            raise FactStoreError(f"DuckDB write conflict: {error}", conflict=True) from error
        except duckdb.Error as error:
            raise FactStoreError(f"DuckDB: {error}") from error
        finally:
            cursor.close()

    def _exec(self, handle: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        handle.execute(sql, list(params))
        if handle.description is None:
            return []
        rows: list[tuple[Any, ...]] = handle.fetchall()
        return rows

    def _insert_facts(self, handle: Any, values: list[tuple[Any, ...]]) -> None:
        fd, name = tempfile.mkstemp(prefix="stratus-facts-", suffix=".csv")
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                for row in values:
                    writer.writerow([_NULL if v is None else v for v in row])
            handle.execute(
                "INSERT INTO cost_facts SELECT * FROM read_csv(?, header = false,"
                f" auto_detect = false, columns = {_COLUMNS_SQL}, nullstr = '{_NULL}',"
                " quote = '\"', escape = '\"', delim = ',')",
                [name],
            )
        finally:
            os.unlink(name)

    def _tag_expression(self) -> str:
        return "json_extract_string(f.tags, '$.\"' || ? || '\"')"

    def close(self) -> None:
        """Nothing to release per store: the instance lives as long as the process."""
