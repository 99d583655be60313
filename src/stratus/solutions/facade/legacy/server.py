"""Serving the legacy demo API: mounted in `stratus up`, or standalone.

In `stratus up` the facade template's ``Metadata.stratus.mount`` maps ``/facade/legacy`` to
:func:`mount`, so the legacy API answers on the runtime's port under that prefix (the
facade's default LEGACY_BASE_URL). Its database is the facade database (the template's
``WriterUrl`` parameter, else ``STRATUS_HOME/db/facade.sqlite3``). Initial faults come from
``FACADE_LEGACY_LATENCY_MS``, ``FACADE_LEGACY_SLOW_RATE``, ``FACADE_LEGACY_SLOW_MS`` and
``FACADE_LEGACY_ERROR_RATE``; ``PUT /facade/legacy/_admin/faults`` changes them at run time.
``stratus facade legacy`` serves it alone on an asyncio loop (:func:`serve_async`).
"""

from __future__ import annotations

import asyncio
import os
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any

from stratus.platform.runtime.apigateway import ApiServer, HttpRequest, HttpResponse
from stratus.solutions.facade.legacy.app import Faults, LegacyService


def faults_from_env() -> Faults:
    """Initial faults from the FACADE_LEGACY_* variables of the runtime's process."""
    env = os.environ
    return Faults(
        latency_ms=float(env.get("FACADE_LEGACY_LATENCY_MS") or 150),
        slow_rate=float(env.get("FACADE_LEGACY_SLOW_RATE") or 0),
        slow_ms=float(env.get("FACADE_LEGACY_SLOW_MS") or 3000),
        error_rate=float(env.get("FACADE_LEGACY_ERROR_RATE") or 0),
    ).validated()


def mount(runtime: Any) -> LegacyService:
    """The ``stratus.mount`` factory: the legacy service over the facade database."""
    from stratus.platform.runtime.apibuild import app_slug
    from stratus.solutions.facade.bootstrap import database
    from stratus.solutions.facade.store import DatabaseUnavailableError

    writer = None
    for app in runtime.apps:
        if app_slug(app) == "facade":
            writer = str(app.parameters.get("WriterUrl") or "") or None
    try:
        engines = database(writer, None, Path(runtime.home))
    except DatabaseUnavailableError:  # start anyway: requests fail until the database is back
        engines = database(writer, None, Path(runtime.home), migrate=False)
    return LegacyService(engines.writer, faults_from_env())


def serve(service: LegacyService, host: str = "127.0.0.1", port: int = 0) -> ApiServer:
    """Serve ``service`` alone on ``host:port`` (started; call ``stop()`` when done)."""
    server = ApiServer(host=host, port=port)
    server.mount("/", service)
    server.start()
    return server


class AsyncLegacyServer:
    """The legacy API on one asyncio event loop (in a daemon thread): ``stratus facade legacy``.

    The simulated latency is an ``asyncio.sleep``, so hundreds of waiting requests hold no
    thread each; the database work after it runs on the loop (short SQLite/PostgreSQL reads).
    A thread per connection (:func:`serve`) costs the process far more CPU per request under
    hundreds of concurrent clients, which on a shared 2-core machine is taken from whatever
    is measured beside it. HTTP/1.1 with keep-alive and ``Content-Length`` bodies only.
    """

    def __init__(self, service: LegacyService, host: str = "127.0.0.1", port: int = 0) -> None:
        self.service = service
        self.host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` once started."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        return f"http://{self.host}:{self._server.sockets[0].getsockname()[1]}"

    def start(self) -> None:
        """Bind, then serve on the loop's thread."""
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, self.host, self._port, backlog=1024)
        )
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="legacy-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return

        async def close() -> None:
            server.close()
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(close(), self._loop)
        thread.join(timeout=5)
        self._server = None
        self._thread = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request, keep_alive = await self._request(head, reader, str(peer[0]))
                if request is None:
                    writer.write(_frame(HttpResponse(400, [], b""), keep_alive=False))
                    break
                planned = self.service.delay(request)
                if isinstance(planned, HttpResponse):
                    response = planned
                else:
                    if planned > 0:
                        await asyncio.sleep(planned)
                    response = self.service.answer(request)
                writer.write(_frame(response, keep_alive=keep_alive, head=request.method == "HEAD"))
                await writer.drain()
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _request(
        head: bytes, reader: asyncio.StreamReader, peer: str
    ) -> tuple[HttpRequest | None, bool]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        if len(parts) != 3:
            return None, False
        method, target, version = parts
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        lowered = {name.lower(): value for name, value in headers}
        connection = lowered.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        length = int(lowered.get("content-length") or 0)
        body = await reader.readexactly(length) if length else b""
        path, _, query = target.partition("?")
        return HttpRequest(method, path or "/", query, headers, body, peer), keep_alive


def _frame(response: HttpResponse, *, keep_alive: bool, head: bool = False) -> bytes:
    reason = HTTPStatus(response.status).phrase if response.status in _STATUSES else ""
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    lines += [
        f"{name}: {value}"
        for name, value in response.headers
        if name.lower() not in ("content-length", "connection", "transfer-encoding")
    ]
    lines.append(f"Content-Length: {len(response.body)}")
    lines.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
    framed = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return framed if head else framed + response.body


_STATUSES = frozenset(s.value for s in HTTPStatus)


def serve_async(
    service: LegacyService, host: str = "127.0.0.1", port: int = 0
) -> AsyncLegacyServer:
    """Serve ``service`` alone on an asyncio loop (started; call ``stop()`` when done)."""
    server = AsyncLegacyServer(service, host, port)
    server.start()
    return server
