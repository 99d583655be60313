"""A started LocalRuntime records itself in ``$STRATUS_HOME/runtime.json`` and removes the
record when it stops; a second runtime on the same home leaves a live record alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime import discovery
from stratus.platform.runtime.app import LocalRuntime

EXAMPLE = Path(__file__).resolve().parent.parent / "example_app" / "template.yaml"


def test_a_started_runtime_is_recorded_until_it_stops(tmp_path: Path):
    home = tmp_path / "home"
    runtime = LocalRuntime([EXAMPLE], home=home, clock=FakeClock())
    runtime.start()
    try:
        live = discovery.running(home)
        assert live is not None
        assert (live.pid, live.url, live.home) == (os.getpid(), runtime.url, str(home.resolve()))
        [api] = live.apis
        assert (api.prefix, api.app, api.api) == ("/example_app", "example_app", "OrdersApi")
        assert api.url == runtime.url + "/example_app"
        assert api.api_keys == ()  # no usage plan in the example app
        assert stat.S_IMODE(discovery.path(home).stat().st_mode) == 0o600
    finally:
        runtime.stop()
    assert not discovery.path(home).exists()
    assert discovery.running(home) is None


def test_a_second_runtime_does_not_replace_a_live_record(tmp_path: Path):
    home = tmp_path / "home"
    first = LocalRuntime([EXAMPLE], home=home, clock=FakeClock())
    first.start()
    try:
        second = LocalRuntime([EXAMPLE], home=home, clock=FakeClock())
        second.start()
        try:
            recorded = discovery.running(home)
            assert recorded is not None
            assert recorded.url == first.url != second.url
        finally:
            second.stop()
        recorded = discovery.running(home)
        assert recorded is not None
        assert recorded.url == first.url
    finally:
        first.stop()
    assert discovery.read(home) is None


def test_a_stale_record_is_replaced_at_start(tmp_path: Path):
    home = tmp_path / "home"
    runtime = LocalRuntime([EXAMPLE], home=home, clock=FakeClock())
    discovery.write(
        home,
        discovery.RuntimeRecord(pid=os.getpid(), url="http://127.0.0.1:9", home="", started_at=""),
    )
    runtime.start()
    try:
        recorded = discovery.running(home)
        assert recorded is not None
        assert recorded.url == runtime.url
    finally:
        runtime.stop()
