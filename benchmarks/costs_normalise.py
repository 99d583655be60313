"""Costs normalisation per export format: the Python normalisers (the reference) against the
DuckDB SQL path, on the same chunks in the same run, in rows per CPU-second.

    .venv/bin/python benchmarks/costs_normalise.py [--rows 200000] [--format cur focus azure gcp]

For each format a file of ROWS rows is built in a temporary directory (CUR and FOCUS with the
generators of ../shared/tools, Azure resampled from the corpus's amortised-cost export, GCP
synthetic: the corpus has no BigQuery export), cut into 20,000-row chunks, and stored twice in
an in-memory DuckDB fact store: through ``normalise_rows`` + ``write_chunk`` (the Python path,
the baseline) and through ``write_chunk_csv`` (the SQL path). Figures: process CPU seconds of
each, rows per CPU-second, the ratio, and how many facts differ between the two loads (must be
0). Formats whose sources need ../shared are skipped, saying so, when it is absent.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stratus.solutions.costs.adapters.duckdb_facts import DuckDbFactStore
from stratus.solutions.costs.adapters.sqlfacts import FACT_COLUMNS
from stratus.solutions.costs.domain.normalise import bind, clean_header
from stratus.solutions.costs.etl import normalise_rows
from stratus.solutions.costs.ports import LoadRef

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
COSTS = SHARED / "data" / "costs"
CHUNK_ROWS = 20_000
Built = tuple[list[str], list[list[str]]]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _generated(tool: str, source: Path, rows: int, work: Path) -> Built:
    path = work / f"{tool}.csv"
    subprocess.run(
        [sys.executable, str(SHARED / "tools" / tool), str(source), str(path), str(rows), "7"],
        check=True,
    )
    table = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    return clean_header(table[0]), table[1:]


def cur(rows: int, work: Path) -> Built:
    return _generated("gen_cur_like.py", COSTS / "aws_cur_legacy_anon_focus_converters.csv",
                      rows, work)  # fmt: skip


def focus(rows: int, work: Path) -> Built:
    return _generated("gen_focus_like.py", COSTS / "focus_1.0_sample_official.csv", rows, work)


def azure(rows: int, work: Path) -> Built:
    source = COSTS / "azure_ea_amortizedcost_small_finops-toolkit.csv"
    table = list(csv.reader(io.StringIO(source.read_text("utf-8-sig"))))
    header, body = clean_header(table[0]), table[1:]
    ix = {name: i for i, name in enumerate(header)}
    rng = random.Random(1)
    out = []
    for _ in range(rows):
        row = list(rng.choice(body))
        quantity = rng.randint(1, 10**6) / 10 ** rng.randint(0, 4)
        price = round(rng.random() * 3, rng.randint(2, 6))
        row[ix["Date"]] = f"09/{rng.randint(1, 30):02d}/2023"
        row[ix["Quantity"]], row[ix["PayGPrice"]] = str(quantity), str(price)
        row[ix["Cost"]] = str(round(quantity * price * rng.random(), 9))
        out.append(row)
    return header, out


GCP_HEADER = ["billing_account_id", "service.description", "sku.id", "usage_start_time",
              "usage_end_time", "project.id", "labels", "location.location", "location.region",
              "cost", "currency", "usage.amount", "usage.unit", "credits", "invoice.month",
              "cost_type", "cost_at_list", "resource.name", "resource.global_name"]  # fmt: skip


def gcp(rows: int, work: Path) -> Built:
    rng = random.Random(3)
    out = []
    for n in range(rows):
        day, hour = 1 + n % 28, (n // 28) % 24
        cost = f"{rng.random() * rng.choice([0.01, 1, 100]):.6f}"
        credits = []
        if rng.random() < 0.4:
            credits.append({"name": "SUD", "amount": -round(float(cost) * rng.random(), 6)})
        labels = [{"key": "env", "value": rng.choice(["prod", "dev", "test"])}]
        region = rng.choice(["us-central1", "europe-west1", "asia-east1", ""])
        out.append([
            "01A2B3-C4D5E6-F7A8B9", rng.choice(["Compute Engine", "BigQuery", "Cloud Run"]),
            f"SKU-{n % 300}", f"2024-03-{day:02d}T{hour:02d}:00:00Z",
            f"2024-03-{day:02d} {hour:02d}:59:59", f"proj-{n % 40}",
            json.dumps(labels, separators=(",", ":")), region or "US", region, cost, "USD",
            f"{rng.random() * 3600:.4f}", "seconds", json.dumps(credits, separators=(",", ":")),
            "202403", rng.choice(["regular"] * 20 + ["tax", "adjustment"]),
            f"{float(cost) * 1.2:.6f}", f"vm-{n % 500}", f"//compute/vm-{n % 500}",
        ])  # fmt: skip
    return GCP_HEADER, out


FORMATS: dict[str, tuple[str, Callable[[int, Path], Built], bool]] = {
    "cur": ("aws-cur", cur, True),
    "focus": ("focus", focus, True),
    "azure": ("azure", azure, True),
    "gcp": ("gcp", gcp, False),
}


def measure(provider: str, header: list[str], body: list[list[str]]) -> tuple[float, float, int]:
    """CPU seconds of the Python path and of the SQL path, and the facts that differ."""
    chunks = [_csv(body[i : i + CHUNK_ROWS]) for i in range(0, len(body), CHUNK_ROWS)]
    store = DuckDbFactStore(":memory:")
    normaliser = bind(provider, header)
    started = time.process_time()
    for number, data in enumerate(chunks):
        rows, rejections = normalise_rows(data.decode(), header, normaliser, 1)
        store.write_chunk(LoadRef("python", "c", provider), number, rows, rejections)
    python = time.process_time() - started
    started = time.process_time()
    for number, data in enumerate(chunks):
        if store.write_chunk_csv(LoadRef("sql", "c", provider), number, provider, header, data):
            continue
        raise SystemExit(f"{provider}: chunk {number} left the SQL path")
    sql = time.process_time() - started
    columns = ", ".join(FACT_COLUMNS[2:])
    ((differ,),) = store._read(
        f"SELECT count(*) FROM ((SELECT {columns} FROM cost_facts WHERE load_id = 'sql'"
        f" EXCEPT ALL SELECT {columns} FROM cost_facts WHERE load_id = 'python') UNION ALL"
        f" (SELECT {columns} FROM cost_facts WHERE load_id = 'python'"
        f" EXCEPT ALL SELECT {columns} FROM cost_facts WHERE load_id = 'sql'))"
    )
    return python, sql, int(differ)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--format", nargs="+", choices=sorted(FORMATS), default=list(FORMATS))
    args = parser.parse_args()
    print(f"{args.rows:,} rows per format, chunks of {CHUNK_ROWS:,}, process CPU seconds")
    print(f"{'format':8} {'python rows/CPU-s':>18} {'sql rows/CPU-s':>15} {'ratio':>6} differ")
    failed = False
    with tempfile.TemporaryDirectory(prefix="stratus-normalise-bench-") as tmp:
        for name in args.format:
            provider, build, needs_shared = FORMATS[name]
            if needs_shared and not COSTS.is_dir():
                print(f"{name:8} skipped: {COSTS} is absent (../shared is not here)")
                continue
            header, body = build(args.rows, Path(tmp))
            python, sql, differ = measure(provider, header, body)
            rows = len(body)
            print(f"{name:8} {rows / python:18,.0f} {rows / sql:15,.0f} {python / sql:5.1f}x"
                  f" {differ}")  # fmt: skip
            failed |= differ != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
