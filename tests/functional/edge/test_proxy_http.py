"""The edge proxy over loopback HTTP, in front of a dynamic origin started here and static
content from the object store; served by the platform's HTTP shell and by uvicorn (ASGI)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from stratus.platform.runtime.apigateway import ApiServer
from stratus.solutions.edge.asgi import EdgeAsgi
from stratus.solutions.edge.proxy import HttpOrigin
from tests.unit.edge.conftest import BROWSER, make_proxy, token_for


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        type(self).hits += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        payload = json.dumps(
            {
                "path": self.path,
                "method": self.command,
                "hits": type(self).hits,
                "xff": self.headers.get("X-Forwarded-For"),
                "via": self.headers.get("Via"),
                "body": body.decode("utf-8", "replace"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header(
            "Cache-Control", "max-age=60" if self.path.startswith("/cached") else "no-store"
        )
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = _answer  # noqa: N815 - http.server's names


@pytest.fixture
def origin_url() -> Iterator[str]:
    Origin.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def edge(tmp_path, clock, origin_url, signing_key):
    proxy, parts = make_proxy(tmp_path, clock, HttpOrigin(origin_url), signing_key)
    parts["static"].put("static/site.css", b"body{}", content_type="text/css")
    with ApiServer() as server:
        server.mount("/", proxy)
        yield server.url, proxy, parts


def call(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        url, data=body, method=method, headers={"User-Agent": BROWSER, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_requests_reach_the_origin_with_forwarding_headers(edge):
    base, _, _ = edge
    status, _headers, body = call(f"{base}/api/x?y=1", method="POST", body=b"a=1")
    seen = json.loads(body)
    assert status == 200
    assert (seen["path"], seen["method"], seen["body"]) == ("/api/x?y=1", "POST", "a=1")
    assert seen["xff"] == "127.0.0.1"
    assert "CloudFront" in seen["via"]


def test_cache_control_from_the_origin_is_honoured_until_the_ttl_passes(edge, clock):
    base, _, _ = edge
    first = call(f"{base}/cached/a")
    second = call(f"{base}/cached/a")
    assert json.loads(first[2])["hits"] == json.loads(second[2])["hits"] == 1
    assert second[1]["X-Cache"] == "Hit from cloudfront"
    clock.advance(61)
    third = call(f"{base}/cached/a")
    assert json.loads(third[2])["hits"] == 2
    assert json.loads(call(f"{base}/nocache")[2])["hits"] == 3
    assert json.loads(call(f"{base}/nocache")[2])["hits"] == 4


def test_attacks_are_blocked_at_the_edge(edge):
    base, _proxy, _ = edge
    assert call(f"{base}/q?id=1%27%20or%20%271%27%3D%271")[0] == 403
    assert call(f"{base}/q?c=%22%3E%3Csvg%20onload%3Dalert(1)%3E")[0] == 403
    assert call(f"{base}/q", headers={"User-Agent": "python-requests/2.31"})[0] == 403
    assert Origin.hits == 0
    snapshot = json.loads(call(f"{base}/_edge/metrics")[2])
    assert snapshot["totals"]["waf_blocked"] == 3


def test_static_content_from_the_bucket_needs_a_jwt(edge, clock, signing_key):
    base, _, _ = edge
    assert call(f"{base}/static/site.css")[0] == 401
    token = token_for(signing_key, clock)
    status, headers, body = call(f"{base}/static/site.css", headers={"Cookie": f"id_token={token}"})
    assert (status, body, headers["Content-Type"]) == (200, b"body{}", "text/css")
    expired = token_for(signing_key, clock, ttl_s=1)
    clock.advance(120)
    req = urllib.request.Request(
        f"{base}/static/site.css",
        headers={"User-Agent": BROWSER, "Authorization": f"Bearer {expired}"},
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.build_opener(NoRedirect).open(req, timeout=10)
    assert err.value.code == 302
    assert err.value.headers["Location"].startswith("/auth/refresh?redirect_uri=")


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


@pytest.fixture
def asgi_port(tmp_path, clock, origin_url, signing_key) -> Iterator[int]:
    import uvicorn

    proxy, _ = make_proxy(tmp_path, clock, HttpOrigin(origin_url), signing_key)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            EdgeAsgi(proxy, max_body_bytes=1024 * 1024),
            host="127.0.0.1",
            port=port,
            log_level="error",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_the_asgi_app_serves_and_blocks(asgi_port):
    ok = raw(asgi_port, f"GET /api/a HTTP/1.1\r\nHost: x\r\nUser-Agent: {BROWSER}\r\n\r\n".encode())
    bad = raw(
        asgi_port,
        f"GET /a?x=%3Cscript%3E HTTP/1.1\r\nHost: x\r\nUser-Agent: {BROWSER}\r\n\r\n".encode(),
    )
    assert status_of(ok) == 200
    assert status_of(bad) == 403


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        (
            b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11) Firefox/1\r\n\r\n",
            400,
        ),
        (
            b"GET /caf\xc3\xa9\xff HTTP/1.1\r\nHost: x\r\n"
            b"User-Agent: Mozilla/5.0 (X11) Firefox/1\r\n\r\n",
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11) Firefox/1\r\nX-Big: "
            + b"a" * 30000
            + b"\r\n\r\n",
            494,
        ),
        # latin-1 bytes in a header: inspected as text; this one reads as a bot user agent
        (b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\xfe\xfd\r\n\r\n", 403),
        (
            b"POST /p HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11) Firefox/1\r\n"
            b"Content-Length: 2000000\r\n\r\n" + b"a" * 2000000,
            413,
        ),
        (
            b"POST /p HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11) Firefox/1\r\n"
            b"Content-Length: 4\r\n\r\n\xff\x00\xfe\x01",
            200,
        ),
    ],
)
def test_malformed_requests_never_crash_the_proxy(asgi_port, request_bytes, expected):
    response = raw(asgi_port, request_bytes)
    assert status_of(response) == expected
    after = raw(
        asgi_port, f"GET /still-alive HTTP/1.1\r\nHost: x\r\nUser-Agent: {BROWSER}\r\n\r\n".encode()
    )
    assert status_of(after) == 200
