"""A thin HTTP shell over :class:`LocalApiGateway`: sockets in, ``handle`` out.

``ApiServer`` mounts gateways under path prefixes (``/`` for a single API, ``/<name>`` for
several) on a ``ThreadingHTTPServer``. Everything the client sees comes from ``handle``; the
shell only frames bytes. ``GET /_stratus/metrics`` returns every mounted gateway's metrics.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse
from stratus.platform.runtime.apigateway.gateway import (
    LocalApiGateway,
    missing_authentication_token,
)

METRICS_PATH = "/_stratus/metrics"


class Mountable(Protocol):
    """Anything that answers a request without sockets: a gateway, or an application's own
    local service (a reverse proxy, a web site) that the runtime mounts beside the APIs."""

    def handle(self, request: HttpRequest) -> HttpResponse: ...


def _normalise_prefix(prefix: str) -> str:
    return "/" + prefix.strip("/")


class ApiServer:
    """Serve several local API Gateways on one loopback port.

    ``port=0`` picks a free port; :attr:`url` tells which. Use as a context manager, or call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self._mounts: dict[str, Mountable] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def mount(self, prefix: str, gateway: Mountable) -> None:
        """Serve ``gateway`` (any :class:`Mountable`) under ``prefix`` (``"/"``, ``"/orders"``)."""
        prefix = _normalise_prefix(prefix)
        if prefix in self._mounts:
            raise ValueError(f"prefix {prefix} is already mounted")
        if prefix.startswith(METRICS_PATH.rsplit("/", 1)[0]):
            raise ValueError(f"prefix {prefix} is reserved")
        self._mounts[prefix] = gateway

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def metrics(self) -> dict[str, Any]:
        """Metrics of every mounted gateway, by prefix."""
        return {
            prefix: {"api": gw.spec.name, "stage": gw.spec.stage, **gw.metrics.snapshot()}
            for prefix, gw in sorted(self._mounts.items())
            if isinstance(gw, LocalApiGateway)
        }

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        """Pick the gateway by longest prefix and let it answer; pure, no sockets."""
        if request.path == METRICS_PATH and request.method.upper() == "GET":
            body = json.dumps({"apis": self.metrics()}).encode()
            return HttpResponse(200, [("Content-Type", "application/json")], body)
        for prefix in sorted(self._mounts, key=len, reverse=True):
            gateway = self._mounts[prefix]
            if prefix == "/":
                return gateway.handle(request)
            if request.path == prefix or request.path.startswith(prefix + "/"):
                inner = request.path[len(prefix) :] or "/"
                return gateway.handle(
                    HttpRequest(
                        method=request.method,
                        path=inner,
                        query=request.query,
                        headers=request.headers,
                        body=request.body,
                        source_ip=request.source_ip,
                    )
                )
        return missing_authentication_token()

    def start(self) -> None:
        """Bind and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the server is already started")
        server = _ListeningServer((self.host, self._port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
            name="stratus-apigateway",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _ListeningServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a listen backlog for many concurrent clients.

    socketserver's default backlog is 5: with hundreds of clients connecting at once the
    kernel drops the extra handshakes and clients retransmit after 1, 3, 7, 15 s."""

    request_queue_size = 1024


def _read_chunked(handler: BaseHTTPRequestHandler) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(handler.rfile.read(size))
        handler.rfile.readline()


def _make_handler(api: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "stratus-apigateway"
        # One buffered write per response (flushed by http.server after each request) and
        # TCP_NODELAY: otherwise Nagle + delayed ACK add ~40 ms to every keep-alive request.
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: metrics say what happened."""

        def _serve(self) -> None:
            split = urlsplit(self.path)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = _read_chunked(self)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
            request = HttpRequest(
                method=self.command,
                path=split.path or "/",
                query=split.query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            response = api.dispatch(request)
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        # http.server dispatches to do_<METHOD>; every method goes through the gateway.
        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, CONNECT, made-up ones) also goes through the gateway,
            # which answers as API Gateway does (403 for a method with no route), instead of
            # http.server's HTML 501.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

    return Handler
