"""SQLite queues: many SQS-like queues in one database file.

Copies SQS standard-queue behaviour (see the Queue port): visibility timeout measured on the
injected clock, receive counts, redrive to a dead-letter queue when the receive count would
exceed ``max_receives`` (the message keeps its id and receive count, as in SQS), ``delay_s``,
batch limits, and receipts that go stale once the message is received again.

Concurrency: WAL journal, a busy timeout, one connection per thread (and per process after a
fork), and ``BEGIN IMMEDIATE`` around every read-modify-write so that concurrent consumers in
any thread or process never get the same message within its visibility window.

Departures from SQS: delivery order is oldest-visible first (SQS standard is best-effort);
no retention period (messages stay until deleted or purged); purge is immediate and may be
repeated at once (SQS allows one purge per 60 s).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from stratus.platform.adapters import queuerules
from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.ports.clock import Clock
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.queue import Message, QueueCounts

__all__ = ["SqliteQueue", "SqliteQueueBroker"]

#: How long a writer waits for the database lock before BackendUnavailableError.
BUSY_TIMEOUT_MS = 10_000
#: Real-time pause between polls of a long-polling receive.
POLL_INTERVAL_S = 0.02

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    name          TEXT PRIMARY KEY,
    visibility_s  INTEGER NOT NULL,
    dead_letter   TEXT,
    max_receives  INTEGER,
    created_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    queue             TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    body              TEXT NOT NULL,
    attributes        TEXT,
    sent_at           REAL NOT NULL,
    visible_at        REAL NOT NULL,
    receive_count     INTEGER NOT NULL DEFAULT 0,
    first_received_at REAL,
    receipt           TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at, seq);
"""


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced, so that the broker's registry of open
    connections does not keep those of finished threads alive."""


def _utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


class SqliteQueueBroker:
    """Creates, finds and deletes :class:`SqliteQueue` objects kept in one SQLite file.

    Safe to share between threads; several processes may open the same file.
    """

    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create {self.path.parent}: {exc}") from exc
        with self._translate():
            self._connection().executescript(_SCHEMA)

    # -- plumbing ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,  # each thread has its own; close() may run elsewhere
                factory=_Connection,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            self._local.pid = os.getpid()
            with self._lock:
                self._connections.add(conn)
        return conn

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"queue database {self.path}: {exc}") from exc
        except OSError as exc:
            raise BackendUnavailableError(f"queue database {self.path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken with BEGIN IMMEDIATE (the database's write lock)."""
        with self._translate():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # also after a failed COMMIT, so the next BEGIN works
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def close(self) -> None:
        """Close every connection this broker opened (in any thread)."""
        with self._lock:
            connections = list(self._connections)
            self._connections = weakref.WeakSet()
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    @staticmethod
    def _settings(conn: sqlite3.Connection, name: str) -> tuple[int, str | None, int | None] | None:
        row = conn.execute(
            "SELECT visibility_s, dead_letter, max_receives FROM queues WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def _require(self, conn: sqlite3.Connection, name: str) -> tuple[int, str | None, int | None]:
        settings = self._settings(conn, name)
        if settings is None:
            raise NotFoundError(f"queue {name!r} does not exist")
        return settings

    # -- QueueBroker ------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        visibility_s: int = 30,
        dead_letter: str | None = None,
        max_receives: int | None = None,
    ) -> SqliteQueue:
        """Create the queue (idempotent for the same settings; other settings are refused)."""
        queuerules.check_queue_name(name)
        queuerules.check_queue_settings(visibility_s, dead_letter, max_receives)
        wanted = (visibility_s, dead_letter, max_receives)
        with self._write() as conn:
            existing = self._settings(conn, name)
            if existing is not None:
                if existing != wanted:
                    # SQS: QueueAlreadyExists when attributes differ from the existing queue's.
                    raise InvalidRequestError(
                        f"queue {name!r} already exists with other settings {existing}"
                    )
            else:
                if dead_letter is not None and self._settings(conn, dead_letter) is None:
                    raise NotFoundError(f"dead-letter queue {dead_letter!r} does not exist")
                conn.execute(
                    "INSERT INTO queues (name, visibility_s, dead_letter, max_receives, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (name, visibility_s, dead_letter, max_receives, self._now()),
                )
        return SqliteQueue(self, name)

    def get(self, name: str) -> SqliteQueue:
        """The queue with this name; NotFoundError when it does not exist."""
        with self._translate():
            self._require(self._connection(), name)
        return SqliteQueue(self, name)

    def delete(self, name: str) -> None:
        """Delete the queue and its messages; NotFoundError when it does not exist."""
        with self._write() as conn:
            self._require(conn, name)
            conn.execute("DELETE FROM messages WHERE queue = ?", (name,))
            conn.execute("DELETE FROM queues WHERE name = ?", (name,))

    def names(self, prefix: str = "") -> list[str]:
        """Names of existing queues starting with ``prefix``, sorted."""
        with self._translate():
            rows = (
                self._connection()
                .execute(
                    "SELECT name FROM queues WHERE substr(name, 1, ?) = ? ORDER BY name",
                    (len(prefix), prefix),
                )
                .fetchall()
            )
        return [row[0] for row in rows]

    def __repr__(self) -> str:
        return f"SqliteQueueBroker({str(self.path)!r})"


