"""SqliteTableStore put/get/query throughput against raw sqlite3 running the same SQL.

Baseline: a plain sqlite3 connection on the same file and schema, executing the statements the
adapter executes (BEGIN IMMEDIATE / INSERT OR REPLACE / COMMIT; SELECT by primary key; a GSI
SELECT with ORDER BY and LIMIT) with ``json.dumps``/``json.loads`` of the item. The ratio is
adapter ops/s divided by baseline ops/s, measured in the same run; the goal is >= 0.5.

Run: .venv/bin/python benchmarks/bench_table.py [--quick]
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports.table import IndexSpec, TableSpec

SPEC = TableSpec(
    name="bench",
    indexes={"GSI1": IndexSpec("Data1", "SK"), "GSI2": IndexSpec("Data2", "SK")},
    ttl_attribute="ttl",
)
PAGE = 25


def make_item(n: int) -> dict[str, Any]:
    return {
        "PK": f"customer#{n % 200:04d}",
        "SK": f"order#{n:07d}",
        "Data1": f"status#{('open', 'shipped', 'closed')[n % 3]}",
        "Data2": f"2026-01-{n % 28 + 1:02d}",
        "total": n * 3,
        "currency": "EUR",
        "lines": [{"sku": f"sku-{n % 97}", "qty": n % 5 + 1}],
        "ttl": 1_900_000_000 + n,
    }


def best_rate(fn: Callable[[int], None], n: int, rounds: int) -> float:
    """Best ops/s over ``rounds`` runs of ``n`` operations."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(n)
        elapsed = time.perf_counter() - t0
        best = max(best, n / elapsed)
    return best


def main() -> None:
    quick = "--quick" in sys.argv
    n_put, n_get, n_query, rounds = (2000, 5000, 500, 2) if quick else (6000, 20000, 2000, 3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        store = SqliteTableStore(path, SPEC)
        raw = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        items_sql = '"t:bench"'
        insert = (
            f'INSERT OR REPLACE INTO {items_sql} (pk, sk, "gpk:GSI1", "gsk:GSI1", '
            f'"gpk:GSI2", "gsk:GSI2", ttl, item) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
        )
        select = f"SELECT item FROM {items_sql} WHERE pk = ? AND sk = ?"
        query = (
            f'SELECT item FROM {items_sql} WHERE "gpk:GSI1" = ? '
            f'ORDER BY "gsk:GSI1" ASC, pk ASC, sk ASC'
        )
        items = [make_item(n) for n in range(n_put)]

        def adapter_put(n: int) -> None:
            for i in range(n):
                store.put(items[i])

        def raw_put(n: int) -> None:
            for i in range(n):
                it = items[i]
                raw.execute("BEGIN IMMEDIATE")
                raw.execute(
                    insert,
                    (
                        it["PK"],
                        it["SK"],
                        it["Data1"],
                        it["SK"],
                        it["Data2"],
                        it["SK"],
                        float(it["ttl"]),
                        json.dumps(it, separators=(",", ":")),
                    ),
                )
                raw.execute("COMMIT")

        keys = [{"PK": it["PK"], "SK": it["SK"]} for it in items]

        def adapter_get(n: int) -> None:
            m = len(keys)
            for i in range(n):
                store.get(keys[i % m])

        def raw_get(n: int) -> None:
            m = len(keys)
            for i in range(n):
                k = keys[i % m]
                row = raw.execute(select, (k["PK"], k["SK"])).fetchone()
                json.loads(row[0])

        statuses = ["status#open", "status#shipped", "status#closed"]

        def adapter_query(n: int) -> None:
            for i in range(n):
                store.query(statuses[i % 3], index="GSI1", limit=PAGE)

        def raw_query(n: int) -> None:
            for i in range(n):
                cur = raw.execute(query, (statuses[i % 3],))
                rows = cur.fetchmany(PAGE + 1)
                cur.close()
                [json.loads(r[0]) for r in rows[:PAGE]]

        results = []
        for name, ours, base, n in (
            ("put", adapter_put, raw_put, n_put),
            ("get", adapter_get, raw_get, n_get),
            (f"query (GSI1, {PAGE} items/page)", adapter_query, raw_query, n_query),
        ):
            # Interleave so both sides see the same cache and WAL state.
            base_rate = ours_rate = 0.0
            for _ in range(rounds):
                base_rate = max(base_rate, best_rate(base, n, 1))
                ours_rate = max(ours_rate, best_rate(ours, n, 1))
            results.append((name, ours_rate, base_rate))
        raw.close()
        store.close()

    print(f"{'operation':<28} {'SqliteTableStore':>18} {'raw sqlite3':>14} {'ratio':>7}")
    for name, ours_rate, base_rate in results:
        print(
            f"{name:<28} {ours_rate:>14,.0f}/s {base_rate:>12,.0f}/s {ours_rate / base_rate:>7.2f}"
        )
    worst = min(o / b for _, o, b in results)
    print(f"worst ratio {worst:.2f} (goal >= 0.50): {'OK' if worst >= 0.5 else 'BELOW GOAL'}")


if __name__ == "__main__":
    main()
