"""The PII anonymiser for staging copies of the facade database.

Rewrites the configured columns in place with :class:`~stratus.solutions.facade.domain.
anonymise.Pseudonymiser` (deterministic, keyed), table by table, one transaction per table.
Primary keys are never configured (refused), so foreign keys keep pointing where they did;
values of the same kind map identically across tables, so PII used to match rows still
matches. A column whose values must be unique is checked after mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from stratus.solutions.facade import db
from stratus.solutions.facade.domain.anonymise import Kind, Pseudonymiser


@dataclass(frozen=True, slots=True)
class PiiColumn:
    """One configured column: ``table.column`` holds PII of ``kind``."""

    table: str
    column: str
    kind: Kind


#: The PII of the facade schema (what the Data Protection Officer signed off).
DEFAULT_COLUMNS: tuple[PiiColumn, ...] = (
    PiiColumn("legacy_users", "email", Kind.EMAIL),
    PiiColumn("legacy_users", "full_name", Kind.NAME),
    PiiColumn("legacy_customers", "email", Kind.EMAIL),
    PiiColumn("legacy_customers", "name", Kind.NAME),
    PiiColumn("legacy_customers", "phone", Kind.PHONE),
    PiiColumn("facade_notes", "text", Kind.TEXT),
)


class AnonymiseError(ValueError):
    """The configuration is wrong, or the mapping would break a unique column."""


def parse_columns(specs: Sequence[str]) -> tuple[PiiColumn, ...]:
    """``table.column=kind`` strings → columns (AnonymiseError with the reason)."""
    out = []
    for spec in specs:
        target, sep, kind = spec.partition("=")
        table, dot, column = target.partition(".")
        if not sep or not dot or kind not in {k.value for k in Kind}:
            raise AnonymiseError(f"{spec!r}: expected table.column=email|name|phone|text")
        out.append(PiiColumn(table, column, Kind(kind)))
    return tuple(out)


def anonymise(
    engine: Engine,
    key: bytes,
    columns: Sequence[PiiColumn] = DEFAULT_COLUMNS,
    *,
    batch_size: int = 500,
) -> dict[str, int]:
    """Rewrite every configured column; the number of rows changed per table."""
    pseudo = Pseudonymiser(key)
    by_table: dict[str, list[PiiColumn]] = {}
    for col in columns:
        table = db.metadata.tables.get(col.table)
        if table is None or col.column not in table.c:
            raise AnonymiseError(f"{col.table}.{col.column}: no such column")
        if table.c[col.column].primary_key:
            raise AnonymiseError(f"{col.table}.{col.column}: keys are never anonymised")
        by_table.setdefault(col.table, []).append(col)
    counts: dict[str, int] = {}
    for name, cols in by_table.items():
        table = db.metadata.tables[name]
        pk = list(table.primary_key.columns)
        unique = {c.column for c in cols if table.c[c.column].unique}
        changed = 0
        with engine.begin() as conn:
            rows = conn.execute(select(*pk, *(table.c[c.column] for c in cols)).order_by(*pk)).all()
            seen: dict[str, set[str]] = {c: set() for c in unique}
            updates = []
            for row in rows:
                values = {}
                for col in cols:
                    old = row._mapping[col.column]
                    if old is None:
                        continue
                    new = pseudo.apply(col.kind, str(old))
                    if col.column in seen:
                        if new in seen[col.column]:
                            raise AnonymiseError(f"{name}.{col.column}: mapping not unique")
                        seen[col.column].add(new)
                    values[col.column] = new
                if values:
                    updates.append(({p.name: row._mapping[p.name] for p in pk}, values))
            for start in range(0, len(updates), batch_size):
                for keys, values in updates[start : start + batch_size]:
                    where = [table.c[k] == v for k, v in keys.items()]
                    conn.execute(update(table).where(*where).values(**values))
                    changed += 1
        counts[name] = changed
    return counts
