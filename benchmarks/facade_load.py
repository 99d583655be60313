"""Facade under load: 200 concurrent users, a legacy API with 150 ms latency, loopback only.

Processes: the demo legacy API (`stratus facade legacy`), the facade (`stratus up` with the
facade template, LegacyBaseUrl pointing at that legacy process) and this load generator
(asyncio, one keep-alive connection per user). Phases, in one run:

1. baseline: the legacy API called directly (``GET /api/v1/customer?id=..``);
2. the facade's overview (2 legacy calls in parallel + 1 database read + the authorizer);
3. the same with 2 % slow (3 s) and 2 % failing (500) legacy calls;
4. a cached static endpoint (``GET /catalog/products``, TTL 3600 s).

Prints requests/s, p50/p99, 5xx count, the share of partial answers (200 with
``"partial": true``: a legacy source failed, timed out or had its breaker open), the ratios
against the baseline, and cache hits.
Goals: p99 <= legacy timeout + 250 ms, >= 400 req/s, zero 5xx under faults, cached
>= 3000 req/s with >= 99 % cache hits. Bounded (< 2 min).

    .venv/bin/python benchmarks/facade_load.py [SECONDS_PER_PHASE]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

USERS = 200
LATENCY_MS = 150
TIMEOUT_MS = 1000
PARTIAL = -1  # key of the partial-answer count (200 with "partial": true) in the statuses
REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "src/stratus/solutions/facade/infra/template.yaml"
STRATUS = str(Path(sys.executable).parent / "stratus")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if b"Ready." in log.read_bytes():
            return process
        if process.poll() is not None:
            raise SystemExit(f"{args[1:3]} exited:\n{log.read_text()}")
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{args[1:3]} did not start:\n{log.read_text()}")


async def user(
    host: str,
    port: int,
    paths: list[str],
    token: str,
    measure_from: float,
    stop_at: float,
    samples: list[float],
    statuses: dict[int, int],
) -> None:
    """One user: one keep-alive connection, requests back to back until ``stop_at``; only
    requests sent from ``measure_from`` on are counted (the ones before are the warm-up)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            path = random.choice(paths)
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                "Accept: application/json\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            if t0 < measure_from:
                continue
            samples.append(time.perf_counter() - t0)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
            if b'"partial":true' in body or b'"partial": true' in body:
                statuses[PARTIAL] = statuses.get(PARTIAL, 0) + 1
    finally:
        writer.close()


