"""Per-route request metrics, like API Gateway's CloudWatch metrics for a stage.

``Count``, ``4XXError``, ``5XXError``, ``Latency`` and ``IntegrationLatency``,
``CacheHitCount`` and ``CacheMissCount`` on AWS; plus ``throttled`` (429s from throttling or
quotas), which AWS only shows inside 4XXError. Latencies are kept as the most recent
``window`` samples per route (AWS aggregates per minute instead) and reported as
nearest-rank p50/p90/p99 in milliseconds.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

#: Metrics key of requests that matched no route (AWS counts them on the stage only).
NO_ROUTE = "(no route)"

CacheOutcome = Literal["hit", "miss"]
_CLIENT_ERROR, _SERVER_ERROR = 400, 500


def percentile(samples: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of ``samples`` (None when empty)."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class _RouteMetrics:
    window: int
    count: int = 0
    client_errors: int = 0
    server_errors: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    throttled: int = 0
    latency: deque[float] = field(init=False)
    integration: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self.latency = deque(maxlen=self.window)
        self.integration = deque(maxlen=self.window)


def _summary(samples: deque[float]) -> dict[str, float | None]:
    values = list(samples)
    out: dict[str, float | None] = {}
    for pct in (50, 90, 99):
        value = percentile(values, pct)
        out[f"p{pct}"] = None if value is None else round(value * 1000, 3)
    return out


class GatewayMetrics:
    """Thread-safe per-route counters and latency samples for one API stage."""

    def __init__(self, window: int = 10_000) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._routes: dict[str, _RouteMetrics] = {}

    def record(
        self,
        route: str,
        status: int,
        total_s: float,
        *,
        integration_s: float | None = None,
        cache: CacheOutcome | None = None,
        throttled: bool = False,
    ) -> None:
        """Account for one request answered with ``status`` after ``total_s`` seconds."""
        with self._lock:
            metrics = self._routes.get(route)
            if metrics is None:
                metrics = self._routes[route] = _RouteMetrics(self._window)
            metrics.count += 1
            if _CLIENT_ERROR <= status < _SERVER_ERROR:
                metrics.client_errors += 1
            elif status >= _SERVER_ERROR:
                metrics.server_errors += 1
            if cache == "hit":
                metrics.cache_hits += 1
            elif cache == "miss":
                metrics.cache_misses += 1
            if throttled:
                metrics.throttled += 1
            metrics.latency.append(total_s)
            if integration_s is not None:
                metrics.integration.append(integration_s)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable copy: ``{"routes": {"GET /items/{id}": {...}}}``."""
        with self._lock:
            routes = {
                key: {
                    "count": m.count,
                    "4xx": m.client_errors,
                    "5xx": m.server_errors,
                    "cache_hits": m.cache_hits,
                    "cache_misses": m.cache_misses,
                    "throttled": m.throttled,
                    "latency_ms": _summary(m.latency),
                    "integration_latency_ms": _summary(m.integration),
                }
                for key, m in sorted(self._routes.items())
            }
        return {"routes": routes}
