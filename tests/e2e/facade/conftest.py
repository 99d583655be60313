"""`stratus up` with the facade template as a real process, over loopback HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, start_server

TEMPLATE = Path(__file__).resolve().parents[3] / "src/stratus/solutions/facade/infra/template.yaml"
ALICE = {"Authorization": "Bearer alice-demo-token"}


def call(
    server: Server, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    """Status, JSON body and headers (the shared Server.request drops headers)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), dict(err.headers)


def set_faults(server: Server, **faults: Any) -> None:
    status, body, _ = call(server, "PUT", "/facade/legacy/_admin/faults", faults)
    assert status == 200, body


@pytest.fixture
def facade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start `stratus up --template <facade> --demo [extra...]`; stopped at the end."""
    monkeypatch.setenv("FACADE_LEGACY_LATENCY_MS", "5")
    servers: list[Server] = []

    def start(*extra: str) -> Server:
        home = tmp_path / f"home{len(servers)}"
        server = start_server(home, "--demo", *extra, template=TEMPLATE)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)
