"""The facade's client of the legacy API: a transport wrapped in the resilience policies.

Every call goes through, in order: request coalescing (identical in-flight GETs share one
execution), the endpoint's circuit breaker (open: fail fast), a per-attempt timeout, and at
most one retry with backoff for idempotent calls when the call's deadline allows it.
Failures come out as :class:`LegacyError` with a ``kind`` the facade reports per source.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from stratus.platform.ports import Clock
from stratus.solutions.facade.resilience import Breakers, Coalescer, RetryPolicy


class TransportTimeoutError(Exception):
    """No answer within the timeout."""


class TransportError(Exception):
    """The service could not be reached (refused, reset, DNS...)."""


class Transport(Protocol):
    """An HTTP GET: ``(status, body)``, or TransportTimeoutError / TransportError."""

    def get(self, url: str, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
        """GET ``url`` with ``headers`` within ``timeout_s`` seconds."""
        ...


class LegacyError(Exception):
    """A legacy call failed. ``kind``: timeout, unavailable, error, circuit_open, bad_response,
    rejected (the legacy API refused the token)."""

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class LegacyNotFoundError(LegacyError):
    """The legacy API answered 404: the client asked for something that does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__("not_found", message, status=404)


_RETRYABLE = frozenset({"timeout", "unavailable", "error"})


@dataclass
class LegacyClient:
    """Resilient GETs of JSON from the legacy API at ``base_url``.

    ``timeout_s`` bounds one attempt; ``deadline_s`` bounds the whole call including a retry
    (default: ``timeout_s`` + 0.1 s, so a call never takes much longer than one timeout).
    """

    base_url: str
    transport: Transport
    clock: Clock
    timeout_s: float = 1.0
    deadline_s: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breakers: Breakers | None = None
    coalescer: Coalescer[Any] = field(default_factory=Coalescer)
    rng: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if self.breakers is None:
            self.breakers = Breakers(self.clock)
        if self.deadline_s is None:
            self.deadline_s = self.timeout_s + 0.1
        self.attempts = 0
        self._lock = threading.Lock()

    def get_json(self, endpoint: str, params: Mapping[str, str], token: str) -> Any:
        """GET ``endpoint`` (e.g. ``/api/v1/customer``) with ``params`` as the user ``token``.

        Raises LegacyNotFoundError for 404 and LegacyError for every other failure."""
        query = urlencode(sorted(params.items()))
        key = ("GET", endpoint, query, token)
        return self.coalescer.run(key, lambda: self._call(endpoint, query, token))

    def _call(self, endpoint: str, query: str, token: str) -> Any:
        assert self.breakers is not None
        assert self.deadline_s is not None
        breaker = self.breakers.get(f"GET {endpoint}")
        if not breaker.allow():
            raise LegacyError("circuit_open", f"circuit open for GET {endpoint}")
        url = f"{self.base_url}{endpoint}" + (f"?{query}" if query else "")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        started = self.clock.now().timestamp()
        attempt = 0
        timeout = self.timeout_s
        while True:
            attempt += 1
            try:
                result = self._attempt(url, headers, timeout)
            except LegacyError as exc:
                if exc.kind not in _RETRYABLE:
                    breaker.record_success()  # the endpoint works: the request was refused
                    raise
                if attempt > self.retry.max_retries:
                    breaker.record_failure()
                    raise
                pause = self.retry.backoff(attempt, self.rng)
                elapsed = self.clock.now().timestamp() - started
                remaining = self.deadline_s - elapsed - pause
                if remaining < self.retry.min_attempt_s:
                    breaker.record_failure()
                    raise
                self.clock.sleep(pause)
                timeout = min(self.timeout_s, remaining)
                continue
            breaker.record_success()
            return result

    def _attempt(self, url: str, headers: Mapping[str, str], timeout: float) -> Any:
        with self._lock:
            self.attempts += 1
        try:
            status, body = self.transport.get(url, headers, timeout)
        except TransportTimeoutError as exc:
            raise LegacyError("timeout", f"no answer within {timeout:.3f} s") from exc
        except TransportError as exc:
            raise LegacyError("unavailable", f"legacy API unreachable: {exc}") from exc
        if status == 404:
            raise LegacyNotFoundError("not found in the legacy API")
        if status in (401, 403):
            raise LegacyError("rejected", f"legacy API refused the token ({status})", status=status)
        if status >= 500 or status == 429:
            raise LegacyError("error", f"legacy API answered {status}", status=status)
        if status >= 400:
            raise LegacyError("bad_response", f"legacy API answered {status}", status=status)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise LegacyError("bad_response", "legacy API answered malformed JSON") from exc


