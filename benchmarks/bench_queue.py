"""Local queue throughput: SqliteQueue send/receive/delete against a naive raw-sqlite3 queue.

Run: .venv/bin/python benchmarks/bench_queue.py [--messages N]

Each case sends N messages, then receives and deletes them all, and reports messages/s for the
whole cycle. The baseline, measured in the same run on the same disk, is the simplest queue one
could write on sqlite3 (INSERT; SELECT ... LIMIT; DELETE) with the same WAL settings but none of
the SQS semantics (no visibility timeout, receive count, receipts, DLQ or locking for
concurrent consumers). The ratio says what those semantics cost. Bounded: each case stops
after its time budget and reports what it did.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stratus.platform.adapters.local.queue import SqliteQueueBroker

BUDGET_S = 10.0  # per run of a case, so the whole script stays well under a minute
REPEATS = 5  # best of, to tame noise from a shared machine


def _open_raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE q (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)")
    return conn


def raw_single(path: Path, n: int, deadline: float) -> int:
    conn = _open_raw(path)
    sent = 0
    while sent < n and time.perf_counter() < deadline:
        conn.execute("INSERT INTO q (body) VALUES (?)", (f"message {sent}",))
        sent += 1
    done = 0
    while row := conn.execute("SELECT id, body FROM q ORDER BY id LIMIT 1").fetchone():
        conn.execute("DELETE FROM q WHERE id = ?", (row[0],))
        done += 1
    conn.close()
    return done


def raw_batch(path: Path, n: int, deadline: float) -> int:
    conn = _open_raw(path)
    sent = 0
    while sent < n and time.perf_counter() < deadline:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO q (body) VALUES (?)", [(f"message {sent + i}",) for i in range(10)]
        )
        conn.execute("COMMIT")
        sent += 10
    done = 0
    while rows := conn.execute("SELECT id, body FROM q ORDER BY id LIMIT 10").fetchall():
        conn.execute("BEGIN")
        conn.executemany("DELETE FROM q WHERE id = ?", [(row[0],) for row in rows])
        conn.execute("COMMIT")
        done += len(rows)
    conn.close()
    return done


def stratus_single(path: Path, n: int, deadline: float) -> int:
    broker = SqliteQueueBroker(path)
    queue = broker.create("bench")
    sent = 0
    while sent < n and time.perf_counter() < deadline:
        queue.send(f"message {sent}")
        sent += 1
    done = 0
    while batch := queue.receive(1):
        queue.delete(batch[0].receipt)
        done += 1
    broker.close()
    return done


def stratus_batch(path: Path, n: int, deadline: float) -> int:
    broker = SqliteQueueBroker(path)
    queue = broker.create("bench")
    sent = 0
    while sent < n and time.perf_counter() < deadline:
        queue.send_batch([f"message {sent + i}" for i in range(10)])
        sent += 10
    done = 0
    while batch := queue.receive(10):
        queue.delete_batch([message.receipt for message in batch])
        done += len(batch)
    broker.close()
    return done


Case = Callable[[Path, int, float], int]


def measure(case: Case, workdir: Path, n: int) -> float:
    """Best messages/s of REPEATS runs, each on a fresh database file."""
    best = 0.0
    for attempt in range(REPEATS):
        path = workdir / f"{case.__name__}-{attempt}.db"
        start = time.perf_counter()
        # Sending stops at half the budget; draining what was sent takes the rest.
        count = case(path, n, start + BUDGET_S / 2 / REPEATS)
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000, help="messages per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {
            case.__name__: measure(case, workdir, args.messages)
            for case in (raw_single, stratus_single, raw_batch, stratus_batch)
        }
    print(f"send + receive + delete, {args.messages} messages, best of {REPEATS} (messages/s)")
    for name, rate in results.items():
        print(f"  {name:<16} {rate:>10,.0f}")
    print("ratio SqliteQueue / raw sqlite3 baseline (1.0 = as fast as the naive queue)")
    print(f"  single    {results['stratus_single'] / results['raw_single']:.2f}")
    print(f"  batch(10) {results['stratus_batch'] / results['raw_batch']:.2f}")
    print("  (batch: send_batch + receive(10) + delete_batch, 3 statements per 10 messages)")


if __name__ == "__main__":
    main()
