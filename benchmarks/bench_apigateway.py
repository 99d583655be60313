"""Local API Gateway overhead: one trivial handler, three ways, in the same run.

Baseline: calling the handler directly with a ready-made proxy event. Then the pure
``LocalApiGateway.handle`` (router + event + response conversion + metrics, no sockets),
then real HTTP through ``ApiServer`` on loopback with one keep-alive connection.
Prints requests/s, p50/p99 latency, the latency each layer adds and the ratios against the
baseline. Bounded: a few thousand requests per phase, each phase capped at 15 s.

    .venv/bin/python benchmarks/bench_apigateway.py [REQUESTS]
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from stratus.platform.runtime.apigateway import (
    ApiServer,
    ApiSpec,
    HttpRequest,
    LocalApiGateway,
    RouteSpec,
)

PHASE_CAP_S = 15.0


def handler(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "ok"}


def invoke(function: str, event: dict[str, Any]) -> Any:
    return handler(event)


def measure(name: str, n: int, once: Callable[[], None]) -> dict[str, float]:
    for _ in range(min(200, n)):  # warm-up
        once()
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        once()
        samples.append(time.perf_counter() - t0)
        if time.perf_counter() - started > PHASE_CAP_S:
            break
    elapsed = time.perf_counter() - started
    samples.sort()
    result = {
        "n": float(len(samples)),
        "rps": len(samples) / elapsed,
        "p50_us": statistics.median(samples) * 1e6,
        "p99_us": samples[max(0, int(len(samples) * 0.99) - 1)] * 1e6,
    }
    print(
        f"{name:<28} n={len(samples):>6}  {result['rps']:>10.0f} req/s  "
        f"p50 {result['p50_us']:>8.1f} us  p99 {result['p99_us']:>8.1f} us"
    )
    return result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    spec = ApiSpec("bench", routes=(RouteSpec("GET", "/items/{id}", "Fn"),))
    gateway = LocalApiGateway(spec, invoke)
    request = HttpRequest("GET", "/items/42", "q=1", [("Host", "localhost"), ("Accept", "*/*")])
    sample_event: dict[str, Any] = {"path": "/items/42", "pathParameters": {"id": "42"}}

    print(f"local API Gateway benchmark: {n} requests per phase, one trivial handler\n")
    direct = measure("handler called directly", n, lambda: handler(sample_event))
    pure = measure("LocalApiGateway.handle()", n, lambda: gateway.handle(request) and None)

    server = ApiServer()
    server.mount("/", gateway)
    with server:
        port = int(server.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def over_http() -> None:
            conn.request("GET", "/items/42?q=1")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"unexpected status {response.status}")

        wire = measure("HTTP via ApiServer", n, over_http)
        conn.close()

    print("\nadded latency (p50 / p99) and ratios against calling the handler directly:")
    for name, phase in (("handle()", pure), ("HTTP shell", wire)):
        print(
            f"  {name:<11} +{phase['p50_us'] - direct['p50_us']:8.1f} us / "
            f"+{phase['p99_us'] - direct['p99_us']:8.1f} us   "
            f"p50 x{phase['p50_us'] / direct['p50_us']:.0f}   "
            f"throughput x{direct['rps'] / phase['rps']:.0f} lower"
        )
    print(
        f"  HTTP shell vs handle(): p50 x{wire['p50_us'] / pure['p50_us']:.1f}, "
        f"throughput x{pure['rps'] / wire['rps']:.1f} lower"
    )


if __name__ == "__main__":
    main()
