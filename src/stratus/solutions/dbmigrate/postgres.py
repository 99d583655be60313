"""The PostgreSQL target: DDL, COPY loads, upserts, key-set deletes, Flyway history, load state.

Every table load is ONE transaction holding the TRUNCATE, the COPY and the row in the load
state table: after a crash or a lost connection a table is either complete and recorded, or
absent from the record and empty once retried, never half-loaded or duplicated.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from stratus.platform.relational import normalise_url
from stratus.solutions.dbmigrate.domain.ddl import Migration, flyway_checksum
from stratus.solutions.dbmigrate.domain.model import TargetTable

STATE_SCHEMA = "_stratus_migrate"
HISTORY = "flyway_schema_history"


class TargetError(RuntimeError):
    """The target cannot be reached or refused a statement (message without traceback)."""


def conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy or libpq URL."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise TargetError(f"the target must be PostgreSQL, not {parsed.get_backend_name()}")
    return str(make_url(parsed).set(drivername="postgresql").render_as_string(hide_password=False))


def _ident(*parts: str) -> sql.Composable:
    return sql.Identifier(*parts)


class PostgresTarget:
    """A PostgreSQL database and the schema the migration writes into."""

    def __init__(self, url: str, schema: str = "public") -> None:
        self.conninfo = conninfo(url)
        self.schema = schema
        try:
            with self.connect():
                pass
        except psycopg.Error as exc:
            raise TargetError(f"cannot connect to the target: {_first_line(exc)}") from exc

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection (each worker thread takes its own)."""
        return psycopg.connect(self.conninfo)

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection whose errors become :class:`TargetError`."""
        try:
            with self.connect() as connection:
                yield connection
        except psycopg.Error as exc:
            raise TargetError(_first_line(exc)) from exc

    def table(self, name: str) -> sql.Composable:
        """The schema-qualified identifier of ``name``."""
        return _ident(self.schema, name)

    # --------------------------------------------------------------------------- inspection

    def existing(self, names: Iterable[str]) -> list[str]:
        """Which of the tables ``names`` exist in the target schema."""
        wanted = list(names)
        with self.session() as connection:
            rows = connection.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = ANY(%s)",
                (self.schema, wanted),
            ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def loaded_tables(self) -> dict[str, int]:
        """Tables recorded as completely loaded by an unfinished ``full`` run."""
        with self.session() as connection:
            exists = connection.execute(
                "SELECT to_regclass(%s)", (f"{STATE_SCHEMA}.load_state",)
            ).fetchone()
            if not exists or exists[0] is None:
                return {}
            rows = connection.execute(
                f"SELECT table_name, rows FROM {STATE_SCHEMA}.load_state WHERE target_schema = %s",
                (self.schema,),
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def applied_versions(self) -> dict[str, int]:
        """Flyway versions recorded in the target schema's history, with their checksums."""
        with self.session() as connection:
            exists = connection.execute(
                "SELECT to_regclass(%s)", (f'"{self.schema}".{HISTORY}',)
            ).fetchone()
            if not exists or exists[0] is None:
                return {}
            rows = connection.execute(
                sql.SQL("SELECT version, checksum FROM {} WHERE success").format(
                    self.table(HISTORY)
                )
            ).fetchall()
        return {str(r[0]): int(r[1] or 0) for r in rows}

    # ------------------------------------------------------------------------------ changes

    def drop(self, tables: Sequence[str], views: Sequence[str]) -> None:
        """Drop views and tables (CASCADE), the Flyway history and the load state (--replace)."""
        with self.session() as connection:
            for view in views:
                connection.execute(
                    sql.SQL("DROP VIEW IF EXISTS {} CASCADE").format(self.table(view))
                )
            for name in [*tables, HISTORY]:
                connection.execute(
                    sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(self.table(name))
                )
            connection.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(_ident(STATE_SCHEMA))
            )
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.load_state (target_schema text, "
                "table_name text, rows bigint, loaded_at timestamptz DEFAULT now(), "
                "PRIMARY KEY (target_schema, table_name))"
            )
            connection.execute(
                f"DELETE FROM {STATE_SCHEMA}.load_state WHERE target_schema = %s", (self.schema,)
            )

    def prepare_state(self) -> None:
        """Create the load state table if needed."""
        with self.session() as connection:
            connection.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(_ident(STATE_SCHEMA))
            )
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.load_state (target_schema text, "
                "table_name text, rows bigint, loaded_at timestamptz DEFAULT now(), "
                "PRIMARY KEY (target_schema, table_name))"
            )

    def finish_load(self) -> None:
        """Forget the load state of this schema: the full load is complete."""
        with self.session() as connection:
            connection.execute(
                f"DELETE FROM {STATE_SCHEMA}.load_state WHERE target_schema = %s", (self.schema,)
            )

    def apply(self, migration: Migration, *, tolerate: bool = False) -> list[tuple[str, str]]:
        """Run a migration's statements in one transaction and record it in the Flyway history.

        With ``tolerate`` each statement runs in a savepoint and failing ones are skipped and
        returned as (statement, error): the recorded script is then what really ran."""
        failures: list[tuple[str, str]] = []
        started = time.monotonic()
        with self.session() as connection:
            self._history_table(connection)
            with connection.transaction():
                for statement in migration.statements:
                    if tolerate:
                        try:
                            with connection.transaction():
                                connection.execute(statement.encode())
                        except psycopg.Error as exc:
                            failures.append((statement, _first_line(exc)))
                    else:
                        try:
                            connection.execute(statement.encode())
                        except psycopg.Error as exc:
                            raise TargetError(
                                f"{migration.filename}: {_first_line(exc)}\n  in: "
                                f"{statement.splitlines()[0][:120]}"
                            ) from exc
                failed = {f[0] for f in failures}
                ran = Migration(
                    migration.version,
                    migration.description,
                    tuple(s for s in migration.statements if s not in failed),
                )
                self._record(connection, ran, int((time.monotonic() - started) * 1000))
        return failures

    def apply_script(self, version: str, description: str, filename: str, content: str) -> None:
        """Run a Flyway file as written (multi-statement) and record it."""
        started = time.monotonic()
        with self.session() as connection:
            self._history_table(connection)
            with connection.transaction():
                try:
                    connection.execute(content.encode())
                except psycopg.Error as exc:
                    raise TargetError(f"{filename}: {_first_line(exc)}") from exc
                self._insert_history(
                    connection, version, description, filename, flyway_checksum(content),
                    int((time.monotonic() - started) * 1000),
                )  # fmt: skip

    def _history_table(self, connection: psycopg.Connection[Any]) -> None:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(_ident(self.schema)))
        connection.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (installed_rank integer PRIMARY KEY, "
                "version varchar(50), description varchar(200) NOT NULL, "
                "type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum integer, "
                "installed_by varchar(100) NOT NULL, "
                "installed_on timestamp NOT NULL DEFAULT now(), "
                "execution_time integer NOT NULL, success boolean NOT NULL)"
            ).format(self.table(HISTORY))
        )

    def _record(self, connection: psycopg.Connection[Any], migration: Migration, ms: int) -> None:
        self._insert_history(
            connection,
            str(migration.version),
            migration.description.replace("_", " "),
            migration.filename,
            flyway_checksum(migration.render()),
            ms,
        )

    def _insert_history(
        self,
        connection: psycopg.Connection[Any],
        version: str,
        description: str,
        script: str,
        checksum: int,
        ms: int,
    ) -> None:
        connection.execute(
            sql.SQL(
                "INSERT INTO {} (installed_rank, version, description, type, script, checksum, "
                "installed_by, execution_time, success) SELECT coalesce(max(installed_rank), 0) "
                "+ 1, %s, %s, 'SQL', %s, %s, %s, %s, true FROM {}"
            ).format(self.table(HISTORY), self.table(HISTORY)),
            (version, description, script, checksum, _user(), ms),
        )

    # --------------------------------------------------------------------------------- data

    def copy_table(
        self,
        table: TargetTable,
        batches: Iterable[list[tuple[Any, ...]]],
        *,
        record: bool = True,
    ) -> int:
        """TRUNCATE + COPY + record, in one transaction. Returns the rows copied."""
        columns = sql.SQL(", ").join(_ident(c.name) for c in table.columns)
        copied = 0
        with self.session() as connection, connection.transaction():
            connection.execute(sql.SQL("TRUNCATE {}").format(self.table(table.name)))
            with (
                connection.cursor() as cursor,
                cursor.copy(
                    sql.SQL("COPY {} ({}) FROM STDIN").format(self.table(table.name), columns)
                ) as copy,
            ):
                for batch in batches:
                    for row in batch:
                        copy.write_row(row)
                    copied += len(batch)
            if record:
                connection.execute(
                    f"INSERT INTO {STATE_SCHEMA}.load_state (target_schema, table_name, rows) "
                    "VALUES (%s, %s, %s) ON CONFLICT (target_schema, table_name) DO UPDATE "
                    "SET rows = EXCLUDED.rows, loaded_at = now()",
                    (self.schema, table.name, copied),
                )
        return copied

    def reset_identities(self, tables: Iterable[TargetTable]) -> None:
        """Move each identity sequence past the column's maximum."""
        with self.session() as connection:
            for table in tables:
                for column in table.columns:
                    if column.identity:
                        connection.execute(
                            sql.SQL(
                                "SELECT setval(pg_get_serial_sequence(%s, %s), "
                                "coalesce((SELECT max({}) FROM {}), 0) + 1, false)"
                            ).format(_ident(column.name), self.table(table.name)),
                            (f'"{self.schema}"."{table.name}"', column.name),
                        )

    def upsert(self, table: TargetTable, batches: Iterable[list[tuple[Any, ...]]]) -> int:
        """Insert or update rows by primary key (staged through COPY into a temp table)."""
        names = [c.name for c in table.columns]
        columns = sql.SQL(", ").join(_ident(n) for n in names)
        keys = sql.SQL(", ").join(_ident(n) for n in table.primary_key)
        others = [n for n in names if n not in table.primary_key]
        action = (
            sql.SQL("DO UPDATE SET ")
            + sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(_ident(n), _ident(n)) for n in others
            )
            if others
            else sql.SQL("DO NOTHING")
        )
        with self.session() as connection, connection.transaction():
            staged = self._copy_to_temp(connection, "_stage", columns, table, batches)
            connection.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM _stage ON CONFLICT ({}) ").format(
                    self.table(table.name), columns, columns, keys
                )
                + action
            )
        return staged

    def _copy_to_temp(
        self,
        connection: Any,
        name: str,
        columns: sql.Composable,
        table: TargetTable,
        batches: Iterable[list[tuple[Any, ...]]],
    ) -> int:
        """COPY rows into a temporary table shaped like ``columns`` of ``table`` (dropped at
        commit); return how many rows went in."""
        connection.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                sql.Identifier(name), columns, self.table(table.name)
            )
        )
        copied = 0
        with (
            connection.cursor() as cursor,
            cursor.copy(
                sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(name), columns)
            ) as copy,
        ):
            for batch in batches:
                for row in batch:
                    copy.write_row(row)
                copied += len(batch)
        return copied

    def delete_missing(self, table: TargetTable, keys: Iterable[list[tuple[Any, ...]]]) -> int:
        """Delete the rows whose primary key is not among ``keys`` (the source's key set)."""
        key_columns = sql.SQL(", ").join(_ident(n) for n in table.primary_key)
        match = sql.SQL(" AND ").join(
            sql.SQL("k.{} = t.{}").format(_ident(n), _ident(n)) for n in table.primary_key
        )
        with self.session() as connection, connection.transaction():
            self._copy_to_temp(connection, "_keys", key_columns, table, keys)
            result = connection.execute(
                sql.SQL(
                    "DELETE FROM {} t WHERE NOT EXISTS (SELECT 1 FROM _keys k WHERE {})"
                ).format(self.table(table.name), match)
            )
            return result.rowcount

    def rows(self, table: TargetTable, *, size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        """All rows of a table through a server-side cursor."""
        columns = sql.SQL(", ").join(_ident(c.name) for c in table.columns)
        with (
            self.session() as connection,
            connection.transaction(),
            connection.cursor(name="stratus_verify") as cursor,
        ):
            cursor.itersize = size
            cursor.execute(sql.SQL("SELECT {} FROM {}").format(columns, self.table(table.name)))
            while True:
                chunk = cursor.fetchmany(size)
                if not chunk:
                    return
                yield chunk

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (tests and tools)."""
        with self.session() as connection:
            cursor = connection.execute(statement.encode(), params or None)
            return cursor.fetchall() if cursor.description else []


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "stratus"


def _first_line(error: BaseException) -> str:
    message = str(error)
    return message.splitlines()[0] if message else type(error).__name__
