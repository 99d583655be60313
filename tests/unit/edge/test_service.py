"""The crawler pipeline's use cases on local adapters: log file → bot table → pattern set."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports.table import TableSpec
from stratus.solutions.edge import service
from stratus.solutions.edge.domain import accesslog
from stratus.solutions.edge.patternsets import (
    LivePatternSets,
    PatternSetLockedError,
    TablePatternSetStore,
)

SNEAKY = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/99.0 Zyxelia"
HUMAN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


@pytest.fixture
def table(tmp_path, clock):
    return SqliteTableStore(
        tmp_path / "t.sqlite3", TableSpec("Bots", ttl_attribute="ExpiresAt"), clock=clock
    )


def log_lines(
    clock, ua: str, count: int, gap_s: float, client: str, assets: bool = False
) -> list[str]:
    lines = []
    start = clock.now()
    for i in range(count):
        path = "/app.js" if assets and i % 2 else f"/page/{i}"
        lines.append(
            accesslog.format_line(
                accesslog.AccessLogEntry(
                    at=start + timedelta(seconds=i * gap_s + (i * 7 % 5 if assets else 0)),
                    client_ip=client,
                    method="GET",
                    host="h",
                    path=path,
                    status=200,
                    referer="",
                    user_agent=ua,
                    query="",
                    result_type="Miss",
                    request_id=str(i),
                    protocol="https",
                    bytes_sent=1,
                    bytes_received=0,
                    time_taken_s=0.001,
                )
            )
        )
    return lines


def test_detection_records_the_crawler_and_not_the_human(table, clock):
    lines = [
        accesslog.HEADER,
        *log_lines(clock, SNEAKY, 60, 1.0, "192.0.2.1"),
        *log_lines(clock, HUMAN, 30, 9.0, "192.0.2.2", assets=True),
    ]
    result = service.detect_crawlers(lines, table, clock)
    assert result.clients == 2
    assert [b.user_agent for b in result.bots] == [SNEAKY]
    assert service.bot_user_agents(table) == [SNEAKY]
    item = table.get({"PK": "BOTUA", "SK": SNEAKY})
    assert item["Detections"] == 1
    assert "regular-intervals" in item["Reasons"]


def test_refresh_writes_new_bots_into_the_pattern_set_and_the_live_engine_sees_it(table, clock):
    store = TablePatternSetStore(table, {"Reported": ["^placeholder$"]})
    live = LivePatternSets(store, ["Reported"])
    assert not live.pattern("Reported").search(SNEAKY.lower())
    service.detect_crawlers(log_lines(clock, SNEAKY, 60, 1.0, "192.0.2.1"), table, clock)
    result = service.refresh_pattern_set(table, store, "Reported")
    assert result.changed
    assert result.patterns == ("zyxelia",)
    live.refresh()
    assert live.pattern("Reported").search(SNEAKY.lower())
    again = service.refresh_pattern_set(table, store, "Reported")
    assert not again.changed


def test_known_bots_are_not_copied_into_the_reported_set(table, clock):
    service.detect_crawlers(log_lines(clock, "Googlebot/2.1", 3, 1, "192.0.2.3"), table, clock)
    store = TablePatternSetStore(table)
    result = service.refresh_pattern_set(table, store, "Reported")
    assert result.patterns == ()


def test_a_stale_lock_token_is_refused_like_waf_does(table):
    store = TablePatternSetStore(table)
    token = store.update("S", ["a"], "")
    store.update("S", ["b"], token)
    with pytest.raises(PatternSetLockedError):
        store.update("S", ["c"], token)


def test_refresh_retries_after_a_concurrent_update(table, clock):
    store = TablePatternSetStore(table)
    service.detect_crawlers(log_lines(clock, SNEAKY, 60, 1.0, "192.0.2.1"), table, clock)

    class Racing:
        calls = 0

        def get(self, name):
            return store.get(name)

        def update(self, name, patterns, token):
            Racing.calls += 1
            if Racing.calls == 1:
                store.update(name, ["someone-else"], token)  # wins the race
            return store.update(name, patterns, token)

    result = service.refresh_pattern_set(table, Racing(), "S")
    assert result.changed
    assert Racing.calls == 2
    assert store.get("S").patterns == ("zyxelia",)
