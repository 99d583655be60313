"""Costs ETL throughput: a CUR-like file through the whole local pipeline.

    .venv/bin/python benchmarks/costs_pipeline.py [--rows 1000000] [--seed 42] [--chunk-rows N]
        [--format cur|focus] [--keep FILE | --file FILE]

A legacy-CUR-like CSV of N rows (``../shared/tools/gen_cur_like.py``, 1M rows ≈ 860 MB) is
generated into a temporary directory, then put in the costs template's bucket of a
LocalRuntime: the EventBridge rule starts the ETL state machine (mark started, temporary
queue, row-aligned chunk reads, process-chunk workers into DuckDB, wait, publish, delete
queue, mark processed). Figures: the ETL's wall and CPU time and rows/s from the object's
creation to the file marked processed; the same with the upload into the bucket (MD5, write,
fsync: disk-bound) in front; peak RSS of this process.

Baseline, measured in the same run: DuckDB alone reading the same file and aggregating
billed cost by service (``read_csv`` + ``GROUP BY``), and the ratio pipeline/baseline. The
pipeline's total is checked against the baseline's to the 12th decimal.

Goals (issue 7): >= 100k rows/s end to end on 2 cores (stretch 200k), peak RSS <= 1 GB.
Without ../shared (the generator and its source file), this says so and exits 0.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import duckdb

from stratus.platform.adapters.local.clock import AcceleratedClock
from stratus.solutions.costs import pipeline

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
#: format -> (generator, its source file, grouping column, billed cost column)
FORMATS = {
    "cur": (
        SHARED / "tools" / "gen_cur_like.py",
        SHARED / "data" / "costs" / "aws_cur_legacy_anon_focus_converters.csv",
        "product/ProductName",
        "lineItem/UnblendedCost",
    ),
    "focus": (
        SHARED / "tools" / "gen_focus_like.py",
        SHARED / "data" / "costs" / "focus_1.0_sample_official.csv",
        "ServiceName",
        "BilledCost",
    ),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process (every thread, DuckDB's included): a figure other load on
    the machine does not inflate as it does wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def baseline(path: Path, group: str, cost: str) -> tuple[float, int, Decimal]:
    con = duckdb.connect()
    start = time.perf_counter()
    rows = con.execute(
        f'SELECT "{group}", COUNT(*), SUM(CAST("{cost}" AS DECIMAL(38,12)))'
        " FROM read_csv(?, all_varchar = true, header = true) GROUP BY 1",
        [str(path)],
    ).fetchall()
    elapsed = time.perf_counter() - start
    return elapsed, sum(int(r[1]) for r in rows), sum((Decimal(r[2]) for r in rows), Decimal(0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="cur",
        help="cur: legacy CUR (the SQL path); focus: FOCUS 1.0 (the Python normaliser)",
    )
    parser.add_argument("--chunk-rows", type=int, default=None, help="default: the template's")
    parser.add_argument(
        "--file", type=Path, default=None,
        help="a CSV of --format to use instead of generating one (e.g. one kept from a run)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated file here")
    args = parser.parse_args()
    generator, source, group, cost = FORMATS[args.format]
    if args.file is None and (not generator.is_file() or not source.is_file()):
        print(f"skipped: {generator} or {source} is absent (../shared is not here)")
        return 0
    with tempfile.TemporaryDirectory(prefix="stratus-costs-bench-") as tmp:
        work = Path(tmp)
        data = args.file or args.keep or work / f"{args.format}.csv"
        start = time.perf_counter()
        if args.file is None:
            subprocess.run(
                [sys.executable, str(generator), str(source), str(data), str(args.rows),
                 str(args.seed)],
                check=True,
            )  # fmt: skip
        size_mb = data.stat().st_size / 1e6
        if args.file is None:
            print(
                f"generated {args.rows:,} rows, {size_mb:,.0f} MB"
                f" in {time.perf_counter() - start:.1f} s"
            )
        else:
            print(f"file {data}: {size_mb:,.0f} MB")

        rss_before = peak_rss_mb()
        with pipeline.local_runtime(
            work / "home",
            # 60x: the "Wait 10 s" between worker rounds lasts 0.17 s, and a chunk message's
            # 300 s visibility timeout (on the same clock) still lasts 5 s, longer than any
            # chunk takes (at 600x it was 0.5 s: chunks were redelivered and done twice).
            clock=AcceleratedClock(60),
            parameters={"ChunkRows": str(args.chunk_rows)} if args.chunk_rows else None,
        ) as runtime:
            start, cpu_start = time.perf_counter(), cpu_s()
            with data.open("rb") as stream:
                key = pipeline.upload(runtime, stream, client_id="bench", name=data.name)
            uploaded, cpu_uploaded = time.perf_counter(), cpu_s()
            result = pipeline.wait_for_etl(runtime, key)
            elapsed, cpu = time.perf_counter() - start, cpu_s() - cpu_start
            etl, etl_cpu = time.perf_counter() - uploaded, cpu_s() - cpu_uploaded
        rss_pipeline = peak_rss_mb()
        if result.status != "PROCESSED":
            print(f"pipeline failed: {result.status} {result.reason}")
            return 1
        accepted = result.summary["accepted"]
        total = sum((Decimal(t["billed_cost"]) for t in result.summary["totals"]), Decimal(0))
        print(
            f"ETL (object created -> reports built, file processed): {accepted:,} rows accepted,"
            f" {result.summary['rejected']} rejected, {result.summary['chunks']} chunks in"
            f" {etl:.1f} s = {accepted / etl:,.0f} rows/s ({size_mb / etl:.1f} MB/s);"
            f" CPU {etl_cpu:.1f} s = {accepted / etl_cpu:,.0f} rows per CPU-second"
        )
        print(
            f"with the upload into the bucket ({elapsed - etl:.1f} s: MD5, write, fsync):"
            f" {elapsed:.1f} s = {accepted / elapsed:,.0f} rows/s;"
            f" CPU {cpu:.1f} s = {accepted / cpu:,.0f} rows per CPU-second"
        )
        print(f"peak RSS: {rss_pipeline:,.0f} MB (before the pipeline: {rss_before:,.0f} MB)")

        base_s, base_rows, base_total = baseline(data, group, cost)
        print(
            f"baseline DuckDB read_csv + GROUP BY: {base_rows:,} rows in {base_s:.2f} s"
            f" = {base_rows / base_s:,.0f} rows/s"
        )
        print(
            f"ratio to the baseline's time: ETL {etl / base_s:.1f}x,"
            f" with the upload {elapsed / base_s:.1f}x"
        )
        exact = total == base_total and accepted == base_rows
        print(
            f"totals: pipeline {total} vs baseline {base_total}: {'equal' if exact else 'DIFFER'}"
        )
        return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
