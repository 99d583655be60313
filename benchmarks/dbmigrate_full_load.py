"""`stratus migrate full` vs pgloader: a generated multi-type SQLite table into PostgreSQL.

Both tools run as child processes on the same SQLite file in the same run; the figures are
wall-clock rows/s and the child's peak RSS. Memory flatness: ours is also run on a quarter
of the rows, and the two peaks are compared.

    STRATUS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python benchmarks/dbmigrate_full_load.py [ROWS]

Skips (exit 0 with a message) when PostgreSQL is not configured. pgloader is optional
(`apt-get install pgloader`); without it only our figures are printed.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from stratus.solutions.dbmigrate.postgres import conninfo

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
STRATUS = str(Path(sys.executable).parent / "stratus")


def generate(path: Path, rows: int) -> None:
    """A table with integer, text, decimal, float, boolean, timestamp, blob and uuid-ish text."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, "
        "amount NUMERIC(12,2), score REAL, active BOOLEAN NOT NULL, created DATETIME, "
        "payload BLOB, ref VARCHAR(36))"
    )
    rng = random.Random(7)
    batch = []
    for i in range(1, rows + 1):
        batch.append(
            (
                i,
                f"event-{rng.randrange(1_000_000)}",
                round(rng.uniform(-1000, 1000), 2),
                rng.random(),
                rng.randrange(2),
                f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} "
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
                rng.randbytes(8),
                f"{rng.getrandbits(128):032x}",
            )
        )
        if len(batch) == 50_000:
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", batch)
            batch.clear()
    if batch:
        db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", batch)
    db.commit()
    db.close()


def fresh_database(admin: str, name: str) -> str:
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return admin.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(command: list[str]) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS in MiB (a fresh measurement per child)."""
    wrapper = [
        sys.executable,
        "-c",
        "import resource,subprocess,sys;"
        "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
        "sys.stderr.write(r.stderr[-2000:] if r.returncode else '');"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(r.returncode)",
        *command,
    ]
    started = time.perf_counter()
    result = subprocess.run(wrapper, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip()[-800:]}")
    return seconds, int(result.stdout.strip().splitlines()[-1]) // 1024


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def main() -> int:
    url = os.environ.get("STRATUS_TEST_POSTGRES_URL")
    if not url:
        print("skipped: STRATUS_TEST_POSTGRES_URL is not set")
        return 0
    admin = conninfo(url)
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.sqlite", Path(tmp) / "large.sqlite"
        print(f"generating {ROWS:,} rows (and {ROWS // 4:,}) ...")
        generate(large, ROWS)
        generate(small, ROWS // 4)

        target = fresh_database(admin, "bench_dbmigrate_ours")
        ours_s, ours_mem = run(
            [STRATUS, "migrate", "full", "--source", f"sqlite:///{large}", "--target", target,
             "--batch-size", "10000"]
        )  # fmt: skip
        assert count(target, "events") == ROWS
        drop_database(admin, "bench_dbmigrate_ours")
        target = fresh_database(admin, "bench_dbmigrate_ours")
        _, ours_small_mem = run(
            [STRATUS, "migrate", "full", "--source", f"sqlite:///{small}", "--target", target,
             "--batch-size", "10000"]
        )  # fmt: skip
        drop_database(admin, "bench_dbmigrate_ours")
        print(f"stratus migrate full: {ours_s:6.1f} s  {ROWS / ours_s:>10,.0f} rows/s  "
              f"peak {ours_mem} MiB ({ours_small_mem} MiB at {ROWS // 4:,} rows)")  # fmt: skip

        pgloader = shutil.which("pgloader")
        if not pgloader:
            print("pgloader not installed (apt-get install pgloader): no baseline")
            return 0
        target = fresh_database(admin, "bench_dbmigrate_pgloader")
        base_s, base_mem = run([pgloader, "--quiet", f"sqlite://{large}", target])
        loaded = count(target, "events")
        drop_database(admin, "bench_dbmigrate_pgloader")
        print(f"pgloader            : {base_s:6.1f} s  {loaded / base_s:>10,.0f} rows/s  "
              f"peak {base_mem} MiB")  # fmt: skip
        print(
            f"ratio (ours / pgloader): throughput x{base_s / ours_s:.2f}, "
            f"memory x{ours_mem / max(base_mem, 1):.2f}; "
            f"memory growth for 4x rows: x{ours_mem / max(ours_small_mem, 1):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
