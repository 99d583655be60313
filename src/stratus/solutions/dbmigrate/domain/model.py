"""The migration's own schema model: what a source database holds, and what PostgreSQL gets.

Source objects keep the source's names and type spellings; :mod:`.translate` turns a
:class:`SourceSchema` into a :class:`TargetSchema` (PostgreSQL names, types, expressions).
Everything here is immutable and free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SqlType:
    """A source type as written: ``NVARCHAR(160)`` is ``SqlType("nvarchar", ("160",))``."""

    name: str
    params: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}({','.join(self.params)})" if self.params else self.name


@dataclass(frozen=True)
class Column:
    """A source column. ``default`` is the source expression text (``getdate()``, ``(0)``)."""

    name: str
    type: SqlType
    nullable: bool = True
    default: str | None = None
    identity: bool = False


@dataclass(frozen=True)
class Key:
    """A primary key or unique constraint (``name`` may be None when the source has none)."""

    name: str | None
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of the owning table reference ``ref_columns`` of ``ref_table``."""

    name: str | None
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None


@dataclass(frozen=True)
class Check:
    """A CHECK constraint; ``expression`` is source SQL."""

    name: str | None
    expression: str


@dataclass(frozen=True)
class Index:
    """A (non-constraint) index on plain columns."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Table:
    """A source table with its constraints and indexes."""

    name: str
    columns: tuple[Column, ...]
    primary_key: Key | None = None
    uniques: tuple[Key, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[Check, ...] = ()
    indexes: tuple[Index, ...] = ()

    def column(self, name: str) -> Column:
        """The column called ``name`` (case-insensitive, as SQL Server's default collation)."""
        for column in self.columns:
            if column.name.lower() == name.lower():
                return column
        raise KeyError(f"{self.name}.{name}")


@dataclass(frozen=True)
class View:
    """A view; ``body`` is the source SELECT."""

    name: str
    body: str


@dataclass(frozen=True)
class Finding:
    """Something not migrated, or migrated with a choice the team should review.

    ``kind`` is ``skipped`` (a statement ignored on purpose: SET, GO-level housekeeping),
    ``untranslated`` (procedures, triggers, expressions we cannot translate), ``fallback``
    (a type mapped to a fallback) or ``error`` (unparseable input)."""

    kind: str
    subject: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class SourceSchema:
    """Tables (in source order), views and the findings met while reading them."""

    tables: tuple[Table, ...]
    views: tuple[View, ...] = ()
    findings: tuple[Finding, ...] = ()

    def table(self, name: str) -> Table:
        """The table called ``name`` (case-insensitive)."""
        for table in self.tables:
            if table.name.lower() == name.lower():
                return table
        raise KeyError(name)


# ----------------------------------------------------------------------------- target side


@dataclass(frozen=True)
class TargetColumn:
    """A PostgreSQL column and how a source value becomes its value (``convert``)."""

    name: str
    source_name: str
    pg_type: str
    convert: str
    nullable: bool
    default: str | None = None
    identity: bool = False


@dataclass(frozen=True)
class TargetConstraint:
    """A constraint as PostgreSQL DDL after the name (``PRIMARY KEY (a, b)``)."""

    name: str
    definition: str
    kind: str


@dataclass(frozen=True)
class TargetIndex:
    """``CREATE [UNIQUE] INDEX name ON table (columns)``."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class TargetTable:
    """A PostgreSQL table translated from ``source_name``."""

    name: str
    source_name: str
    columns: tuple[TargetColumn, ...]
    primary_key: tuple[str, ...] = ()
    constraints: tuple[TargetConstraint, ...] = ()
    indexes: tuple[TargetIndex, ...] = ()
    depends_on: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class TargetView:
    """A translated view (``sql`` is the PostgreSQL SELECT)."""

    name: str
    source_name: str
    sql: str


@dataclass(frozen=True)
class TargetSchema:
    """The PostgreSQL schema plus every finding of reading and translating the source."""

    schema: str
    tables: tuple[TargetTable, ...]
    views: tuple[TargetView, ...]
    findings: tuple[Finding, ...]

    def table(self, source_name: str) -> TargetTable:
        """The target table made from source table ``source_name``."""
        for table in self.tables:
            if table.source_name.lower() == source_name.lower():
                return table
        raise KeyError(source_name)

    def load_order(self) -> tuple[TargetTable, ...]:
        """Tables with referenced tables first (self-references and cycles tolerated)."""
        by_name = {t.name: t for t in self.tables}
        ordered: list[TargetTable] = []
        state: dict[str, int] = {}

        def visit(table: TargetTable) -> None:
            if state.get(table.name):
                return
            state[table.name] = 1
            for dependency in table.depends_on:
                if dependency in by_name and dependency != table.name:
                    visit(by_name[dependency])
            state[table.name] = 2
            ordered.append(table)

        for table in self.tables:
            visit(table)
        return tuple(ordered)
