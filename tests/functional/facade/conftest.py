"""Fixtures of the facade functional tests: a seeded database under a temporary
STRATUS_HOME and the demo legacy API served on loopback."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratus.solutions.facade import bootstrap, demo
from stratus.solutions.facade.legacy.app import Faults, LegacyService
from stratus.solutions.facade.legacy.server import serve

EVENTS = Path(__file__).resolve().parent / "events"


def event(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded event with top-level changes."""
    loaded = json.loads((EVENTS / f"{name}.json").read_text())
    result: dict[str, Any] = copy.deepcopy(loaded)
    result.update(changes)
    return result


@pytest.fixture
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LegacyService]:
    """A seeded SQLite facade database and the legacy API over it on a loopback port;
    the handlers' environment points at both."""
    home = tmp_path / "home"
    monkeypatch.setenv("STRATUS_HOME", str(home))
    monkeypatch.setenv("STRATUS_TARGET", "local")
    monkeypatch.setenv("WRITER_URL", "")
    monkeypatch.setenv("READER_URL", "")
    monkeypatch.setenv("LEGACY_TIMEOUT_MS", "500")
    bootstrap.reset()
    engines = bootstrap.database(None, None, home)
    demo.seed(engines.writer, customers=5)
    service = LegacyService(engines.writer, Faults(latency_ms=5))
    server = serve(service)
    monkeypatch.setenv("LEGACY_BASE_URL", server.url)
    try:
        yield service
    finally:
        server.stop()
        bootstrap.reset()
