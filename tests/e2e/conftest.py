"""Run `stratus up` as a real process and talk to it over loopback HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EXAMPLE_TEMPLATE = Path(__file__).resolve().parent.parent / "example_app" / "template.yaml"
STRATUS = str(Path(sys.executable).parent / "stratus")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A `stratus up` process."""

    process: subprocess.Popen[str]
    base: str
    log: Path

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine loses power."""
        self.process.kill()
        self.process.wait(timeout=10)

    def interrupt(self) -> int:
        """Ctrl-C and wait for a clean exit."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=20)


def start_server(home: Path, *extra: str, template: Path = EXAMPLE_TEMPLATE) -> Server:
    port = free_port()
    log = home.parent / f"up-{port}.log"
    out = log.open("w")
    process = subprocess.Popen(
        [
            STRATUS,
            "up",
            "--template",
            str(template),
            "--home",
            str(home),
            "--port",
            str(port),
            *extra,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "Ready." in log.read_text():
            return Server(process, f"http://127.0.0.1:{port}", log)
        if process.poll() is not None:
            raise AssertionError(f"stratus up exited early:\n{log.read_text()}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"stratus up did not become ready:\n{log.read_text()}")


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Any]:
    """Start servers on demand; every one still running is stopped at the end."""
    servers: list[Server] = []

    def start(*extra: str, home: Path | None = None) -> Server:
        server = start_server(home or tmp_path / "home", *extra)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)
