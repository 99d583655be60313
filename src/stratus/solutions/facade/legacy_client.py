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
import time
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

    @property
    def can_start(self) -> bool:
        """Whether :meth:`start_json` sends at once (the transport has ``start``)."""
        return callable(getattr(self.transport, "start", None))

    def start_json(self, endpoint: str, params: Mapping[str, str], token: str) -> PendingCall:
        """:meth:`get_json`, begun now and finished by ``result()`` on the SAME thread.

        The request is sent at once on a connection of its own, so the caller can make
        another call meanwhile without a second thread; the same policies apply (coalescing,
        breaker, timeout, one retry). Needs a transport with ``start`` (see :attr:`can_start`).
        """
        query = urlencode(sorted(params.items()))
        key = ("GET", endpoint, query, token)
        future, leader = self.coalescer.begin(key)
        if not leader:
            return PendingCall(future.result, lambda: None)
        try:
            breaker, url, headers, started = self._prepare(endpoint, query, token)
            first = self._send(url, headers, self.timeout_s)
        except BaseException as exc:
            self.coalescer.end(key, future, error=exc)
            failure = exc

            def failed() -> Any:
                raise failure

            return PendingCall(failed, lambda: None)

        def finish() -> Any:
            try:
                result = self._complete(breaker, url, headers, started, first)
            except BaseException as exc:
                self.coalescer.end(key, future, error=exc)
                raise
            self.coalescer.end(key, future, result=result)
            return result

        def cancel() -> None:
            first.cancel()
            self.coalescer.end(key, future, error=LegacyError("unavailable", "call cancelled"))

        return PendingCall(finish, cancel)

    def _prepare(
        self, endpoint: str, query: str, token: str
    ) -> tuple[Any, str, dict[str, str], float]:
        assert self.breakers is not None
        breaker = self.breakers.get(f"GET {endpoint}")
        if not breaker.allow():
            raise LegacyError("circuit_open", f"circuit open for GET {endpoint}")
        url = f"{self.base_url}{endpoint}" + (f"?{query}" if query else "")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return breaker, url, headers, self.clock.now().timestamp()

    def _call(self, endpoint: str, query: str, token: str) -> Any:
        breaker, url, headers, started = self._prepare(endpoint, query, token)
        return self._complete(breaker, url, headers, started, None)

    def _complete(
        self,
        breaker: Any,
        url: str,
        headers: Mapping[str, str],
        started: float,
        first: _Sent | None,
    ) -> Any:
        """The attempts of one call (``first``: the first attempt, already sent)."""
        assert self.deadline_s is not None
        attempt = 0
        timeout = self.timeout_s
        while True:
            attempt += 1
            try:
                if attempt == 1 and first is not None:
                    result = self._interpret(first.receive, timeout)
                else:
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

    def _count(self) -> None:
        with self._lock:
            self.attempts += 1

    def _send(self, url: str, headers: Mapping[str, str], timeout: float) -> _Sent:
        """The first attempt of a started call: sent now, received later."""
        self._count()
        start: Callable[..., Callable[[float], tuple[int, bytes]]] = self.transport.start  # type: ignore[attr-defined]
        try:
            return _Sent(start(url, headers, timeout))
        except (TransportTimeoutError, TransportError) as exc:
            return _Sent(None, exc)

    def _attempt(self, url: str, headers: Mapping[str, str], timeout: float) -> Any:
        self._count()
        return self._interpret(lambda t: self.transport.get(url, headers, t), timeout)

    @staticmethod
    def _interpret(fetch: Callable[[float], tuple[int, bytes]], timeout: float) -> Any:
        try:
            status, body = fetch(timeout)
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


class _Sent:
    """A first attempt already sent: ``receive(timeout)`` reads its answer once."""

    def __init__(
        self,
        read: Callable[[float], tuple[int, bytes]] | None,
        error: Exception | None = None,
    ) -> None:
        self._read = read
        self._error = error

    def receive(self, timeout: float) -> tuple[int, bytes]:
        read, self._read = self._read, None
        if read is None:
            raise self._error or TransportError("already received")
        return read(timeout)

    def cancel(self) -> None:
        read, self._read = self._read, None
        if read is not None:
            close = getattr(read, "close", None)
            if callable(close):
                close()


