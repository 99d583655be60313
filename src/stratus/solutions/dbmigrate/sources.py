"""Migration sources: a T-SQL script file, or a live database through SQLAlchemy.

Both give the same things: the :class:`SourceSchema`, and rows of a table in batches (raw
values in the order of the columns asked for), optionally only rows changed since a
watermark, and key sets for delta deletions.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from stratus.platform.relational import normalise_url
from stratus.solutions.dbmigrate.domain.model import (
    Check,
    Column,
    Finding,
    ForeignKey,
    Index,
    Key,
    SourceSchema,
    SqlType,
    Table,
    View,
)
from stratus.solutions.dbmigrate.domain.tsql import ParsedScript, parse_script

Row = tuple[Any, ...]


class SourceError(RuntimeError):
    """The source cannot be opened or read (the message says why, without a traceback)."""


class Source(Protocol):
    """What every source offers the migration use cases."""

    dialect: str
    dateformat: str

    def schema(self) -> SourceSchema:
        """Tables, views and reading findings."""
        ...

    def count(self, table: Table) -> int:
        """The number of rows of ``table``."""
        ...

    def batches(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        size: int,
        since: tuple[str, Any] | None = None,
    ) -> Iterator[list[Row]]:
        """Rows of ``columns``; with ``since=(column, value)`` only rows where column > value."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class ScriptSource:
    """A T-SQL script (schema + INSERT data), parsed once and held in memory.

    Identity columns left out of an INSERT get the next value, as SQL Server gives them
    (seed 1, increment 1)."""

    dialect = "tsql"

    def __init__(self, path: Path) -> None:
        try:
            content = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            content = path.read_text(encoding="utf-16")
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
        self.path = path
        self.parsed: ParsedScript = parse_script(content)
        self.dateformat = self.parsed.dateformat
        self._rows: dict[str, list[Row]] = {}

    def schema(self) -> SourceSchema:
        """The script's tables and views; unreadable statements are findings with lines."""
        return self.parsed.schema

    def _table_rows(self, table: Table) -> list[Row]:
        key = table.name.lower()
        if key not in self._rows:
            names = [c.name.lower() for c in table.columns]
            identity = [i for i, c in enumerate(table.columns) if c.identity]
            counters = dict.fromkeys(identity, 0)
            rows: list[Row] = []
            for columns, values, _line in self.parsed.rows_of(table.name):
                if columns:
                    positions = [names.index(c.lower()) for c in columns if c.lower() in names]
                    full: list[Any] = [None] * len(names)
                    for position, value in zip(positions, values, strict=False):
                        full[position] = value
                    for i in identity:
                        if i not in positions:
                            counters[i] += 1
                            full[i] = counters[i]
                else:
                    full = list(values) + [None] * (len(names) - len(values))
                for i in identity:
                    if isinstance(full[i], int):
                        counters[i] = max(counters[i], full[i])
                rows.append(tuple(full))
            self._rows[key] = rows
        return self._rows[key]

    def count(self, table: Table) -> int:
        """INSERT rows of the table in the script."""
        return len(self._table_rows(table))

    def batches(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        size: int,
        since: tuple[str, Any] | None = None,
    ) -> Iterator[list[Row]]:
        """The script's rows of ``table`` (``since`` is refused: a script has no changes)."""
        if since is not None:
            raise SourceError("a script has no change history: delta needs a live source")
        names = [c.name.lower() for c in table.columns]
        picks = [names.index(c.lower()) for c in columns]
        rows = self._table_rows(table)
        for start in range(0, len(rows), size):
            yield [tuple(row[i] for i in picks) for row in rows[start : start + size]]

    def close(self) -> None:
        """Nothing to release."""


_DIALECTS = {"mssql": "tsql", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite",
             "postgresql": "postgres"}  # fmt: skip
