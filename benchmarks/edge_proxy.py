"""Edge proxy cost: all WebACL rules on vs a bare pass-through proxy, same run, loopback.

Both proxies sit in the same HTTP shell (the platform's ``ApiServer``) in front of the same
loopback origin (a ``ThreadingHTTPServer`` answering 200 ``no-store``, so nothing is cached)
and forward with the same ``HttpOrigin``. The baseline forwards only; the edge proxy runs the
template's WebACL (bot UA sets, rate limit, SQLi on query/body/path/cookies/headers, XSS on
query/body/path/cookies/headers, the SQL and script regex shape sets, oversize count), the
behaviour lookup, cache lookup and the access log. Requests carry a browser UA, a cookie and
a realistic query string.

Figures: throughput with 4 keep-alive clients (ratio edge/bare; target >= 70%), and
single-client latency p50/p99 of each and the difference (targets: +1 ms p50, +5 ms p99).
Bounded: 3 alternating rounds of PHASE_S (4 s) throughput + PHASE_S/2 latency per proxy,
about 40 s in all; medians over the rounds, since the machine may be shared.

    .venv/bin/python benchmarks/edge_proxy.py [PHASE_SECONDS]
"""

from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.adapters.local.objects import FilesystemObjectStore
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports.table import TableSpec
from stratus.platform.runtime.apigateway import ApiServer, HttpRequest, HttpResponse
from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge.local import BucketLogSink, build_proxy
from stratus.solutions.edge.proxy import HOP_BY_HOP, HttpOrigin

PHASE_S = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
ROUNDS = 3
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b'{"items": [1, 2, 3], "page": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class BareProxy:
    """The baseline: forward every request to the origin, nothing else."""

    def __init__(self, origin: HttpOrigin) -> None:
        self.origin = origin

    def handle(self, request: HttpRequest) -> HttpResponse:
        headers: Sequence[tuple[str, str]] = [
            (k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP
        ]
        got = self.origin.fetch(request.method, request.path, request.query, headers, request.body)
        return HttpResponse(got.status, got.headers, got.body)


def path_for(i: int) -> str:
    # every query is new (no memoised verdict); UA, cookie and referer repeat, as they do
    return f"/api/products?q=blue+cotton+shirt+{i}&page={i % 7}&sort=price_asc"


def client(port: int, deadline: float, latencies: list[float] | None, counter: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "User-Agent": UA,
        "Cookie": "session=abc123; theme=dark",
        "Referer": "https://shop.example/",
        "Accept": "application/json",
    }
    i = 0
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        conn.request("GET", path_for(i), headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"unexpected status {resp.status}")
        if latencies is not None:
            latencies.append(time.perf_counter() - t0)
        i += 1
    counter.append(i)
    conn.close()


def throughput(port: int, clients: int = 4) -> float:
    client(port, time.perf_counter() + 0.5, None, [])  # warm-up
    counts: list[int] = []
    deadline = time.perf_counter() + PHASE_S
    threads = [
        threading.Thread(target=client, args=(port, deadline, None, counts)) for _ in range(clients)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def latency(port: int) -> tuple[float, float]:
    samples: list[float] = []
    client(port, time.perf_counter() + PHASE_S / 2, samples, [])
    samples.sort()
    return statistics.median(samples) * 1e3, samples[int(len(samples) * 0.99) - 1] * 1e3


def main() -> None:
    origin_server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    origin_server.daemon_threads = True
    threading.Thread(target=origin_server.serve_forever, daemon=True).start()
    origin_url = f"http://127.0.0.1:{origin_server.server_address[1]}"
    home = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    clock = SystemClock()
    edge = build_proxy(
        config=edgeconfig.load(parameters={"RateLimit": "2000000000"}),
        table=SqliteTableStore(home / "t.sqlite3", TableSpec("Bots"), clock=clock),
        static=FilesystemObjectStore(home / "objects", "static"),
        dynamic=HttpOrigin(origin_url),
        clock=clock,
        logs=BucketLogSink(
            FilesystemObjectStore(home / "objects", "logs"), clock, flush_every=5000
        ),
        auth=None,
        jwks=None,
    )
    with ApiServer() as bare_server, ApiServer() as edge_server:
        bare_server.mount("/", BareProxy(HttpOrigin(origin_url)))
        edge_server.mount("/", edge)
        ports = {
            name: int(s.url.rsplit(":", 1)[1])
            for name, s in (("bare", bare_server), ("edge", edge_server))
        }
        print(
            f"{ROUNDS} alternating rounds of {PHASE_S:.0f} s per proxy (4 keep-alive clients for "
            "throughput, then 1 for latency); medians over rounds (the machine may be shared)"
        )
        rounds: dict[str, list[tuple[float, float, float]]] = {"bare": [], "edge": []}
        for _ in range(ROUNDS):
            for name, port in ports.items():
                rps = throughput(port)
                p50, p99 = latency(port)
                rounds[name].append((rps, p50, p99))
    med = {
        name: tuple(statistics.median(r[i] for r in runs) for i in range(3))
        for name, runs in rounds.items()
    }
    for name in ("bare", "edge"):
        rps, p50, p99 = med[name]
        print(f"{name:<5} {rps:>8.0f} req/s   p50 {p50:.3f} ms   p99 {p99:.3f} ms")
    ratio = med["edge"][0] / med["bare"][0]
    print(f"throughput ratio edge/bare: {ratio:.2%}  (target >= 70%)")
    print(
        f"added latency p50: {med['edge'][1] - med['bare'][1]:+.3f} ms (target <= 1 ms), "
        f"p99: {med['edge'][2] - med['bare'][2]:+.3f} ms (target <= 5 ms)"
    )
    blocked = edge.metrics.snapshot()["totals"].get("waf_blocked", 0)
    print(f"edge requests blocked during the run: {blocked} (must be 0: benign traffic)")
    origin_server.shutdown()


if __name__ == "__main__":
    main()
