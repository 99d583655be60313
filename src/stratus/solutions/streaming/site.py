"""The local site: pages, hls.js, live HLS and recordings over HTTP, plus the media servers.

Mounted by the runtime (template ``Metadata: stratus.mount``) at ``/streaming/site``; on AWS
the same static files sit in S3 behind CloudFront and the media comes from IVS / the
recordings bucket. The factory :func:`mount` also starts, on their own loopback ports:

* the RTMP ingest (:class:`~stratus.solutions.streaming.media.service.MediaService`), port
  ``STRATUS_STREAMING_RTMP_PORT`` (default 1935, ``0`` = any free port);
* the WebSocket chat (:class:`~stratus.solutions.streaming.chat.server.ChatServer`), port
  ``STRATUS_STREAMING_CHAT_PORT`` (default 8765), fanning out through Redis when
  ``STRATUS_REDIS_URL`` is set.

Both stop with the runtime. ``GET /streaming/site/config.json`` tells pages (and tests)
where the API, the chat and the ingest are.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from stratus.platform.ports import NotFoundError, PortError, UserPool
from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse
from stratus.solutions.streaming import bootstrap, service
from stratus.solutions.streaming.chat.server import ChatServer
from stratus.solutions.streaming.media.service import CONTENT_TYPES, MediaService
from stratus.solutions.streaming.service import AuthError, Ports, TestPaymentProvider
from stratus.solutions.streaming.store import Store
from stratus.solutions.streaming.uploads import MAX_UPLOAD_BYTES, LocalUploadSigner

log = logging.getLogger("stratus.streaming.site")

WEB_DIR = Path(__file__).resolve().parent / "web"
HLS_JS = WEB_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js"
PREFIX = "/streaming/site"
API_PREFIX = "/streaming"
_SAFE = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def _text(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


class StreamingSite:
    """Pages, media and the media/chat servers of one runtime."""

    def __init__(self, ports: Ports, media: MediaService, chat: ChatServer) -> None:
        self.ports = ports
        self.media = media
        self.chat = chat
        self.demo_processes: list[subprocess.Popen[bytes]] = []
        self.signer = LocalUploadSigner(ports.secrets, "")

    def start(self) -> None:
        self.media.start()
        self.chat.start()
        self.ports.store.put_config(
            "media", {"ingest_url": self.media.ingest_url, "chat_url": self.chat.url}
        )

    def stop(self) -> None:
        """Stop demo devices, the chat and the media servers (the runtime's ``stop``)."""
        for process in self.demo_processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.chat.stop()
        self.media.stop()

    def config(self) -> dict[str, Any]:
        return {
            "api": API_PREFIX,
            "site": PREFIX,
            "chat_url": self.chat.url,
            "ingest_url": self.media.ingest_url,
            "hls_js": HLS_JS.exists(),
        }

    # -- HTTP -------------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Serve one request below the mount point."""
        path = request.path or "/"
        if request.method.upper() == "PUT" and path.startswith("/upload/"):
            return self._upload(request, unquote(path[len("/upload/"):]))
        if request.method.upper() not in ("GET", "HEAD"):
            return _text(405, "the site is read-only: use the API")
        if path in ("/", ""):
            path = "/index.html"
        if path == "/config.json":
            return HttpResponse(200, [("Content-Type", "application/json"),
                                      ("Cache-Control", "no-store")],
                                json.dumps(self.config()).encode())
        if path == "/vendor/hls.min.js":
            return self._file(HLS_JS, missing="hls.js is not installed: run "
                              "`npm ci --prefix src/stratus/solutions/streaming/web`")
        if path.startswith("/live/"):
            return self._live(request, path[len("/live/"):])
        if path.startswith("/media/"):
            return self._media(request, path[len("/media/"):])
        name = path.lstrip("/")
        if not _SAFE.match(name) or ".." in name or name.startswith("node_modules"):
            return _text(404, "not found")
        return self._file(WEB_DIR / name)

    def _upload(self, request: HttpRequest, key: str) -> HttpResponse:
        """A signed PUT into the recordings bucket: S3's presigned PUT, locally. The object
        lands through the ObjectStore port, so its object-created event runs the
        transcoding function as S3's would."""
        if not key.startswith("uploads/") or not _SAFE.match(key) or ".." in key:
            return _text(403, "not an upload key")
        ctype = request.header("Content-Type") or ""
        reason = self.signer.check(key, ctype, len(request.body), dict(request.query_pairs()))
        if reason is not None:
            return _text(403, reason)
        if not request.body or len(request.body) > MAX_UPLOAD_BYTES:
            return _text(400, f"body: 1 to {MAX_UPLOAD_BYTES} bytes")
        try:
            self.ports.recordings.put(key, request.body, content_type=ctype)
        except PortError as exc:
            return _text(503, f"storage unavailable: {exc}")
        return HttpResponse(200, [("Content-Type", "application/json")], b"{}")

    def _file(self, file: Path, *, missing: str = "not found") -> HttpResponse:
        if not file.is_file():
            return _text(404, missing)
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return HttpResponse(200, [("Content-Type", ctype), ("Cache-Control", "no-cache")],
                            file.read_bytes())

    def _live(self, request: HttpRequest, rest: str) -> HttpResponse:
        """``/live/<stream id>/<file>``: the packager's output, as it is written."""
        if not _SAFE.match(rest) or ".." in rest:
            return _text(404, "not found")
        file = self.media.live_dir / rest
        suffix = file.suffix
        if suffix not in (".m3u8", ".ts", ".m4s", ".mp4") or not file.is_file():
            return _text(404, "no such live media (not live yet, or ended)")
        if suffix == ".m3u8":
            viewer = dict(request.query_pairs()).get("v") or request.source_ip
            self.media.viewers.saw(rest.split("/", 1)[0], viewer)
        cache = "no-cache" if suffix == ".m3u8" else "max-age=3600"
        return HttpResponse(200, [("Content-Type", CONTENT_TYPES[suffix]),
                                  ("Cache-Control", cache),
                                  ("Access-Control-Allow-Origin", "*")], file.read_bytes())

    def _media(self, request: HttpRequest, key: str) -> HttpResponse:
        """Objects of the recordings bucket: covers are public; recordings follow visibility."""
        if not _SAFE.match(key) or ".." in key:
            return _text(404, "not found")
        parts = key.split("/")
        if parts[0] == "recordings" and len(parts) >= 3:
            recording = self.ports.store.find_recording(parts[1])
            if recording is None:
                return _text(404, "recording not found")
            token = request.header("Authorization")
            if token is None:
                token = dict(request.query_pairs()).get("token")
            try:
                who = service.authenticate(self.ports, token) if token else None
            except AuthError:
                who = None
            if not service.can_watch_recording(self.ports, who, recording):
                return _text(404, "recording not found")
        elif parts[0] != "covers":
            return _text(404, "not found")
        try:
            data = self.ports.recordings.get(key)
            info = self.ports.recordings.head(key)
        except NotFoundError:
            return _text(404, "not found")
        except PortError as exc:
            return _text(503, f"storage unavailable: {exc}")
        return HttpResponse(200, [("Content-Type", info.content_type),
                                  ("Cache-Control", "private, max-age=60")], data)


def _streaming_app(runtime: Any) -> Any:
    for app in runtime.apps:
        if "StreamingTable" in app.tables and "RecordingsBucket" in app.buckets:
            return app
    raise RuntimeError("the streaming template is not loaded in this runtime")


def _user_pool(app: Any, resources: Any) -> UserPool:
    """The template's user pool through its app client (the chat checks session tokens)."""
    pool = app.user_pools["UserPool"]
    users: UserPool = resources.user_pool(pool.pool_id, pool.clients[0].client_id)
    return users


Built = TypeVar("Built")


def _bind(what: str, port: int, build: Callable[[int], Built]) -> Built:
    """Build a server on ``port``; when that port is taken (another `stratus up`), on any
    free port instead (config.json and pairing answers carry the real URLs)."""
    try:
        return build(port)
    except OSError as exc:
        if port == 0:
            raise
        log.warning("%s: port %d is busy (%s); using a free port", what, port, exc)
        return build(0)


def mount(runtime: Any) -> StreamingSite:
    """Mount factory: build the site and start the media and chat servers."""
    app = _streaming_app(runtime)
    resources = runtime.resources
    bucket = resources.bucket(app.buckets["RecordingsBucket"].name)
    ports = Ports(
        store=Store(resources.table(app.tables["StreamingTable"].spec.name)),
        recordings=bucket,
        mailer=resources.mailer(),
        clock=runtime.clock,
        secrets=resources.secrets(),
        payments=TestPaymentProvider(),
        warehouse=bootstrap.local_warehouse(runtime.home),
        users=_user_pool(app, resources),
        reconnect_window_s=float(app.parameters.get("ReconnectWindowSeconds", 10)),
    )

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        answer = runtime.invoke("IngestFunction", event)
        return answer if isinstance(answer, dict) else {"ok": False, "reason": "no answer"}

    live_dir = runtime.home / "streaming" / "live"
    media = _bind(
        "RTMP ingest", int(os.environ.get("STRATUS_STREAMING_RTMP_PORT", "1935")),
        lambda port: MediaService(invoke, live_dir, bucket, host=runtime.host, rtmp_port=port),
    )
    redis_url = os.environ.get("STRATUS_REDIS_URL") or None
    chat = _bind(
        "chat", int(os.environ.get("STRATUS_STREAMING_CHAT_PORT", "8765")),
        lambda port: ChatServer(ports, host=runtime.host, port=port, redis_url=redis_url),
    )
    site = StreamingSite(ports, media, chat)
    site.start()
    return site
