"""Source schema -> PostgreSQL schema: names, types, defaults, constraints, indexes, views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stratus.solutions.dbmigrate.domain.expressions import (
    Naming,
    UntranslatableError,
    translate_default,
    translate_expression,
    translate_select,
)
from stratus.solutions.dbmigrate.domain.model import (
    Finding,
    SourceSchema,
    Table,
    TargetColumn,
    TargetConstraint,
    TargetIndex,
    TargetSchema,
    TargetTable,
    TargetView,
)
from stratus.solutions.dbmigrate.domain.names import NameAllocator, apply_policy, qualified, quote
from stratus.solutions.dbmigrate.domain.typemap import convert_for, map_type

_ACTIONS = {"NO ACTION", "CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT"}


@dataclass(frozen=True)
class Options:
    """Translation choices: identifier policy, target schema, per-column type overrides
    (``{(source_table_lower, source_column_lower): pg_type}``)."""

    naming: str = "snake"
    schema: str = "public"
    overrides: dict[tuple[str, str], str] = field(default_factory=dict)
    dialect: str = "tsql"


def translate(source: SourceSchema, options: Options | None = None) -> TargetSchema:
    """The PostgreSQL schema for ``source``; everything not carried over becomes a finding."""
    options = options or Options()
    findings = list(source.findings)
    relations = NameAllocator()
    policy = options.naming

    def name(text: str) -> str:
        return apply_policy(text, policy)

    table_names: dict[str, str] = {}
    for table in source.tables:
        table_names[table.name.lower()] = relations.claim(name(table.name), kind="table")
    view_names: dict[str, str] = {}
    for view in source.views:
        view_names[view.name.lower()] = relations.claim(name(view.name), kind="view")

    used_overrides: set[tuple[str, str]] = set()
    columns_of: dict[str, dict[str, TargetColumn]] = {}
    booleans: set[str] = set()
    for table in source.tables:
        columns: dict[str, TargetColumn] = {}
        column_names = NameAllocator()
        for column in table.columns:
            decision = map_type(column.type)
            key = (table.name.lower(), column.name.lower())
            pg_type, convert = decision.pg_type, decision.convert
            if key in options.overrides:
                pg_type = options.overrides[key]
                convert = convert_for(pg_type)
                used_overrides.add(key)
            elif decision.note:
                findings.append(Finding("fallback", f"{table.name}.{column.name}", decision.note))
            target_name = column_names.claim(name(column.name), kind="column")
            columns[column.name.lower()] = TargetColumn(
                name=target_name,
                source_name=column.name,
                pg_type=pg_type,
                convert=convert,
                nullable=column.nullable,
                identity=column.identity and convert == "int",
            )
            if pg_type == "boolean":
                booleans.add(target_name)
        columns_of[table.name.lower()] = columns
    for key in sorted(set(options.overrides) - used_overrides):
        findings.append(Finding("error", ".".join(key), "type override names no source column"))

    naming = Naming(
        tables={**table_names, **view_names},
        column=name,
        booleans=frozenset(booleans),
        quote_all=policy == "keep",
        dialect=options.dialect,
        schema=options.schema,
    )
    tables: list[TargetTable] = []
    for table in source.tables:
        tables.append(_table(table, table_names, columns_of, naming, relations, findings, name))
    for kind, wanted, given in relations.renamed:
        findings.append(
            Finding("renamed", f"{kind} {wanted}", f"name taken in PostgreSQL: named {given}")
        )
    views: list[TargetView] = []
    for view in source.views:
        try:
            sql = translate_select(view.body, naming)
        except UntranslatableError as exc:
            findings.append(Finding("untranslated", f"view {view.name}", str(exc)))
            continue
        views.append(TargetView(view_names[view.name.lower()], view.name, sql))
    return TargetSchema(options.schema, tuple(tables), tuple(views), tuple(findings))


def _table(
    table: Table,
    table_names: dict[str, str],
    columns_of: dict[str, dict[str, TargetColumn]],
    naming: Naming,
    relations: NameAllocator,
    findings: list[Finding],
    name: Callable[[str], str],
) -> TargetTable:
    target_name = table_names[table.name.lower()]
    own = columns_of[table.name.lower()]

    def col(source_column: str) -> str:
        column = own.get(source_column.lower())
        if column is None:
            raise KeyError(source_column)
        return column.name

    columns: list[TargetColumn] = []
    for column in table.columns:
        target = own[column.name.lower()]
        if column.default is not None and column.default.strip().upper() == "NULL":
            pass
        elif column.default is not None and not target.identity:
            try:
                default = translate_default(column.default, target.pg_type, naming)
                target = TargetColumn(
                    target.name, target.source_name, target.pg_type, target.convert,
                    target.nullable, default, target.identity,
                )  # fmt: skip
            except UntranslatableError as exc:
                findings.append(
                    Finding("untranslated", f"default of {table.name}.{column.name}", str(exc))
                )
        columns.append(target)

    constraint_names = NameAllocator()
    constraints: list[TargetConstraint] = []
    primary_key: tuple[str, ...] = ()
    if table.primary_key:
        primary_key = tuple(col(c) for c in table.primary_key.columns)
        wanted = name(table.primary_key.name) if table.primary_key.name else f"{target_name}_pkey"
        cname = relations.claim(wanted, kind="primary key", suffix="_pkey")
        constraint_names.claim(cname, kind="constraint")
        constraints.append(
            TargetConstraint(cname, f"PRIMARY KEY ({', '.join(map(quote, primary_key))})", "pk")
        )
    for number, unique in enumerate(table.uniques, 1):
        cols = tuple(col(c) for c in unique.columns)
        wanted = name(unique.name) if unique.name else f"{target_name}_key{number}"
        cname = relations.claim(wanted, kind="unique", suffix="_key")
        constraint_names.claim(cname, kind="constraint")
        constraints.append(TargetConstraint(cname, f"UNIQUE ({', '.join(map(quote, cols))})", "uq"))
    for number, check in enumerate(table.checks, 1):
        wanted = name(check.name) if check.name else f"{target_name}_check{number}"
        try:
            sql = translate_expression(check.expression, naming)
        except UntranslatableError as exc:
            findings.append(
                Finding("untranslated", f"check {check.name} on {table.name}", str(exc))
            )
            continue
        cname = constraint_names.claim(wanted, kind="check")
        constraints.append(TargetConstraint(cname, f"CHECK ({sql})", "ck"))
    depends: list[str] = []
    for number, fk in enumerate(table.foreign_keys, 1):
        ref = fk.ref_table.lower()
        if ref not in table_names:
            findings.append(
                Finding("untranslated", f"foreign key {fk.name} on {table.name}",
                        f"references unknown table {fk.ref_table}")
            )  # fmt: skip
            continue
        ref_columns = columns_of[ref]
        ref_cols = fk.ref_columns
        if not ref_cols:
            findings.append(
                Finding("untranslated", f"foreign key {fk.name} on {table.name}",
                        "referenced columns not given")
            )  # fmt: skip
            continue
        try:
            cols = tuple(col(c) for c in fk.columns)
            refs = tuple(ref_columns[c.lower()].name for c in ref_cols)
        except KeyError as exc:
            findings.append(
                Finding("untranslated", f"foreign key {fk.name} on {table.name}",
                        f"unknown column {exc}")
            )  # fmt: skip
            continue
        wanted = name(fk.name) if fk.name else f"{target_name}_fkey{number}"
        cname = constraint_names.claim(wanted, kind="foreign key")
        definition = (
            f"FOREIGN KEY ({', '.join(map(quote, cols))}) REFERENCES "
            f"{qualified(naming.schema, table_names[ref])} ({', '.join(map(quote, refs))})"
        )
        for clause, action in (("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)):
            if action and action.upper() in _ACTIONS and action.upper() != "NO ACTION":
                definition += f" {clause} {action.upper()}"
        constraints.append(TargetConstraint(cname, definition, "fk"))
        depends.append(table_names[ref])

    indexes: list[TargetIndex] = []
    for index in table.indexes:
        try:
            cols = tuple(col(c) for c in index.columns)
        except KeyError as exc:
            findings.append(Finding("untranslated", f"index {index.name}", f"unknown column {exc}"))
            continue
        iname = relations.claim(name(index.name), kind="index", suffix="_idx")
        indexes.append(TargetIndex(iname, cols, index.unique))
    return TargetTable(
        name=target_name,
        source_name=table.name,
        columns=tuple(columns),
        primary_key=primary_key,
        constraints=tuple(constraints),
        indexes=tuple(indexes),
        depends_on=tuple(depends),
    )
