"""User-action tracking: a warehouse port, its adapters, and the report queries.

Events are appended to a store of their own, apart from the operational table, and queried
by day ranges: daily active users, views per channel, top streams, actions by count.
``bootstrap`` picks the adapter:

* local target: :class:`SqliteWarehouse`, one SQLite file ``$STRATUS_HOME/streaming/
  warehouse.sqlite3`` (an ``events`` fact table indexed by day), shared by every function of
  the runtime;
* aws target: :class:`TableWarehouse`, the ``TRACK#<day>`` partitions of the main table, until
  a Firehose -> S3 -> Athena pipeline is written (not done: see docs/solutions/streaming.md).

Both run the same contract tests (``tests/unit/streaming/test_warehouse.py``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from stratus.platform.ports import PortError
from stratus.solutions.streaming.store import Store

VIEW_ACTIONS = ("view_channel", "view_recording")
MAX_DAYS = 92


@dataclass(frozen=True)
class TrackedEvent:
    """One user action. ``user_id`` is ``"-"`` for an anonymous visitor."""

    event_id: str
    at: datetime
    action: str
    user_id: str = "-"
    channel_id: str = ""
    stream_id: str = ""
    recording_id: str = ""
    detail: str = ""

    @property
    def day(self) -> str:
        return self.at.date().isoformat()


class Warehouse(Protocol):
    """Append-only store of user actions with the report's aggregate queries.

    Ranges are inclusive days ``start``..``end``."""

    def record(self, event: TrackedEvent) -> None:
        """Append one event (idempotent on ``event_id``)."""
        ...

    def actions(self, start: date, end: date) -> dict[str, int]:
        """Events per action, most frequent first."""
        ...

    def daily_active_users(self, start: date, end: date) -> dict[str, int]:
        """Distinct signed-in users per day (days without any are absent)."""
        ...

    def users(self, start: date, end: date) -> int:
        """Distinct signed-in users over the range."""
        ...

    def views_per_channel(self, start: date, end: date) -> dict[str, int]:
        """Channel page and recording views per channel, most viewed first."""
        ...

    def top_streams(self, start: date, end: date, limit: int = 10) -> list[tuple[str, int]]:
        """``(stream id, views)``: live page views plus views of the stream's recording."""
        ...


def days(start: date, end: date) -> Iterator[str]:
    """Every day of the range as ``YYYY-MM-DD``."""
    current = start
    while current <= end:
        yield current.isoformat()
        current += timedelta(days=1)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, at TEXT NOT NULL, day TEXT NOT NULL, action TEXT NOT NULL,
    user_id TEXT NOT NULL, channel_id TEXT NOT NULL, stream_id TEXT NOT NULL,
    recording_id TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_day ON events (day, action, channel_id, stream_id);
CREATE INDEX IF NOT EXISTS events_users ON events (day, user_id);
"""


class SqliteWarehouse:
    """The local warehouse: a fact table in its own SQLite file (WAL, one connection), indexed
    for the report's day-range aggregates."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=10,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Analytics, not money: a commit is not fsynced (WAL + NORMAL survives a crash of
            # the process; a power cut may lose the last events), ~10x more appends per second.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise PortError(f"warehouse {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return list(self._db.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise PortError(f"warehouse {self.path}: {exc}") from exc

    def record(self, event: TrackedEvent) -> None:
        self._rows(
            "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            event.event_id, event.at.isoformat(), event.day, event.action, event.user_id,
            event.channel_id, event.stream_id, event.recording_id, event.detail,
        )

    def actions(self, start: date, end: date) -> dict[str, int]:
        rows = self._rows(
            "SELECT action, count(*) AS n FROM events WHERE day BETWEEN ? AND ? "
            "GROUP BY action ORDER BY n DESC, action", start.isoformat(), end.isoformat())
        return {str(a): int(n) for a, n in rows}

    def daily_active_users(self, start: date, end: date) -> dict[str, int]:
        rows = self._rows(
            "SELECT day, count(DISTINCT user_id) FROM events WHERE day BETWEEN ? AND ? "
            "AND user_id <> '-' GROUP BY day ORDER BY day", start.isoformat(), end.isoformat())
        return {str(d): int(n) for d, n in rows}

    def users(self, start: date, end: date) -> int:
        rows = self._rows(
            "SELECT count(DISTINCT user_id) FROM events WHERE day BETWEEN ? AND ? "
            "AND user_id <> '-'", start.isoformat(), end.isoformat())
        return int(rows[0][0])

    def views_per_channel(self, start: date, end: date) -> dict[str, int]:
        rows = self._rows(
            "SELECT channel_id, count(*) AS n FROM events WHERE day BETWEEN ? AND ? "
            "AND action IN (?, ?) AND channel_id <> '' GROUP BY channel_id "
            "ORDER BY n DESC, channel_id", start.isoformat(), end.isoformat(), *VIEW_ACTIONS)
        return {str(c): int(n) for c, n in rows}

    def top_streams(self, start: date, end: date, limit: int = 10) -> list[tuple[str, int]]:
        rows = self._rows(
            "SELECT stream_id, count(*) AS n FROM events WHERE day BETWEEN ? AND ? "
            "AND action IN (?, ?) AND stream_id <> '' GROUP BY stream_id "
            "ORDER BY n DESC, stream_id LIMIT ?",
            start.isoformat(), end.isoformat(), *VIEW_ACTIONS, limit)
        return [(str(s), int(n)) for s, n in rows]


class TableWarehouse:
    """The aws target's stand-in: ``TRACK#<day>`` partitions of the main table, aggregated in
    the function (fine for a report over days of a small platform, not for a big one)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, event: TrackedEvent) -> None:
        item = {k: v for k, v in asdict(event).items() if k not in ("event_id", "at")}
        self.store.track(event.day, {"id": event.event_id, "at": event.at.isoformat(), **item})

    def _events(self, start: date, end: date) -> list[dict[str, Any]]:
        return [e for day in days(start, end) for e in self.store.tracked(day)]

    def actions(self, start: date, end: date) -> dict[str, int]:
        counts = Counter(str(e["action"]) for e in self._events(start, end))
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def daily_active_users(self, start: date, end: date) -> dict[str, int]:
        seen: dict[str, set[str]] = {}
        for e in self._events(start, end):
            if e.get("user_id", "-") != "-":
                seen.setdefault(str(e["at"])[:10], set()).add(str(e["user_id"]))
        return {day: len(users) for day, users in sorted(seen.items())}

    def users(self, start: date, end: date) -> int:
        return len({str(e["user_id"]) for e in self._events(start, end)
                    if e.get("user_id", "-") != "-"})

    def _views(self, start: date, end: date, field: str) -> Counter[str]:
        return Counter(str(e.get(field) or "") for e in self._events(start, end)
                       if e.get("action") in VIEW_ACTIONS and e.get(field))

    def views_per_channel(self, start: date, end: date) -> dict[str, int]:
        counts = self._views(start, end, "channel_id")
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def top_streams(self, start: date, end: date, limit: int = 10) -> list[tuple[str, int]]:
        counts = self._views(start, end, "stream_id")
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
