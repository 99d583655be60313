"""Shared test helpers of the facade: databases (SQLite or a fresh PostgreSQL schema), fakes."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.relational import Engines, engines, normalise_url, upgrade
from stratus.solutions.facade.db import MIGRATIONS
from stratus.solutions.facade.legacy_client import TransportError, TransportTimeoutError

Answer = tuple[int, bytes] | Exception


@contextmanager
def database(kind: str, tmp_path: Path, postgres_url: str | None = None) -> Iterator[Engines]:
    """Migrated engines: a SQLite file in tmp_path, or a fresh schema on the test PostgreSQL
    (dropped afterwards)."""
    if kind == "sqlite":
        result = engines(None, home=tmp_path, name="facade")
        upgrade(result.writer, MIGRATIONS)
        try:
            yield result
        finally:
            result.dispose()
        return
    assert postgres_url is not None
    schema = f"facade_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
    result = engines(url, home=tmp_path, name="facade")
    try:
        upgrade(result.writer, MIGRATIONS)
        yield result
    finally:
        result.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def down_database_url() -> str:
    """A PostgreSQL URL whose server is down (connection refused on loopback)."""
    return f"postgresql://nobody:x@127.0.0.1:{closed_port()}/nothing?connect_timeout=2"


class FakeTransport:
    """The legacy API as a table of answers per path; latency moves the FakeClock.

    ``script[path]`` is a list of answers used in order (the last one repeats): a
    ``(status, body)`` pair, or an exception to raise. ``latency_s`` advances the clock per
    call; a latency at or above the call's timeout raises TransportTimeoutError instead.
    ``gate`` (when set) makes every call wait for it: for coalescing tests.
    """

    def __init__(
        self,
        clock: FakeClock,
        script: Mapping[str, list[Answer]] | None = None,
        *,
        latency_s: float | Callable[[str], float] = 0.15,
    ) -> None:
        self.clock = clock
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.latency_s = latency_s
        self.calls: list[tuple[str, float]] = []
        self.gate: threading.Event | None = None
        self._lock = threading.Lock()

    def get(self, url: str, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
        path = url.split("://", 1)[-1].split("/", 1)[-1]
        path = "/" + path.split("?", 1)[0]
        with self._lock:
            self.calls.append((path, timeout_s))
            answers = self.script.get(path) or [(404, b"{}")]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if self.gate is not None:
            self.gate.wait(5)
        latency = self.latency_s(path) if callable(self.latency_s) else self.latency_s
        if latency >= timeout_s:
            self.clock.advance(timeout_s)
            raise TransportTimeoutError(f"{path}: timed out")
        self.clock.advance(latency)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def paths(self) -> list[str]:
        with self._lock:
            return [p for p, _ in self.calls]


REFUSED = TransportError("connection refused")
