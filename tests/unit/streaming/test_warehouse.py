"""The tracking warehouse: one contract for both adapters, and the admin report on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import DomainError, NotAllowedError
from stratus.solutions.streaming.service import Caller, Ports
from stratus.solutions.streaming.warehouse import (
    SqliteWarehouse,
    TableWarehouse,
    TrackedEvent,
    Warehouse,
)

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


EVENTS = [
    # day 1: ann and bob view channel c1 live (stream s1), an anonymous visitor too
    TrackedEvent("e1", _at(D1, 9), "view_channel", "ann", "c1", "s1"),
    TrackedEvent("e2", _at(D1, 10), "view_channel", "bob", "c1", "s1"),
    TrackedEvent("e3", _at(D1, 11), "view_channel", "-", "c1", "s1"),
    TrackedEvent("e4", _at(D1, 12), "GET /home", "ann"),
    # day 2: bob views channel c2 (offline) and the recording of s1; ann watches an upload
    TrackedEvent("e5", _at(D2, 9), "view_channel", "bob", "c2"),
    TrackedEvent("e6", _at(D2, 10), "view_recording", "bob", "c1", "s1", "s1"),
    TrackedEvent("e7", _at(D2, 11), "view_recording", "ann", "c2", "", "u1"),
    TrackedEvent("e8", _at(D2, 12), "view_channel", "ann", "c2", "s2"),
]


@pytest.fixture(params=["sqlite", "table"])
def warehouse(request: pytest.FixtureRequest, ports: Ports, tmp_path: Path) -> Iterator[Warehouse]:
    if request.param == "sqlite":
        wh = SqliteWarehouse(tmp_path / "wh" / "warehouse.sqlite3")
        yield wh
        wh.close()
    else:
        yield TableWarehouse(ports.store)


def _load(wh: Warehouse) -> None:
    for event in EVENTS:
        wh.record(event)
    wh.record(EVENTS[0])  # idempotent on event_id


def test_actions_and_users(warehouse: Warehouse) -> None:
    _load(warehouse)
    assert warehouse.actions(D1, D1) == {"view_channel": 3, "GET /home": 1}
    assert warehouse.actions(D1, D2)["view_channel"] == 5
    assert warehouse.users(D1, D3) == 2
    assert warehouse.users(D3, D3) == 0


def test_daily_active_users_counts_signed_in_users_per_day(warehouse: Warehouse) -> None:
    _load(warehouse)
    assert warehouse.daily_active_users(D1, D3) == {"2026-01-01": 2, "2026-01-02": 2}
    assert warehouse.daily_active_users(D2, D2) == {"2026-01-02": 2}


def test_views_per_channel_and_top_streams(warehouse: Warehouse) -> None:
    _load(warehouse)
    assert warehouse.views_per_channel(D1, D2) == {"c1": 4, "c2": 3}
    assert warehouse.views_per_channel(D2, D2) == {"c2": 3, "c1": 1}
    assert warehouse.top_streams(D1, D2) == [("s1", 4), ("s2", 1)]
    assert warehouse.top_streams(D1, D2, limit=1) == [("s1", 4)]


def test_the_local_warehouse_is_its_own_file_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.sqlite3"
    first = SqliteWarehouse(path)
    _load(first)
    first.close()
    again = SqliteWarehouse(path)
    assert again.users(D1, D3) == 2
    again.close()


def test_report_over_the_warehouse(
    ports: Ports, owner: Caller, viewer: Caller, admin: Caller, clock: FakeClock
) -> None:
    channel = service.create_channel(ports, owner, "Live room")
    stream = service.schedule_stream(ports, owner, channel.channel_id, "Opening night", None)
    ports.store.put_stream(replace(stream, status=service.StreamStatus.LIVE))
    for who in (viewer.user_id, owner.user_id, None):
        service.track(ports, "view_channel", who, channel_id=channel.channel_id,
                      stream_id=stream.stream_id)
    service.track(ports, "GET /home", viewer.user_id)
    day = clock.now().date().isoformat()
    report = service.tracking_report(ports, admin, day)
    assert report["day"] == day
    assert report["from"] == report["to"] == day
    assert report["events"] == 4
    assert report["users"] == 2
    assert report["by_action"] == {"view_channel": 3, "GET /home": 1}
    assert report["daily_active_users"] == {day: 2}
    assert report["views_per_channel"] == [
        {"channel_id": channel.channel_id, "name": "Live room", "views": 3}]
    assert report["top_streams"] == [{"stream_id": stream.stream_id, "title": "Opening night",
                                      "channel_id": channel.channel_id, "views": 3}]
    # the default range is the last 7 days, today included
    clock.advance(86_400 * 3)
    week = service.tracking_report(ports, admin)
    assert week["daily_active_users"] == {day: 2}
    assert service.tracking_report(ports, admin, start=week["to"])["events"] == 0


def test_report_rules(ports: Ports, owner: Caller, admin: Caller) -> None:
    with pytest.raises(NotAllowedError):
        service.tracking_report(ports, owner, "2026-01-01")
    with pytest.raises(DomainError):
        service.tracking_report(ports, admin, "yesterday")
    with pytest.raises(DomainError):
        service.tracking_report(ports, admin, start="2026-02-01", end="2026-01-01")
    with pytest.raises(DomainError):
        service.tracking_report(ports, admin, start="2025-01-01", end="2026-01-01")


def test_tracking_does_not_touch_the_main_table(ports: Ports) -> None:
    service.track(ports, "GET /home", None)
    assert ports.store.tracked(ports.clock.now().date().isoformat()) == []
