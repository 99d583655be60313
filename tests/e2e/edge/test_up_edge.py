"""`stratus up --demo` with the edge template as a real process: the proxy in front of the
demo site, over loopback HTTP; the demo signing key survives a restart."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.solutions.edge.config import TEMPLATE
from tests.e2e.conftest import Server, start_server

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


def call(
    server: Server, path: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(
        server.base + path, method=method, headers={"User-Agent": BROWSER, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.kill()


def test_stratus_up_serves_the_protected_demo_site(tmp_path, servers):
    home = tmp_path / "home"
    server = start_server(home, "--demo", template=TEMPLATE)
    servers.append(server)
    assert call(server, "/edge/site/")[0] == 200
    assert call(server, "/edge/site/api/products?id=%27%20or%201%3D1--")[0] == 403
    assert call(server, "/edge/site/", headers={"User-Agent": "Wget/1.21"})[0] == 403
    token = json.loads(call(server, "/edge/idp/token", method="POST")[1])["id_token"]
    status, body = call(
        server, "/edge/site/static/index.html", headers={"Cookie": f"id_token={token}"}
    )
    assert status == 200
    assert b"signed-in users" in body
    metrics = json.loads(call(server, "/edge/site/_edge/metrics")[1])
    assert metrics["rules"]["SqlInjection"]["blocked"] == 1
    server.kill()
    again = start_server(home, template=TEMPLATE)
    servers.append(again)
    status, _ = call(again, "/edge/site/static/index.html", headers={"Cookie": f"id_token={token}"})
    assert status == 200  # static objects and the signing key survived the restart
