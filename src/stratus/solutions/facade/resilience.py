"""Resilience policies for calls to the legacy API: circuit breaker, retry, coalescing.

Pure policy objects driven by an injected :class:`~stratus.platform.ports.Clock` (a
``FakeClock`` in tests): no sockets here. :class:`~stratus.solutions.facade.legacy_client.
LegacyClient` composes them around a transport.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from stratus.platform.ports import Clock

T = TypeVar("T")


class BreakerState(StrEnum):
    """Closed: calls flow. Open: calls fail fast. Half-open: one probe call is let through."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """A consecutive-failure circuit breaker for one legacy endpoint.

    ``failure_threshold`` consecutive failures open it; after ``reset_after_s`` of the clock
    one probe is allowed (half-open); its success closes the breaker, its failure re-opens it
    for another ``reset_after_s``. Thread-safe.
    """

    def __init__(self, clock: Clock, *, failure_threshold: int = 5, reset_after_s: float = 10.0):
        if failure_threshold < 1 or reset_after_s <= 0:
            raise ValueError("failure_threshold >= 1 and reset_after_s > 0 are required")
        self._clock = clock
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    def _now(self) -> float:
        return self._clock.now().timestamp()

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker past its reset time reports half-open)."""
        with self._lock:
            if (
                self._state is BreakerState.OPEN
                and self._now() >= self._opened_at + self.reset_after_s
            ):
                return BreakerState.HALF_OPEN
            return self._state

    def retry_after_s(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        with self._lock:
            if self._state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.reset_after_s - self._now())

    def allow(self) -> bool:
        """Whether a call may go out now (at most one probe while half-open)."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if self._now() < self._opened_at + self.reset_after_s:
                    return False
                self._state = BreakerState.HALF_OPEN
                self._probing = False
            if self._probing:
                return False
            self._probing = True
            return True

    def record_success(self) -> None:
        """A call succeeded: the breaker closes and the failure count restarts."""
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probing = False

    def record_failure(self) -> None:
        """A call failed: a failed probe or the threshold-th failure in a row opens it."""
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = BreakerState.OPEN
                self._opened_at = self._now()
                self._probing = False


class Breakers:
    """One :class:`CircuitBreaker` per key (a legacy endpoint), made on first use."""

    def __init__(self, clock: Clock, *, failure_threshold: int = 5, reset_after_s: float = 10.0):
        self._clock = clock
        self._threshold = failure_threshold
        self._reset = reset_after_s
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, key: str) -> CircuitBreaker:
        """The breaker of ``key``."""
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = CircuitBreaker(
                    self._clock, failure_threshold=self._threshold, reset_after_s=self._reset
                )
                self._breakers[key] = breaker
            return breaker

    def states(self) -> dict[str, str]:
        """Every breaker's state, by key (for health output)."""
        with self._lock:
            items = list(self._breakers.items())
        return {key: breaker.state.value for key, breaker in items}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``max_retries`` retries of an idempotent call, after a jittered backoff.

    A retry is only made when the call's deadline leaves at least ``min_attempt_s`` for it
    after the backoff, so a retry never pushes a request past its deadline.
    """

    max_retries: int = 1
    backoff_s: float = 0.05
    jitter: float = 0.5
    min_attempt_s: float = 0.1

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Backoff before retry number ``attempt`` (1-based): exponential, jittered down."""
        base = self.backoff_s * float(2 ** max(attempt - 1, 0))
        return float(base * (1 - self.jitter * rng()))


class Coalescer(Generic[T]):
    """Request coalescing ("single flight"): identical calls in flight share one execution.

    The first caller of a key runs the call; callers arriving while it runs wait for and get
    the same result (or the same exception). Once it ends the key is forgotten, so a later
    call runs again: this is coalescing, not caching.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, Future[T]] = {}
        self.executions = 0
        self.shared = 0

    def run(self, key: Hashable, call: Callable[[], T]) -> T:
        """Run ``call`` for ``key``, or join the identical call already running."""
        future, leader = self.begin(key)
        if not leader:
            return future.result()
        try:
            result = call()
        except BaseException as exc:
            self.end(key, future, error=exc)
            raise
        self.end(key, future, result=result)
        return result

    def begin(self, key: Hashable) -> tuple[Future[T], bool]:
        """``(future, True)``: the caller leads the call of ``key`` and must :meth:`end` it;
        ``(future, False)``: an identical call is running, its future gives the outcome."""
        with self._lock:
            future = self._inflight.get(key)
            if future is not None:
                self.shared += 1
                return future, False
            future = Future()
            self._inflight[key] = future
            self.executions += 1
            return future, True

    def end(
        self,
        key: Hashable,
        future: Future[T],
        *,
        result: T | None = None,
        error: BaseException | None = None,
    ) -> None:
        """The led call of ``key`` ended with ``result`` or ``error``; ``key`` is forgotten."""
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
        with self._lock:
            if self._inflight.get(key) is future:
                del self._inflight[key]
