"""Stage response cache for GET methods, with TTL on the injected Clock.

Copies API Gateway REST APIs:

* only when the stage cache is on AND the method opts in, and only for GET;
* the key is the method, the RESOURCE path (the template, e.g. ``/items/{id}``) and the
  values of the declared cache key parameters (``method.request.querystring.x``,
  ``method.request.header.y``, ``method.request.path.z``). As on AWS, a path parameter that
  is not declared is NOT part of the key: ``/items/1`` and ``/items/2`` share an entry;
* a client's ``Cache-Control: max-age=0`` refreshes the entry only when the caller is
  authorized to ``execute-api:InvalidateCache`` on the method (here: the Lambda authorizer's
  policy allows that action on the methodArn); otherwise the header is ignored, which is
  AWS's "ignore" strategy for unauthorized requests;
* no header is added to responses (AWS adds no X-Cache header).

Departures: only 2xx responses are stored; the cache holds at most ``max_entries`` (oldest
dropped first) instead of a size in GB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from stratus.platform.ports.clock import Clock
from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse
from stratus.platform.runtime.apigateway.model import RouteSpec

CacheKey = tuple[str, str, tuple[tuple[str, str | None], ...]]

_QUERY = "method.request.querystring."
_HEADER = "method.request.header."
_PATH = "method.request.path."
_MIN_OK, _MAX_OK = 200, 299


def cache_key(
    route: RouteSpec, request: HttpRequest, path_parameters: Mapping[str, str]
) -> CacheKey:
    """The cache key of a request to ``route``."""
    query = dict(request.query_pairs())
    parts: list[tuple[str, str | None]] = []
    for param in route.cache_key_parameters:
        if param.startswith(_QUERY):
            value = query.get(param[len(_QUERY) :])
        elif param.startswith(_HEADER):
            value = request.header(param[len(_HEADER) :])
        elif param.startswith(_PATH):
            value = path_parameters.get(param[len(_PATH) :])
        else:
            raise ValueError(f"route {route.key}: unsupported cache key parameter {param!r}")
        parts.append((param, value))
    return ("GET", route.path, tuple(parts))


def asks_for_fresh(request: HttpRequest) -> bool:
    """True when the request carries ``Cache-Control: max-age=0``."""
    header = request.header("Cache-Control") or ""
    directives = {d.strip().lower().replace(" ", "") for d in header.split(",")}
    return "max-age=0" in directives


class ResponseCache:
    """TTL cache of responses for one stage; thread-safe."""

    def __init__(self, clock: Clock, ttl_s: int, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._ttl = ttl_s
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[CacheKey, tuple[float, HttpResponse]] = OrderedDict()

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def get(self, key: CacheKey) -> HttpResponse | None:
        """The fresh entry for ``key``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, response = entry
            if self._now() >= expires:
                del self._entries[key]
                return None
            return response

    def put(self, key: CacheKey, response: HttpResponse) -> None:
        """Store a 2xx ``response`` for the stage TTL (TTL 0 stores nothing)."""
        if self._ttl <= 0 or not _MIN_OK <= response.status <= _MAX_OK:
            return
        with self._lock:
            self._entries[key] = (self._now() + self._ttl, response)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def flush(self) -> None:
        """Drop every entry (the console's "Flush entire cache")."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
