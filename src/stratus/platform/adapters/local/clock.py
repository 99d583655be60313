"""Local clocks: the system clock, a fake clock for tests and an accelerated clock for demos."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    """Wall-clock time; ``sleep`` really sleeps."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it at once.

    Thread-safe, so a worker thread that sleeps and a test that reads ``now`` agree."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a tz-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)


class AcceleratedClock:
    """Time that runs ``factor`` times faster than the wall clock from the moment it is made.

    A three-minute Wait with factor 600 takes 0.3 s of real time."""

    def __init__(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self.factor = factor
        self._origin = datetime.now(UTC)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._mono) * self.factor
        return self._origin + timedelta(seconds=elapsed)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.factor)
