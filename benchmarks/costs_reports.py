"""Reporting API latency over loopback HTTP: p50/p95 uncached and cached, per report.

A FOCUS file of N rows (default 200 000: 60 days x N/60 resources, 6 services, 2 accounts,
3 regions, a team tag) goes through the real local pipeline (Credentials API -> uploader
state machine -> reports bucket -> ETL state machine -> DuckDB facts). Then each report is
asked REPEAT times with a different cache key each time (uncached: every answer computed by
the handler) and REPEAT times with the same URL (cached: API Gateway's stage cache answers).
Goals (issue 7): p95 < 100 ms uncached, < 20 ms cached.

    .venv/bin/python benchmarks/costs_reports.py [ROWS] [REPEAT]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.costs.demo import ACCOUNTS, COLUMNS, REGIONS, SERVICES, TEAMS

TEMPLATE = (
    Path(__file__).resolve().parent.parent / "src/stratus/solutions/costs/infra/template.yaml"
)


def write_focus(path: Path, rows: int, today: datetime) -> int:
    days = 60
    resources = max(1, rows // days)
    first = (today - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    written = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for d in range(days):
            start = first + timedelta(days=d)
            period = start.replace(day=1)
            nxt = (period + timedelta(days=32)).replace(day=1)
            for r in range(resources):
                service, category, base, rtype = SERVICES[r % len(SERVICES)]
                account, region = ACCOUNTS[r % len(ACCOUNTS)], REGIONS[r % len(REGIONS)]
                billed = base * (1 + (r * 7 + d) % 13 / 20) / 10
                writer.writerow(
                    [
                        "999999999999",
                        account,
                        "AWS",
                        service,
                        category,
                        region,
                        f"res-{r}",
                        f"res-{r}",
                        rtype,
                        "SKU",
                        "Usage",
                        f"{start:%Y-%m-%dT%H:%M:%SZ}",
                        f"{start + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
                        f"{period:%Y-%m-%dT%H:%M:%SZ}",
                        f"{nxt:%Y-%m-%dT%H:%M:%SZ}",
                        f"{billed:.6f}",
                        f"{billed * 0.8:.6f}",
                        f"{billed * 1.1:.6f}",
                        "USD",
                        json.dumps({"team": TEAMS[r % len(TEAMS)]}),
                    ]
                )
                written += 1
    return written


#: The usage plan allows 50 requests/s per key (burst 100): the client keeps under it, so a
#: fast answer never turns into a 429 (the pause is outside the measured time).
MIN_INTERVAL_S = 1 / 40
_last_start = 0.0


def get(url: str, key: str) -> float:
    global _last_start
    request = urllib.request.Request(url, headers={"x-api-key": key})
    wait = _last_start + MIN_INTERVAL_S - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
    _last_start = started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        assert response.status == 200
    return (time.perf_counter() - started) * 1000


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):7.2f} ms  p95 {p95:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("rows", type=int, nargs="?", default=200_000, help="FOCUS rows loaded")
    parser.add_argument("repeat", type=int, nargs="?", default=40, help="requests per report")
    args = parser.parse_args()
    rows, repeat = args.rows, args.repeat
    with tempfile.TemporaryDirectory(prefix="stratus-bench-costs-") as tmp:
        home = Path(tmp) / "home"
        runtime = LocalRuntime([TEMPLATE], home=home)
        runtime.start()
        try:
            key = runtime.checkpoints.get("apikey:costs:CostsApi") or ""
            folder = Path(tmp) / "exports"
            folder.mkdir()
            n = write_focus(folder / "bench.csv", rows, datetime.now(UTC))
            base = f"{runtime.url}/costs"

            def post(path: str, body: dict) -> None:
                req = urllib.request.Request(
                    base + path,
                    data=json.dumps(body).encode(),
                    method="POST",
                    headers={"x-api-key": key, "Content-Type": "application/json"},
                )
                urllib.request.urlopen(req, timeout=30).read()

            post("/clients", {"ClientId": "bench", "Name": "Bench"})
            post("/clients/bench/credentials", {"CredentialId": "l", "Provider": "local"})
            post(
                "/clients/bench/configurations",
                {
                    "CredentialId": "l",
                    "ReportType": "LOCAL_FILE",
                    "Config": {"path": str(folder), "etl_provider": "focus"},
                },
            )
            started = time.perf_counter()
            uploader = next(
                m for m in runtime.workflows.state_machines() if m.endswith("-uploader")
            )
            etl = next(m for m in runtime.workflows.state_machines() if m.endswith("-etl"))
            runtime.workflows.wait(runtime.workflows.start(uploader, {}), 600)
            while True:
                runs = runtime.workflows.list_executions(etl)
                if runs and all(r.status != "RUNNING" for r in runs):
                    break
                time.sleep(0.2)
            print(
                f"{n} rows through uploader + ETL in {time.perf_counter() - started:.1f} s "
                f"({runs[-1].status})"
            )
            reports = {
                "by day": "/reports/bench?by=day",
                "by service": "/reports/bench?by=service",
                "by region": "/reports/bench?by=region",
                "by tag:team": "/reports/bench?by=tag:team",
                "summary": "/reports/bench/summary",
                "top resources": "/reports/bench/top-resources",
                "billed vs effective": "/reports/bench/billed-vs-effective",
            }
            uncached_all: list[float] = []
            cached_all: list[float] = []
            print(f"{'report':22} {'uncached (distinct cache keys)':36} cached (same URL)")
            for name, path in reports.items():
                sep = "&" if "?" in path else "?"
                # limit changes the cache key; 1000 >= every group count here, so same work
                uncached = [get(f"{base}{path}{sep}limit={1000 - i}", key) for i in range(repeat)]
                get(f"{base}{path}", key)
                cached = [get(f"{base}{path}", key) for _ in range(repeat)]
                uncached_all += uncached
                cached_all += cached
                print(f"{name:22} {summary(uncached):36} {summary(cached)}")
            print(f"{'all reports':22} {summary(uncached_all):36} {summary(cached_all)}")
        finally:
            runtime.stop()


if __name__ == "__main__":
    main()
