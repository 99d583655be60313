"""Clock port: the only source of "now" for services, the ASL runner, TTL and schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of tz-aware UTC time that can also wait.

    `sleep` lets a fake or accelerated clock make a three-minute Wait state take milliseconds.
    """

    def now(self) -> datetime:
        """The current time, tz-aware, in UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the caller for `seconds` of this clock's time."""
        ...
