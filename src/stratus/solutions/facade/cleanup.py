"""The clean-up job: archive obsolete rows to the object store, then delete them.

For each rule, in batches ordered by primary key: select rows older than the rule's cutoff,
write them gzip'd as JSON lines to ``archive/<table>/dt=<day>/...`` (one object per day of
the batch), then delete exactly those rows in one transaction. Running it again the same day
finds nothing and changes nothing; a run interrupted after archiving rewrites identical
objects. Only tables of the facade schema with a one-column primary key and a timestamp
column qualify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.exc import SQLAlchemyError

from stratus.platform.ports import Clock, ObjectStore
from stratus.platform.relational import database_unavailable
from stratus.solutions.facade import db
from stratus.solutions.facade.domain.cleanup import (
    CleanupRule,
    RuleError,
    archive_key,
    by_day,
    encode_rows,
)
from stratus.solutions.facade.store import DatabaseUnavailableError


@dataclass
class RuleReport:
    """What one rule did."""

    table: str
    cutoff: str
    archived: int = 0
    deleted: int = 0
    objects: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "table": self.table,
            "cutoff": self.cutoff,
            "archived": self.archived,
            "deleted": self.deleted,
            "objects": self.objects,
            "error": self.error,
        }


def _table_for(rule: CleanupRule) -> Table:
    table = db.metadata.tables.get(rule.table)
    if table is None:
        raise RuleError(f"{rule.table}: not a table of the facade schema")
    if rule.column not in table.c or not isinstance(table.c[rule.column].type, db.UtcDateTime):
        raise RuleError(f"{rule.table}.{rule.column}: not a timestamp column")
    if len(table.primary_key.columns) != 1:
        raise RuleError(f"{rule.table}: only tables with a one-column primary key qualify")
    return table


def validate_rules(rules: list[CleanupRule]) -> None:
    """RuleError for the first rule naming an unknown table or column."""
    for rule in rules:
        _table_for(rule)


def run_cleanup(
    rules: list[CleanupRule],
    engine: Engine,
    archive: ObjectStore,
    clock: Clock,
    *,
    batch_size: int = 1000,
) -> dict[str, Any]:
    """Archive then delete obsolete rows for every rule; a report with counts per rule.

    A rule that fails (e.g. rows still referenced by a foreign key) reports its error and
    keeps its rows; the other rules still run. DatabaseUnavailableError stops the run."""
    validate_rules(rules)
    now = clock.now()
    reports = []
    for rule in rules:
        table = _table_for(rule)
        column = table.c[rule.column]
        pk = next(iter(table.primary_key.columns))
        cutoff = rule.cutoff(now)
        report = RuleReport(rule.table, cutoff.isoformat())
        reports.append(report)
        try:
            while True:
                with engine.connect() as conn:
                    rows = [
                        dict(r._mapping)
                        for r in conn.execute(
                            select(table).where(column < cutoff).order_by(pk).limit(batch_size)
                        )
                    ]
                if not rows:
                    break
                for day, group in sorted(by_day(rows, rule.column).items()):
                    key = archive_key(rule.table, day, group[0][pk.name], group[-1][pk.name])
                    archive.put(key, encode_rows(group), content_type="application/gzip")
                    report.objects.append(key)
                report.archived += len(rows)
                with engine.begin() as conn:
                    result = conn.execute(
                        delete(table).where(pk.in_([r[pk.name] for r in rows]), column < cutoff)
                    )
                    report.deleted += int(result.rowcount or 0)
                if len(rows) < batch_size:
                    break
        except SQLAlchemyError as exc:
            if database_unavailable(exc):
                raise DatabaseUnavailableError(str(exc).splitlines()[0]) from exc
            report.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return {
        "archived": sum(r.archived for r in reports),
        "deleted": sum(r.deleted for r in reports),
        "rules": [r.as_dict() for r in reports],
    }
