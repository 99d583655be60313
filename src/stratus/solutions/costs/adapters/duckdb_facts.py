"""DuckDB fact store: the embedded default (one file under STRATUS_HOME).

One database instance per file per process (DuckDB allows one writing process per file); each
transaction runs on its own cursor, so worker threads write concurrently under DuckDB's MVCC.
Facts are bulk-loaded through a temporary CSV read by ``read_csv`` (DuckDB's executemany is
two orders of magnitude slower), or, on the ETL's fast path (:meth:`write_chunk_csv`),
normalised by DuckDB itself from the chunk's raw bytes (``duckdb_normalise``).
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

from stratus.solutions.costs.adapters import duckdb_normalise
from stratus.solutions.costs.adapters.sqlfacts import FACT_COLUMNS, MONEY, SqlFactStore, schema
from stratus.solutions.costs.domain.focus import RowError
from stratus.solutions.costs.ports import FactStoreError, LoadRef

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
_NOT_OK = "row not on the SQL path"
#: Chunk files DuckDB reads: memory-backed where the machine has it (a chunk is written and
#: read once; on disk, the writes of a large file's chunks queued behind the page cache).
#: mkstemp makes each file 0600 under a fresh name, so a shared directory is safe here.
_SHM = "/dev/shm"  # noqa: S108
_SCRATCH = _SHM if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) else None


class _PythonPathError(Exception):
    """The chunk leaves the DuckDB path (its transaction is rolled back)."""


_instances: dict[str, duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    """The schema without the secondary indexes: DuckDB's ART indexes on columns with few
    distinct values (a load's thousands of rows share one ``load_id``) made every chunk insert
    slower than the one before (0.19 s → 0.44 s per 5 000 rows after four chunks), and the
    queries here scan with zone maps anyway. Stores created with them lose them."""
    # A checkpoint rewrites the table's last, partly filled row group; at the default 16 MB
    # of WAL one ran every few chunks (a third of the load's wall time in the benchmark).
    con.execute("SET checkpoint_threshold = '256MB'")
    # DuckDB's default is 80% of RAM; the budget is 1 GB for the whole process.
    con.execute("SET memory_limit = '512MB'")
    for statement in schema("VARCHAR", "TIMESTAMPTZ"):
        if statement.startswith("CREATE INDEX"):
            name = statement.split()[5]
            con.execute(f"DROP INDEX IF EXISTS {name}")
        else:
            con.execute(statement)


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
            _prepare(con)
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
            _prepare(self._con)

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
                writer = csv.writer(out, lineterminator="\n")
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

    def write_chunk_csv(
        self, load: LoadRef, chunk_no: int, provider: str, header: Sequence[str], data: bytes
    ) -> bool | None:
        """Normalise raw CSV rows inside DuckDB and store them like :meth:`write_chunk` (one
        transaction with the done-marker; False when the chunk was stored before). None, with
        nothing written, when the chunk must take the Python path: a provider or header the
        SQL mapping does not cover, or any row DuckDB cannot parse strictly or that the
        Python normaliser might reject or map differently (see ``duckdb_normalise``)."""
        plan = duckdb_normalise.compiled(provider, header)
        if plan is None or data.count(b"\r") != data.count(b"\r\n"):
            return None  # a bare CR: Python's csv ends a row there, DuckDB may not
        marker = "SELECT 1 FROM cost_chunks WHERE load_id = ? AND chunk_no = ?"
        fd, name = tempfile.mkstemp(prefix="stratus-chunk-", suffix=".csv", dir=_SCRATCH)
        facts = ", ".join(FACT_COLUMNS[4:])
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            with self._transaction() as handle:
                if self._exec(handle, marker, (load.load_id, chunk_no)):
                    return False
                source = duckdb_normalise.read_csv_sql(plan.width)
                try:
                    tail, params = self._lookups(handle, plan, source, name)
                    # One pass: a row that is not ``ok`` aborts the INSERT through error(),
                    # and the transaction is rolled back (nothing of the chunk is kept).
                    ((count,),) = self._exec(
                        handle,
                        f"INSERT INTO cost_facts SELECT ?, ?, ?, ?, {facts} FROM (WITH raw AS"
                        f" (SELECT r.*{tail}) {plan.select})"
                        f" WHERE CASE WHEN ok THEN true ELSE error('{_NOT_OK}') END",
                        (load.load_id, chunk_no, load.client_id, load.provider, name, *params),
                    )
                except duckdb.Error:  # not strict CSV, not UTF-8, a row not ok: Python decides
                    raise _PythonPathError from None
                self._exec(
                    handle,
                    "INSERT INTO cost_chunks VALUES (?, ?, ?, 0)",
                    (load.load_id, chunk_no, int(count)),
                )
        except _PythonPathError:
            return None
        except FactStoreError as error:
            if error.conflict and self._read(marker, (load.load_id, chunk_no)):
                return False
            raise
        finally:
            os.unlink(name)
        return True

    def _lookups(
        self, handle: Any, plan: duckdb_normalise.ChunkSql, source: str, path: str
    ) -> tuple[str, list[Any]]:
        """What joins each lookup column ``k<i>`` into ``raw`` (``FROM <source> r`` then this),
        and its parameters: the chunk's distinct cells of column ``i`` and the lookup
        function's value for each. _PythonPathError when the function refuses a cell (that
        row is the Python path's to reject, with its reason)."""
        columns, joins, params = "", "", list[Any]()
        if not plan.lookups:
            return f" FROM {source} r", params
        # One scan for every lookup column (list(DISTINCT) keeps a NULL cell as None; over
        # no rows it is NULL).
        distincts = ", ".join(f"list(DISTINCT c{i})" for i, _ in plan.lookups)
        ((*cells,),) = self._exec(handle, f"SELECT {distincts} FROM {source}", (path,))
        for (index, function), found in zip(plan.lookups, cells, strict=True):
            distinct = found or []
            try:
                values = [function(cell) for cell in distinct]
            except RowError:
                raise _PythonPathError from None
            columns += f", l{index}.value AS k{index}"
            joins += (
                f" LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS cell, unnest(?::VARCHAR[]) AS value)"
                f" l{index} ON l{index}.cell IS NOT DISTINCT FROM r.c{index}"
            )
            params += [distinct, values]
        return f"{columns} FROM {source} r{joins}", params

    def _tag_expression(self) -> str:
        return "json_extract_string(f.tags, '$.\"' || ? || '\"')"

    def close(self) -> None:
        """Nothing to release per store: the instance lives as long as the process."""
