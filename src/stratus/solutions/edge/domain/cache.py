"""CloudFront-like caching rules: cache keys and how long a response may be kept.

CloudFront's rule (developer guide, "Managing how long content stays in the cache"): with a
cache policy of MinTTL/DefaultTTL/MaxTTL, an origin ``Cache-Control: max-age`` (or
``s-maxage``, which wins) is clamped to [MinTTL, MaxTTL]; without one, an ``Expires`` header
counts the same way; with neither, DefaultTTL applies. ``no-cache``, ``no-store`` and
``private`` mean "do not cache" unless MinTTL > 0 (then CloudFront keeps it for MinTTL).
Only GET and HEAD responses with cacheable statuses are stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

CACHEABLE_STATUSES = frozenset({200, 203, 206, 300, 301, 404, 405, 410, 414, 501})


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """A cache policy's TTLs and what goes into the cache key."""

    min_ttl: int = 0
    default_ttl: int = 86400
    max_ttl: int = 31536000
    query_in_key: bool = True


def ttl(
    policy: CachePolicy,
    cache_control: str | None,
    expires: str | None,
    date_epoch: float,
) -> int:
    """Seconds the response may stay in the cache (0: do not cache)."""
    directives = _directives(cache_control or "")
    if {"no-store", "no-cache", "private"} & directives.keys():
        return policy.min_ttl
    for name in ("s-maxage", "max-age"):
        if name in directives:
            try:
                age = int(directives[name])
            except ValueError:
                continue
            return max(policy.min_ttl, min(age, policy.max_ttl))
    if expires:
        try:
            expires_at = parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError, IndexError):
            return policy.min_ttl  # an invalid Expires means "already expired"
        age = int(expires_at - date_epoch)
        return max(policy.min_ttl, min(max(age, 0), policy.max_ttl))
    return max(policy.min_ttl, min(policy.default_ttl, policy.max_ttl))


def _directives(value: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            found[name.lower()] = arg.strip().strip('"')
    return found


def cache_key(method: str, path: str, query: str, policy: CachePolicy) -> str:
    """HEAD shares GET's entry; the query string is in the key when the policy says so."""
    verb = "GET" if method in ("GET", "HEAD") else method
    return f"{verb} {path}?{query}" if policy.query_in_key and query else f"{verb} {path}"


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored response and when it expires (epoch seconds)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float
    expires_at: float


class ResponseCache:
    """An in-memory LRU of responses bounded by total body bytes; thread-safe."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> CachedResponse | None:
        """A fresh entry, or ``None`` (an expired one is dropped)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= now:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(
        self,
        key: str,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        now: float,
        ttl_s: int,
    ) -> None:
        """Store a response for ``ttl_s`` seconds (nothing when 0 or too large)."""
        if ttl_s <= 0 or len(body) > self._max_bytes // 4:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = CachedResponse(status, tuple(headers), body, now, now + ttl_s)
            self._bytes += len(body)
            while self._bytes > self._max_bytes and self._entries:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)

    def __len__(self) -> int:
        return len(self._entries)