class PendingCall:
    """A started legacy call: ``result()`` finishes it (or raises its LegacyError);
    ``cancel()`` abandons it when the result will not be read."""

    def __init__(self, finish: Callable[[], Any], cancel: Callable[[], None]) -> None:
        self._finish: Callable[[], Any] | None = finish
        self._cancel = cancel

    def result(self) -> Any:
        finish, self._finish = self._finish, None
        if finish is None:
            raise RuntimeError("the result of a pending call is read once")
        return finish()

    def cancel(self) -> bool:
        if self._finish is not None:
            self._finish = None
            self._cancel()
        return True


class KeepAliveTransport:
    """A light keep-alive HTTP/1.1 transport: idle connections kept per thread and host.

    Cheaper per call than a shared pool (no pool locking, no urllib3 layers), which matters
    when a 2-core machine serves hundreds of concurrent users. ``start`` sends a GET at once
    on a connection of its own and returns the function that reads the answer, so one thread
    can have several calls in flight (the overview's two legacy calls) without a second
    thread. A kept-alive connection the server closed meanwhile is reopened once
    transparently (that is connection hygiene, not a retry: the request never reached the
    server)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _idle(self, key: tuple[str, str]) -> list[Any]:
        pool: dict[tuple[str, str], list[Any]] = self._local.__dict__.setdefault("pool", {})
        return pool.setdefault(key, [])

    def _take(self, key: tuple[str, str], timeout_s: float) -> tuple[Any, bool]:
        import http.client

        idle = self._idle(key)
        if idle:
            conn, reused = idle.pop(), True
        else:
            factory = (
                http.client.HTTPSConnection if key[0] == "https" else http.client.HTTPConnection
            )
            conn, reused = factory(key[1], timeout=timeout_s), False
        conn.timeout = timeout_s
        if conn.sock is not None:
            conn.sock.settimeout(timeout_s)
        return conn, reused

    def get(self, url: str, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
        """GET within ``timeout_s`` per socket operation."""
        return self.start(url, headers, timeout_s)(timeout_s)

    def start(self, url: str, headers: Mapping[str, str], timeout_s: float) -> _Exchange:
        """Send a GET now; the returned exchange reads the answer when called."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        exchange = _Exchange(self, (parts.scheme, parts.netloc), target, dict(headers))
        exchange.send(max(timeout_s, 0.001), first=True)
        return exchange


class _Exchange:
    """One GET of :class:`KeepAliveTransport` on one connection, from send to answer."""

    def __init__(
        self,
        transport: KeepAliveTransport,
        key: tuple[str, str],
        target: str,
        headers: dict[str, str],
    ) -> None:
        self._transport = transport
        self._key = key
        self._target = target
        self._headers = headers
        self._conn: Any = None
        self._reused = False
        self._sent_at = 0.0

    def send(self, timeout_s: float, *, first: bool) -> None:
        import http.client

        self._sent_at = time.monotonic()
        for attempt in (1, 2):
            conn, reused = self._transport._take(self._key, timeout_s)
            self._conn, self._reused = conn, reused and first and attempt == 1
            try:
                conn.request("GET", self._target, headers=self._headers)
                return
            except TimeoutError as exc:
                self.close()
                raise TransportTimeoutError(str(exc) or "timed out") from exc
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed an idle kept-alive connection
                raise TransportError(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise TransportError(str(exc) or type(exc).__name__) from exc

    def __call__(self, timeout_s: float) -> tuple[int, bytes]:
        """The answer ``(status, body)``: the first byte within ``timeout_s`` of the SEND (a
        call read later does not get a longer timeout), then each socket operation within
        ``timeout_s``."""
        import http.client

        timeout_s = max(timeout_s, 0.001)
        while True:
            conn = self._conn
            if conn is None:
                raise TransportError("the connection is closed")
            waited = time.monotonic() - self._sent_at
            conn.timeout = timeout_s
            if conn.sock is not None:
                conn.sock.settimeout(max(timeout_s - waited, 0.001))
            try:
                response = conn.getresponse()
                if conn.sock is not None:
                    conn.sock.settimeout(timeout_s)
                body = response.read()
            except TimeoutError as exc:
                self.close()
                raise TransportTimeoutError(str(exc) or "timed out") from exc
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                reused = self._reused
                self.close()
                if reused:  # the server closed an idle kept-alive connection: once more
                    self.send(timeout_s, first=False)
                    continue
                raise TransportError(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise TransportError(str(exc) or type(exc).__name__) from exc
            self._conn = None
            if response.will_close:
                conn.close()
            else:
                self._transport._idle(self._key).append(conn)
            return response.status, body

    def close(self) -> None:
        """Abandon the exchange: its connection is closed, not reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


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