_TYPE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\s+(?:precision|varying))?)\s*(?:\((.*)\))?\s*([A-Za-z ]*)$",
    re.IGNORECASE,
)
_ON_UPDATE = re.compile(r"\s+on\s+update\s+.*$", re.IGNORECASE | re.DOTALL)


def _sql_type(compiled: str) -> SqlType:
    match = _TYPE.match(compiled)
    if not match:
        return SqlType(compiled.lower())
    name = match.group(1).lower()
    params = tuple(p.strip() for p in match.group(2).split(",")) if match.group(2) else ()
    suffix = match.group(3).strip().lower()
    if "unsigned" in suffix:
        name += " unsigned"
    if "with time zone" in suffix and "without" not in suffix:
        name = "timestamptz" if name == "timestamp" else name
    return SqlType(name, params)


class SqlAlchemySource:
    """A live database by SQLAlchemy URL: SQL Server (mssql+pymssql / pyodbc), MySQL/MariaDB,
    SQLite or PostgreSQL. Reads with server-side cursors where the driver has them."""

    dateformat = "ymd"

    def __init__(self, url: str) -> None:
        try:
            self.engine: Engine = create_engine(normalise_url(url))
            with self.engine.connect():
                pass
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise SourceError(f"cannot connect to the source: {_first_line(exc)}") from exc
        backend = self.engine.dialect.name
        self.dialect = _DIALECTS.get(backend, "tsql")
        self._quote = self.engine.dialect.identifier_preparer.quote

    def schema(self) -> SourceSchema:
        """Tables and views as reflected by SQLAlchemy's inspector."""
        try:
            return self._schema()
        except SQLAlchemyError as exc:
            raise SourceError(f"cannot read the source schema: {_first_line(exc)}") from exc

    def _schema(self) -> SourceSchema:
        inspector = inspect(self.engine)
        dialect = self.engine.dialect
        tables: list[Table] = []
        findings: list[Finding] = []
        for name in inspector.get_table_names():
            columns: list[Column] = []
            for info in inspector.get_columns(name):
                try:
                    compiled = info["type"].compile(dialect=dialect)
                except Exception:
                    compiled = "text"
                identity = bool(info.get("identity")) or info.get("autoincrement") is True
                default = info.get("default")
                if default is not None and _ON_UPDATE.search(str(default)):
                    default = _ON_UPDATE.sub("", str(default))
                    findings.append(
                        Finding(
                            "untranslated",
                            f"{name}.{info['name']}",
                            "ON UPDATE CURRENT_TIMESTAMP is not migrated: add a trigger if the "
                            "application relies on it",
                        )
                    )
                columns.append(
                    Column(
                        name=info["name"],
                        type=_sql_type(compiled),
                        nullable=bool(info.get("nullable", True)),
                        default=None if identity or default is None else str(default),
                        identity=identity,
                    )
                )
            pk = inspector.get_pk_constraint(name)
            primary_key = (
                Key(pk.get("name"), tuple(pk["constrained_columns"]))
                if pk and pk.get("constrained_columns")
                else None
            )
            uniques = tuple(
                Key(u.get("name"), tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name)
            )
            fks = tuple(
                ForeignKey(
                    fk.get("name"),
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options") or {}).get("ondelete"),
                    (fk.get("options") or {}).get("onupdate"),
                )
                for fk in inspector.get_foreign_keys(name)
            )
            try:
                checks = tuple(
                    Check(c.get("name"), str(c["sqltext"]))
                    for c in inspector.get_check_constraints(name)
                )
            except NotImplementedError:
                checks = ()
            unique_names = {u.name for u in uniques}
            indexes = tuple(
                Index(str(ix["name"]), tuple(str(c) for c in ix["column_names"]),
                      bool(ix.get("unique")))
                for ix in inspector.get_indexes(name)
                if ix.get("name")
                and ix["name"] not in unique_names
                and "duplicates_constraint" not in ix
                and all(c is not None for c in ix["column_names"])
            )  # fmt: skip
            tables.append(Table(name, tuple(columns), primary_key, uniques, fks, checks, indexes))
        views: list[View] = []
        for name in inspector.get_view_names():
            definition = inspector.get_view_definition(name)
            if definition:
                body = re.sub(r"(?is)^\s*create\b.*?\bview\b.*?\bas\b\s*", "", str(definition))
                views.append(View(name, body))
        return SourceSchema(tuple(tables), tuple(views), tuple(findings))

    def _select(self, table: Table, columns: Sequence[str]) -> str:
        return f"SELECT {', '.join(self._quote(c) for c in columns)} FROM {self._quote(table.name)}"

    def count(self, table: Table) -> int:
        """``SELECT count(*)``."""
        with self.engine.connect() as connection:
            result = connection.exec_driver_sql(f"SELECT count(*) FROM {self._quote(table.name)}")
            return int(result.scalar_one())

    def batches(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        size: int,
        since: tuple[str, Any] | None = None,
    ) -> Iterator[list[Row]]:
        """Rows through a server-side cursor, ``size`` at a time (raw driver values)."""
        sql = self._select(table, columns)
        if since is None:
            yield from self._raw_batches(table, sql, size)
            return
        closing = False
        column, value = since
        statement = text(f"{sql} WHERE {self._quote(column)} > :since")
        try:
            with self.engine.connect() as connection:
                streaming = connection.execution_options(stream_results=True, yield_per=size)
                result = streaming.execute(statement, {"since": value})
                while True:
                    chunk = result.fetchmany(size)
                    if not chunk:
                        return
                    try:
                        yield [tuple(row) for row in chunk]
                    except GeneratorExit:
                        closing = True
                        raise
        except SQLAlchemyError as exc:
            if closing:  # the consumer stopped early: closing a streaming cursor may complain
                return
            raise SourceError(f"reading {table.name} failed: {_first_line(exc)}") from exc

    def _raw_batches(self, table: Table, sql: str, size: int) -> Iterator[list[Row]]:
        """A full read on the DBAPI cursor itself: plain tuples, no Row objects (the hot path
        of ``full``). Server-side where the driver needs asking: pymysql's SSCursor, a named
        psycopg cursor; sqlite3 and pymssql stream by themselves."""
        closing = False
        backend = self.engine.dialect.name
        try:
            raw = self.engine.raw_connection()
        except SQLAlchemyError as exc:
            raise SourceError(f"reading {table.name} failed: {_first_line(exc)}") from exc
        try:
            connection: Any = raw.driver_connection
            if backend in {"mysql", "mariadb"} and self.engine.dialect.driver == "pymysql":
                cursors: Any = importlib.import_module("pymysql.cursors")
                cursor = connection.cursor(cursors.SSCursor)
            elif backend == "postgresql" and self.engine.dialect.driver == "psycopg":
                cursor = connection.cursor(name="stratus_migrate_read")
            else:
                cursor = raw.cursor()
            cursor.execute(sql)
            while True:
                chunk = cursor.fetchmany(size)
                if not chunk:
                    break
                try:
                    yield chunk if isinstance(chunk, list) else list(chunk)
                except GeneratorExit:
                    closing = True
                    raise
            cursor.close()
        except Exception as exc:
            if closing:
                return
            raise SourceError(f"reading {table.name} failed: {_first_line(exc)}") from exc
        finally:
            try:
                if backend == "postgresql":
                    connection.rollback()
                raw.close()
            except Exception:  # noqa: S110 - best effort while unwinding
                pass

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()


def _first_line(error: BaseException) -> str:
    message = str(getattr(error, "orig", None) or error)
    return message.splitlines()[0] if message else type(error).__name__


def open_source(source: str) -> Source:
    """A script path (``*.sql``) or a SQLAlchemy URL."""
    if "://" not in source:
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"{source} is neither a SQLAlchemy URL nor a script file")
        return ScriptSource(path)
    return SqlAlchemySource(source)