class SqliteQueue:
    """One queue of a :class:`SqliteQueueBroker`; a cheap handle, the state lives in SQLite."""

    def __init__(self, broker: SqliteQueueBroker, name: str) -> None:
        self.name = name
        self._broker = broker

    def __repr__(self) -> str:
        return f"SqliteQueue({self.name!r})"

    def send(
        self, body: str, *, delay_s: int = 0, attributes: Mapping[str, str] | None = None
    ) -> str:
        """Send one message; return its message id."""
        queuerules.check_send(body, delay_s, attributes)
        message_id = str(uuid.uuid4())
        now = self._broker._now()
        encoded = json.dumps(dict(attributes)) if attributes else None
        with self._broker._translate():
            cursor = self._broker._connection().execute(
                "INSERT INTO messages (queue, message_id, body, attributes, sent_at, visible_at)"
                " SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM queues WHERE name = ?)",
                (self.name, message_id, body, encoded, now, now + delay_s, self.name),
            )
        if cursor.rowcount != 1:
            raise NotFoundError(f"queue {self.name!r} does not exist")
        return message_id

    def send_batch(self, bodies: Sequence[str]) -> list[str]:
        """Send 1..10 messages (at most MAX_MESSAGE_BYTES in all) atomically; return their ids."""
        queuerules.check_batch(bodies)
        now = self._broker._now()
        ids = [str(uuid.uuid4()) for _ in bodies]
        with self._broker._write() as conn:
            self._broker._require(conn, self.name)
            conn.executemany(
                "INSERT INTO messages (queue, message_id, body, sent_at, visible_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(self.name, mid, body, now, now) for mid, body in zip(ids, bodies, strict=True)],
            )
        return ids

    def receive(
        self, max_messages: int = 1, *, visibility_s: int | None = None, wait_s: float = 0
    ) -> list[Message]:
        """Receive up to ``max_messages`` visible messages and hide them for the visibility
        timeout. ``wait_s`` > 0 long-polls: it re-checks every few milliseconds of *real* time
        (so another thread or process can send meanwhile) until a message arrives or
        ``wait_s`` real seconds have passed."""
        queuerules.check_receive(max_messages, visibility_s, wait_s)
        deadline = time.monotonic() + wait_s
        while True:
            messages = self._receive_once(max_messages, visibility_s)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            time.sleep(min(POLL_INTERVAL_S, remaining))

    def _receive_once(self, max_messages: int, visibility_s: int | None) -> list[Message]:
        broker = self._broker
        result: list[Message] = []
        with broker._write() as conn:
            default_visibility, dead_letter, max_receives = broker._require(conn, self.name)
            now = broker._now()
            hidden_until = now + (default_visibility if visibility_s is None else visibility_s)
            if dead_letter is not None and broker._settings(conn, dead_letter) is None:
                dead_letter = None  # the DLQ was deleted: keep delivering, as SQS does
            handled: list[int] = []
            while len(result) < max_messages:
                # Oldest-visible first: the (queue, visible_at, seq) index serves both the
                # filter and the order, so a receive costs the same with 10 or 10^6 messages.
                # Rows already handled in this call are excluded (visibility 0 leaves them
                # visible); the loop only repeats to refill after moves to the DLQ.
                limit = max_messages - len(result)
                exclude = ",".join("?" * len(handled))
                rows = conn.execute(
                    "SELECT seq, message_id, body, attributes, sent_at, receive_count,"
                    " first_received_at FROM messages"
                    " WHERE queue = ? AND visible_at <= ?"
                    + (f" AND seq NOT IN ({exclude})" if handled else "")
                    + " ORDER BY visible_at, seq LIMIT ?",
                    (self.name, now, *handled, limit),
                ).fetchall()
                moved = False
                for seq, message_id, body, attributes, sent_at, count, first_seen in rows:
                    handled.append(seq)
                    if dead_letter is not None and max_receives and count >= max_receives:
                        # SQS redrive: the receive that would exceed maxReceiveCount moves the
                        # message to the DLQ instead (same id, receive count kept, visible now).
                        conn.execute(
                            "UPDATE messages SET queue = ?, receipt = NULL, visible_at = ?"
                            " WHERE seq = ?",
                            (dead_letter, now, seq),
                        )
                        moved = True
                        continue
                    receipt = f"{uuid.uuid4().hex}{seq:x}"
                    first = now if first_seen is None else first_seen
                    conn.execute(
                        "UPDATE messages SET receive_count = receive_count + 1, receipt = ?,"
                        " visible_at = ?, first_received_at = ? WHERE seq = ?",
                        (receipt, hidden_until, first, seq),
                    )
                    result.append(
                        Message(
                            message_id=message_id,
                            body=body,
                            receipt=receipt,
                            receive_count=count + 1,
                            attributes=json.loads(attributes) if attributes else {},
                            sent_at=_utc(sent_at),
                            first_received_at=_utc(first),
                        )
                    )
                if not moved or len(rows) < limit:
                    break
        return result

    def _by_receipt(self, sql: str, params: tuple[object, ...]) -> None:
        """Run a statement on the message holding a receipt; stale receipts do nothing."""
        broker = self._broker
        with broker._translate():
            conn = broker._connection()
            if conn.execute(sql, params).rowcount == 0:
                broker._require(conn, self.name)

    def delete(self, receipt: str) -> None:
        """Delete a received message. An unknown or stale receipt is ignored, as SQS does."""
        self._by_receipt(
            "DELETE FROM messages WHERE queue = ? AND receipt = ?", (self.name, receipt)
        )

    def delete_batch(self, receipts: Sequence[str]) -> None:
        """Delete up to ten received messages in one statement (one commit)."""
        queuerules.check_receipts(receipts)
        if not receipts:
            return
        marks = ",".join("?" * len(receipts))
        self._by_receipt(
            f"DELETE FROM messages WHERE queue = ? AND receipt IN ({marks})",
            (self.name, *receipts),
        )

    def change_visibility(self, receipt: str, visibility_s: int) -> None:
        """Make a received message visible again ``visibility_s`` seconds from now.

        Departure: SQS refuses a stale receipt (MessageNotInflight); here it is ignored."""
        queuerules.check_visibility(visibility_s)
        self._by_receipt(
            "UPDATE messages SET visible_at = ? WHERE queue = ? AND receipt = ?",
            (self._broker._now() + visibility_s, self.name, receipt),
        )

    def counts(self) -> QueueCounts:
        """Visible, in-flight (received, still hidden) and delayed (never received) messages."""
        broker = self._broker
        now = broker._now()
        with broker._translate():
            conn = broker._connection()
            broker._require(conn, self.name)
            visible, in_flight, delayed = conn.execute(
                "SELECT"
                " coalesce(sum(visible_at <= :now), 0),"
                " coalesce(sum(visible_at > :now AND receipt IS NOT NULL), 0),"
                " coalesce(sum(visible_at > :now AND receipt IS NULL), 0)"
                " FROM messages WHERE queue = :queue",
                {"now": now, "queue": self.name},
            ).fetchone()
        return QueueCounts(visible=visible, in_flight=in_flight, delayed=delayed)

    def purge(self) -> None:
        """Delete every message of this queue."""
        with self._broker._write() as conn:
            self._broker._require(conn, self.name)
            conn.execute("DELETE FROM messages WHERE queue = ?", (self.name,))
