from datetime import UTC, datetime, timedelta

import pytest

from stratus.platform.adapters.local.clock import AcceleratedClock, FakeClock, SystemClock
from stratus.platform.ports import Clock


def test_every_clock_satisfies_the_port():
    for clock in (SystemClock(), FakeClock(), AcceleratedClock(10)):
        assert isinstance(clock, Clock)
        assert clock.now().tzinfo is not None


def test_fake_clock_sleep_advances_time_without_waiting():
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=UTC))
    clock.sleep(180)
    assert clock.now() == datetime(2026, 5, 1, 0, 3, tzinfo=UTC)


def test_fake_clock_refuses_naive_start():
    with pytest.raises(ValueError, match="tz-aware"):
        FakeClock(datetime(2026, 5, 1))


def test_accelerated_clock_runs_faster_than_the_wall():
    clock = AcceleratedClock(1000)
    before = clock.now()
    clock.sleep(60)  # 60 ms of real time
    assert clock.now() - before >= timedelta(seconds=59)
