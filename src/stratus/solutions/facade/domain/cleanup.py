"""Clean-up rules and archive layout (pure).

A rule says: rows of ``table`` whose ``column`` (a timestamp) is older than
``older_than_days`` are obsolete. The cutoff is taken at day granularity (midnight UTC of the
run's day minus the age), so every run of one day sees the same rows: a run that crashed
between archiving and deleting is simply run again and writes the same objects.

Archive objects: ``archive/<table>/dt=<YYYY-MM-DD>/<table>-<first key>-<last key>.jsonl.gz``,
one gzip'd JSON line per row, partitioned by table and by the date of the rule's column.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

ARCHIVE_PREFIX = "archive/"


class RuleError(ValueError):
    """A clean-up rule is malformed."""


@dataclass(frozen=True, slots=True)
class CleanupRule:
    """Rows of ``table`` with ``column`` older than ``older_than_days`` are obsolete."""

    table: str
    column: str
    older_than_days: int

    def cutoff(self, now: datetime) -> datetime:
        """Midnight UTC of ``now``'s day minus the age: rows strictly before it go."""
        if now.tzinfo is None:
            raise ValueError("now must be tz-aware")
        midnight = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
        return midnight - timedelta(days=self.older_than_days)


def parse_rules(text: str) -> list[CleanupRule]:
    """Rules from JSON ``[{"table", "column", "older_than_days"}]``; RuleError with reasons."""
    try:
        raw = json.loads(text or "[]")
    except ValueError as exc:
        raise RuleError(f"clean-up rules are not JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise RuleError("clean-up rules: a JSON list")
    rules = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise RuleError(f"rule {i}: an object")
        table, column, days = item.get("table"), item.get("column"), item.get("older_than_days")
        if not isinstance(table, str) or not table or not isinstance(column, str) or not column:
            raise RuleError(f"rule {i}: table and column are required strings")
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise RuleError(f"rule {i}: older_than_days must be a whole number >= 1")
        rules.append(CleanupRule(table, column, days))
    return rules


def archive_key(table: str, day: date, first_key: Any, last_key: Any) -> str:
    """Where one batch of one day's rows of ``table`` is archived."""
    return f"{ARCHIVE_PREFIX}{table}/dt={day.isoformat()}/{table}-{first_key}-{last_key}.jsonl.gz"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def encode_rows(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Gzip'd JSON lines, byte-for-byte the same for the same rows (mtime 0, sorted keys)."""
    lines = "".join(
        json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=True, default=str) + "\n"
        for row in rows
    )
    return gzip.compress(lines.encode("utf-8"), compresslevel=6, mtime=0)


def decode_rows(blob: bytes) -> list[dict[str, Any]]:
    """The rows of an archive object."""
    return [json.loads(line) for line in gzip.decompress(blob).decode("utf-8").splitlines()]


def by_day(rows: Sequence[Mapping[str, Any]], column: str) -> dict[date, list[Mapping[str, Any]]]:
    """Rows grouped by the UTC date of ``column``, in the given order within a day."""
    groups: dict[date, list[Mapping[str, Any]]] = {}
    for row in rows:
        stamp = row[column]
        groups.setdefault(stamp.astimezone(UTC).date(), []).append(row)
    return groups