async def load(base: str, paths: list[str], tokens: list[str], seconds: float) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    samples: list[float] = []
    statuses: dict[int, int] = {}
    # Warm-up and measurement are one continuous run: the first 2 s open every connection and
    # pass the authorizer once per token, and are not counted. (Stopping every user after a
    # separate warm-up left only the slow legacy calls in flight, whose 5 timeouts in a row
    # opened the circuit breakers for the whole measured phase.)
    measure_from = time.perf_counter() + 2.0
    stop_at = measure_from + seconds
    await asyncio.gather(
        *(user(host, int(port), paths, tokens[i % len(tokens)], measure_from, stop_at, samples,
               statuses)
          for i in range(USERS))
    )  # fmt: skip
    elapsed = time.perf_counter() - measure_from
    samples.sort()
    n = len(samples)
    return {
        "n": n,
        "rps": n / elapsed,
        "p50_ms": samples[n // 2] * 1000 if n else 0.0,
        "p99_ms": samples[max(0, int(n * 0.99) - 1)] * 1000 if n else 0.0,
        "statuses": {s: c for s, c in sorted(statuses.items()) if s != PARTIAL},
        "5xx": sum(c for s, c in statuses.items() if s >= 500),
        "partial": statuses.get(PARTIAL, 0),
    }


def put_json(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT")
    with urllib.request.urlopen(req, timeout=10):
        pass


def metrics(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/_stratus/metrics", timeout=10) as resp:
        routes: dict[str, Any] = json.loads(resp.read())["apis"]["/facade"]["routes"]
        return routes


def report(name: str, result: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    ratio = ""
    if baseline is not None:
        ratio = (
            f"  rps x{result['rps'] / baseline['rps']:.2f}"
            f"  p50 x{result['p50_ms'] / baseline['p50_ms']:.2f}"
            f"  p99 x{result['p99_ms'] / baseline['p99_ms']:.2f} vs baseline"
        )
    print(
        f"{name:<34} n={result['n']:>6} {result['rps']:>8.0f} req/s"
        f"  p50 {result['p50_ms']:>7.1f} ms"
        f"  p99 {result['p99_ms']:>7.1f} ms  5xx {result['5xx']}  {result['statuses']}"
        f"  partial {100 * result['partial'] / max(1, result['n']):.1f} %{ratio}"
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    with tempfile.TemporaryDirectory(prefix="facade-bench-") as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "STRATUS_HOME": str(home)}
        subprocess.run(
            [STRATUS, "facade", "seed", "--home", str(home), "--load-users", str(USERS)],
            check=True,
            capture_output=True,
            env=env,
        )
        legacy_port, facade_port = free_port(), free_port()
        legacy = start(
            [STRATUS, "facade", "legacy", "--home", str(home), "--port", str(legacy_port),
             "--latency-ms", str(LATENCY_MS)],
            Path(tmp) / "legacy.log",
            env,
        )  # fmt: skip
        legacy_url = f"http://127.0.0.1:{legacy_port}"
        facade = start(
            [STRATUS, "up", "--template", str(TEMPLATE), "--home", str(home), "--port",
             str(facade_port), "--parameter", f"LegacyBaseUrl={legacy_url}",
             "--parameter", f"LegacyTimeoutMs={TIMEOUT_MS}"],
            Path(tmp) / "facade.log",
            env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{facade_port}"
        tokens = [f"load-token-{n}" for n in range(1, USERS + 1)]
        customers = [f"C{n}" for n in range(1, 51)]
        try:
            print(f"{USERS} users, legacy latency {LATENCY_MS} ms, timeout {TIMEOUT_MS} ms, "
                  f"{seconds:.0f} s per phase, {os.cpu_count()} CPUs")  # fmt: skip
            baseline = asyncio.run(
                load(legacy_url, [f"/api/v1/customer?id={c}" for c in customers], tokens, seconds)
            )
            report("legacy API directly (baseline)", baseline, None)
            overview = [f"/facade/customers/{c}/overview" for c in customers]
            healthy = asyncio.run(load(base, overview, tokens, seconds))
            report("facade overview", healthy, baseline)
            put_json(f"{legacy_url}/_admin/faults", {"slow_rate": 0.02, "slow_ms": 3000,
                                                      "error_rate": 0.02})  # fmt: skip
            faulty = asyncio.run(load(base, overview, tokens, seconds))
            report("facade overview, 2% slow + 2% fail", faulty, baseline)
            put_json(f"{legacy_url}/_admin/faults", {"slow_rate": 0, "error_rate": 0})
            before = metrics(base).get("GET /catalog/products", {})
            cached = asyncio.run(load(base, ["/facade/catalog/products"], tokens, seconds))
            after = metrics(base)["GET /catalog/products"]
            hits = after.get("cache_hits", 0) - before.get("cache_hits", 0)
            misses = after.get("cache_misses", 0) - before.get("cache_misses", 0)
            report("cached GET /catalog/products", cached, baseline)
            print(f"cache hits {hits}/{hits + misses} = {100 * hits / max(1, hits + misses):.2f} %")
            goals = {
                "p99 <= timeout + 250 ms (faults)": faulty["p99_ms"] <= TIMEOUT_MS + 250,
                ">= 400 req/s (overview)": healthy["rps"] >= 400,
                "zero 5xx under faults": faulty["5xx"] == 0,
                ">= 3000 req/s cached": cached["rps"] >= 3000,
                ">= 99 % cache hits": hits >= 0.99 * max(1, hits + misses),
            }
            for goal, met in goals.items():
                print(f"  {'MET ' if met else 'MISS'} {goal}")
        finally:
            for process in (facade, legacy):
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
