"""``$STRATUS_HOME/runtime.json``: written atomically with mode 0600, read back, and ignored
when stale (its process is gone or nothing answers at its URL)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.platform.runtime import discovery
from stratus.platform.runtime.apigateway import ApiServer, HttpRequest, HttpResponse
from stratus.platform.runtime.discovery import ApiRecord, RuntimeRecord


def record(url: str = "http://127.0.0.1:1", pid: int | None = None, **api: str) -> RuntimeRecord:
    keys = (api["key"],) if "key" in api else ()
    return RuntimeRecord(
        pid=os.getpid() if pid is None else pid,
        url=url,
        home="/somewhere",
        started_at="2026-01-01T00:00:00Z",
        apis=(ApiRecord("/shop", "shop", "ShopApi", url + "/shop", keys),),
        services=("/shop/site",),
    )


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def closed_port_url() -> str:
    """A loopback URL nothing listens at."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Echo:
    """A mounted service that answers with what it got; 404 below ``/missing`` and for a
    runtime's metrics route (it is not a runtime)."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        status = 404 if request.path.startswith(("/missing", "/_stratus")) else 200
        body = {
            "path": request.path,
            "query": request.query,
            "key": request.header("x-api-key"),
        }
        return HttpResponse(
            status, [("Content-Type", "application/json")], json.dumps(body).encode()
        )


@pytest.fixture
def server() -> Iterator[ApiServer]:
    api = ApiServer(host="127.0.0.1", port=0)
    api.mount("/shop", Echo())
    api.start()
    yield api
    api.stop()


def test_written_record_reads_back_equal_with_mode_0600_and_no_temporary_file(tmp_path: Path):
    written = discovery.write(tmp_path, record(key="k-1"))
    assert written == tmp_path.resolve() / "runtime.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert discovery.read(tmp_path) == record(key="k-1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runtime.json"]
    assert json.loads(written.read_text())["apis"][0]["api_keys"] == ["k-1"]


def test_mode_is_0600_even_with_a_permissive_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        discovery.write(tmp_path, record(key="secret"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(discovery.path(tmp_path).stat().st_mode) == 0o600


def test_a_new_record_replaces_the_old_one_whole(tmp_path: Path):
    discovery.write(tmp_path, record(url="http://127.0.0.1:1"))
    discovery.write(tmp_path, record(url="http://127.0.0.1:2"))
    got = discovery.read(tmp_path)
    assert got is not None
    assert got.url == "http://127.0.0.1:2"


@pytest.mark.parametrize(
    "content",
    ["", "{not json", "[]", '{"version": 2, "pid": 1, "url": "x"}', '{"version": 1}'],
)
def test_a_missing_or_malformed_file_reads_as_none(tmp_path: Path, content: str):
    assert discovery.read(tmp_path) is None
    (tmp_path / "runtime.json").write_text(content)
    assert discovery.read(tmp_path) is None
    assert discovery.running(tmp_path) is None


def test_a_record_whose_process_is_gone_is_stale(tmp_path: Path, server: ApiServer):
    discovery.write(tmp_path, record(url=server.url, pid=dead_pid()))
    assert discovery.read(tmp_path) is not None
    assert discovery.running(tmp_path) is None


def test_a_record_whose_url_does_not_answer_is_stale(tmp_path: Path):
    discovery.write(tmp_path, record(url=closed_port_url()))
    assert discovery.running(tmp_path) is None


def test_a_url_answered_by_something_else_than_a_runtime_is_stale(
    tmp_path: Path, server: ApiServer
):
    discovery.write(tmp_path, record(url=server.url + "/shop"))  # no metrics route there
    assert discovery.running(tmp_path) is None


def test_a_live_record_is_running(tmp_path: Path, server: ApiServer):
    discovery.write(tmp_path, record(url=server.url, key="k"))
    live = discovery.running(tmp_path)
    assert live is not None
    assert live.api("shop") == live.api("shop", "ShopApi") == live.apis[0]
    assert live.api("shop", "OtherApi") is None
    assert live.api("other") is None


def test_get_json_sends_the_key_and_query_and_returns_every_status(
    tmp_path: Path, server: ApiServer
):
    api = ApiRecord("/shop", "shop", "ShopApi", server.url + "/shop", ("k-9",))
    status, body = api.get_json("/items/a%2Fb", {"by": "tag:team", "month": "2024-05"})
    assert status == 200
    assert body == {"path": "/items/a%2Fb", "query": "by=tag%3Ateam&month=2024-05", "key": "k-9"}
    status, body = api.get_json("/missing")
    assert status == 404
    assert body["path"] == "/missing"


def test_get_json_on_a_dead_url_is_unreachable():
    api = ApiRecord("/shop", "shop", "ShopApi", closed_port_url() + "/shop")
    with pytest.raises(discovery.UnreachableError, match="did not answer"):
        api.get_json("/items", timeout_s=2)
    with pytest.raises(discovery.UnreachableError, match="http"):
        ApiRecord("/x", "x", "X", "file:///etc").get_json("/passwd")


def test_withdraw_removes_only_the_record_it_was_given(tmp_path: Path):
    mine, other = record(url="http://127.0.0.1:1"), record(url="http://127.0.0.1:2")
    discovery.write(tmp_path, other)
    discovery.withdraw(tmp_path, mine)
    assert discovery.read(tmp_path) == other
    discovery.withdraw(tmp_path, other)
    assert discovery.read(tmp_path) is None
    discovery.withdraw(tmp_path, other)  # already gone: nothing to do
    discovery.withdraw(tmp_path, None)


def test_a_wildcard_bind_address_is_recorded_as_loopback():
    assert discovery.loopback_url("http://0.0.0.0:8000") == "http://127.0.0.1:8000"
    assert discovery.loopback_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert discovery.loopback_url("http://localhost:9") == "http://localhost:9"


def test_pid_alive():
    assert discovery.pid_alive(os.getpid())
    assert not discovery.pid_alive(dead_pid())
    assert not discovery.pid_alive(0)
    assert not discovery.pid_alive(-1)
