"""The edge proxy as an ASGI application (``stratus edge proxy`` serves it with uvicorn).

The ASGI shell only frames bytes: the raw path and query as sent (percent-encoded), headers
decoded as latin-1 (HTTP's own charset, so any byte survives), the body read up to the limit
(413 beyond, without reading the rest). Everything else is :meth:`EdgeProxy.handle`, run in a
worker thread because origins are reached with blocking I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class EdgeAsgi:
    """ASGI 3 application over anything with ``handle(HttpRequest, scheme) -> HttpResponse``."""

    def __init__(self, proxy: Any, *, max_body_bytes: int = 10 * 1024 * 1024) -> None:
        self.proxy = proxy
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body.extend(message.get("body", b""))
            more = bool(message.get("more_body"))
            if len(body) > self.max_body_bytes:
                await _send(
                    send,
                    HttpResponse(
                        413, [("Content-Type", "text/plain")], b"request body too large\n"
                    ),
                )
                return
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        path = bytes(raw_path).decode("latin-1").split("?", 1)[0] or "/"
        client = scope.get("client") or ("127.0.0.1", 0)
        request = HttpRequest(
            method=str(scope["method"]).upper(),
            path=path,
            query=bytes(scope.get("query_string", b"")).decode("latin-1"),
            headers=[
                (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in scope.get("headers", [])
            ],
            body=bytes(body),
            source_ip=str(client[0]),
        )
        response = await asyncio.to_thread(self.proxy.handle, request, scope.get("scheme", "http"))
        await _send(send, response, head=request.method == "HEAD")


async def _send(send: Send, response: HttpResponse, *, head: bool = False) -> None:
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1", "replace"))
        for k, v in response.headers
        if k.lower() not in ("content-length", "transfer-encoding", "connection")
    ]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})