class KeepAliveTransport:
    """A light keep-alive HTTP/1.1 transport: one connection per thread and host.

    Cheaper per call than a shared pool (no pool locking, no urllib3 layers), which matters
    when a 2-core machine serves hundreds of concurrent users. A kept-alive connection the
    server closed meanwhile is reopened once transparently (that is connection hygiene, not a
    retry: the request never reached the server)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _connection(self, scheme: str, netloc: str, timeout_s: float) -> Any:
        import http.client

        pool: dict[tuple[str, str], Any] = self._local.__dict__.setdefault("pool", {})
        conn = pool.get((scheme, netloc))
        if conn is None:
            factory = (
                http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            )
            conn = factory(netloc, timeout=timeout_s)
            pool[(scheme, netloc)] = conn
        conn.timeout = timeout_s
        if conn.sock is not None:
            conn.sock.settimeout(timeout_s)
        return conn

    def _drop(self, scheme: str, netloc: str) -> None:
        pool: dict[tuple[str, str], Any] = self._local.__dict__.setdefault("pool", {})
        conn = pool.pop((scheme, netloc), None)
        if conn is not None:
            conn.close()

    def get(self, url: str, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
        """GET within ``timeout_s`` per socket operation."""
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        timeout_s = max(timeout_s, 0.001)
        for attempt in (1, 2):
            conn = self._connection(parts.scheme, parts.netloc, timeout_s)
            reused = conn.sock is not None
            try:
                conn.request("GET", target, headers=dict(headers))
                response = conn.getresponse()
                body = response.read()
                if response.will_close:
                    self._drop(parts.scheme, parts.netloc)
                return response.status, body
            except TimeoutError as exc:
                self._drop(parts.scheme, parts.netloc)
                raise TransportTimeoutError(str(exc) or "timed out") from exc
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(parts.scheme, parts.netloc)
                if reused and attempt == 1:
                    continue  # the server closed an idle kept-alive connection
                raise TransportError(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(parts.scheme, parts.netloc)
                raise TransportError(str(exc) or type(exc).__name__) from exc
        raise TransportError("unreachable")  # pragma: no cover


class Urllib3Transport:
    """A pooled keep-alive HTTP transport (urllib3); one pool per host."""

    def __init__(self, maxsize: int = 64) -> None:
        import urllib3

        self._urllib3 = urllib3
        self._pool = urllib3.PoolManager(num_pools=8, maxsize=maxsize, block=False, retries=False)

    def get(self, url: str, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
        """GET within ``timeout_s`` (connect and read), translating urllib3's errors."""
        u3 = self._urllib3
        try:
            response = self._pool.request(
                "GET",
                url,
                headers=dict(headers),
                timeout=u3.Timeout(total=max(timeout_s, 0.001)),
                retries=False,
                redirect=False,
            )
        except (u3.exceptions.TimeoutError, TimeoutError) as exc:
            raise TransportTimeoutError(str(exc)) from exc
        except u3.exceptions.HTTPError as exc:
            if "timed out" in str(exc).lower():
                raise TransportTimeoutError(str(exc)) from exc
            raise TransportError(str(exc)) from exc
        except OSError as exc:
            raise TransportError(str(exc)) from exc
        return response.status, response.data
