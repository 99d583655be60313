"""The local CloudFront + WAF + Authorizer@Edge stand-in: a reverse proxy without sockets.

:class:`EdgeProxy` answers :class:`HttpRequest` objects (the runtime mounts it inside
``stratus up``; :mod:`.asgi` serves it alone). Per request, in CloudFront's order:

1. request hygiene: a path that is not valid percent-encoded UTF-8, control characters, or
   headers larger than CloudFront accepts are answered 400/494 with a reason (never a 500);
2. the WebACL (:mod:`.domain.waf`) — a block is a 403 from the edge, as CloudFront serves it;
3. HTTP → HTTPS redirect when TLS is configured (``ViewerProtocolPolicy: redirect-to-https``)
   and ``Strict-Transport-Security`` on HTTPS responses;
4. the cache behaviour whose path pattern matches; for a behaviour with a viewer-request
   Lambda@Edge association, the JWT authorizer (expired → redirect to refresh);
5. the cache (GET/HEAD, key and TTLs from the behaviour's cache policy, Cache-Control
   honoured), else the origin: the object store for static content, or the dynamic origin
   over HTTP(S) with ``X-Forwarded-For``;
6. an access-log line in CloudFront's format and per-rule metrics.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, unquote_to_bytes, urlsplit

from stratus.platform.ports import NotFoundError, ObjectStore, PortError
from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse
from stratus.solutions.edge.config import Behaviour, EdgeConfig
from stratus.solutions.edge.domain import accesslog, cache
from stratus.solutions.edge.domain.waf import RateLimiter, SetResolver, Verdict, WafRequest, WebAcl
from stratus.solutions.edge.lambda_edge.edge_authorizer import rules as jwtrules
from stratus.solutions.edge.lambda_edge.edge_authorizer.authorize import authorize
from stratus.solutions.edge.lambda_edge.edge_authorizer.settings import AuthSettings

log = logging.getLogger("stratus.edge")

MAX_HEADER_BYTES = 20 * 1024  # CloudFront: 20,480 bytes of request headers (494 above)
MAX_URL_BYTES = 8192  # CloudFront: 8,192 bytes of URL (414 above)
HOP_BY_HOP = frozenset(
    [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    ]
)
METRICS_PATH = "/_edge/metrics"


class Clock(Protocol):
    """The platform Clock port's ``now()``."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class OriginResponse:
    """What an origin answered."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Origin(Protocol):
    """Where a behaviour's requests go."""

    def fetch(
        self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> OriginResponse: ...


class ObjectStoreOrigin:
    """Static content from a bucket: the path (without the leading ``/``) is the key, as
    CloudFront asks S3. A missing key is 404 here (S3 answers 403 when CloudFront's OAC may
    not list the bucket)."""

    def __init__(self, objects: ObjectStore, index: str = "index.html") -> None:
        self._objects = objects
        self._index = index

    def fetch(
        self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> OriginResponse:
        if method not in ("GET", "HEAD"):
            return OriginResponse(405, [("Content-Type", "text/plain")], b"method not allowed\n")
        key = unquote_to_bytes(path.lstrip("/")).decode("utf-8", "replace")
        if not key or key.endswith("/"):
            key += self._index
        try:
            info = self._objects.head(key)
            data = self._objects.get(key)
        except NotFoundError:
            return OriginResponse(404, [("Content-Type", "text/plain")], b"not found\n")
        out = [("Content-Type", info.content_type or "application/octet-stream")]
        if info.etag:
            out.append(("ETag", f'"{info.etag.strip(chr(34))}"'))
        control = (info.metadata or {}).get("cache-control")
        if control:
            out.append(("Cache-Control", control))
        return OriginResponse(200, out, data)


class HttpOrigin:
    """A dynamic origin over HTTP or HTTPS (``https-only`` on AWS), with keep-alive
    connections per thread. Unreachable → 502, timeout → 504, as CloudFront answers."""

    def __init__(
        self,
        base_url: str | Callable[[], str],
        *,
        timeout_s: float = 30.0,
        verify_tls: bool = True,
        ca_file: str | None = None,
    ) -> None:
        self._base = base_url
        self._timeout_s = timeout_s
        self._context: ssl.SSLContext | None = None
        self._verify_tls = verify_tls
        self._ca_file = ca_file
        self._local = threading.local()

    def _target(self) -> tuple[str, str, int, str]:
        base = self._base() if callable(self._base) else self._base
        split = urlsplit(base)
        scheme = split.scheme or "http"
        port = split.port or (443 if scheme == "https" else 80)
        return scheme, split.hostname or "127.0.0.1", port, split.path.rstrip("/")

    def _connection(self, fresh: bool) -> tuple[http.client.HTTPConnection, str]:
        scheme, host, port, prefix = self._target()
        key = (scheme, host, port)
        conn = getattr(self._local, "conn", None)
        if fresh or conn is None or getattr(self._local, "key", None) != key:
            if conn is not None:
                conn.close()
            if scheme == "https":
                if self._context is None:
                    self._context = ssl.create_default_context(cafile=self._ca_file)
                    self._context.minimum_version = ssl.TLSVersion.TLSv1_2
                    if not self._verify_tls:
                        self._context.check_hostname = False
                        self._context.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self._timeout_s, context=self._context
                )
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self._timeout_s)
            self._local.conn, self._local.key = conn, key
        return conn, prefix

    def fetch(
        self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> OriginResponse:
        for attempt in (0, 1):
            conn, prefix = self._connection(fresh=attempt == 1)
            target = prefix + path + (f"?{query}" if query else "")
            try:
                conn.putrequest(method, target, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                if body or method in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                resp = conn.getresponse()
                data = resp.read()
                out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
                if resp.will_close:
                    conn.close()
                    self._local.conn = None
                return OriginResponse(resp.status, out, data)
            except TimeoutError:
                conn.close()
                self._local.conn = None
                return OriginResponse(504, [("Content-Type", "text/plain")], b"origin timeout\n")
            except (http.client.HTTPException, ConnectionError, OSError) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 0 and isinstance(
                    exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                ):
                    continue  # a kept-alive connection the origin closed: once more, fresh
                log.warning("origin error: %s", exc)
                return OriginResponse(502, [("Content-Type", "text/plain")], b"bad gateway\n")
        return OriginResponse(502, [("Content-Type", "text/plain")], b"bad gateway\n")


@dataclass
class EdgeMetrics:
    """Counters per rule (allowed, blocked, counted) and per request outcome; thread-safe."""

    rules: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, verdict: Verdict | None, outcome: str) -> None:
        with self._lock:
            self.totals["requests"] = self.totals.get("requests", 0) + 1
            self.totals[outcome] = self.totals.get(outcome, 0) + 1
            if verdict is None:
                return
            for match in verdict.matches:
                counts = self.rules.setdefault(
                    match.name, {"allowed": 0, "blocked": 0, "counted": 0}
                )
                key = {"ALLOW": "allowed", "BLOCK": "blocked", "COUNT": "counted"}[match.action]
                counts[key] += 1
            if verdict.blocked:
                self.totals["waf_blocked"] = self.totals.get("waf_blocked", 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            total = self.totals.get("requests", 0)
            blocked = self.totals.get("waf_blocked", 0)
            return {
                "rules": {k: dict(v) for k, v in self.rules.items()},
                "totals": dict(self.totals),
                "blocked_share": (blocked / total) if total else 0.0,
            }


class AccessLogSink(Protocol):
    """Where access-log lines go."""

    def write(self, line: str) -> None: ...


class EdgeProxy:
    """CloudFront + WAF + Authorizer@Edge over a static and a dynamic origin."""

    def __init__(
        self,
        *,
        config: EdgeConfig,
        web_acl: WebAcl,
        resolver: SetResolver,
        clock: Clock,
        static_origin: Origin,
        dynamic_origin: Origin,
        auth: AuthSettings | None = None,
        keys: jwtrules.JwksCache | None = None,
        logs: AccessLogSink | None = None,
        https_port: int | None = None,
        max_body_bytes: int = 10 * 1024 * 1024,
        waf_enabled: bool = True,
    ) -> None:
        self.config = config
        self.web_acl = web_acl
        self.resolver = resolver
        self.clock = clock
        self.limiter = RateLimiter(clock)
        self.origins: dict[str, Origin] = {"static": static_origin, "dynamic": dynamic_origin}
        self.auth = auth
        self.keys = keys
        self.logs = logs
        self.https_port = https_port
        self.max_body_bytes = max_body_bytes
        self.waf_enabled = waf_enabled
        self.cache = cache.ResponseCache()
        self.metrics = EdgeMetrics()

    # -- the request path -----------------------------------------------------------------

    def handle(self, request: HttpRequest, scheme: str = "http") -> HttpResponse:
        """Answer one request (never raises: an internal error is a logged 502)."""
        started = time.perf_counter()
        verdict: Verdict | None = None
        try:
            if request.path == METRICS_PATH and request.method == "GET":
                return _json(200, self.metrics.snapshot())
            response, outcome, verdict = self._handle(request, scheme)
        except Exception:  # the edge must answer whatever happens behind it
            log.exception("edge proxy failed on %s %s", request.method, request.path[:200])
            response, outcome = _text(502, "edge error\n"), "Error"
        self.metrics.record(verdict, outcome)
        if self.logs is not None:
            self._log(request, scheme, response, outcome, time.perf_counter() - started)
        return response

    def _handle(
        self, request: HttpRequest, scheme: str
    ) -> tuple[HttpResponse, str, Verdict | None]:
        bad = _malformed(request, self.max_body_bytes)
        if bad is not None:
            return bad, "Error", None
        headers = tuple((k, v) for k, v in request.headers)
        verdict: Verdict | None = None
        if self.waf_enabled:
            waf_request = WafRequest(
                request.method,
                request.path,
                request.query,
                headers,
                request.body,
                request.source_ip,
            )
            verdict = self.web_acl.evaluate(waf_request, self.resolver, self.limiter)
            if verdict.blocked:
                body = "Request blocked by the edge web ACL.\n"
                resp = _text(verdict.status, body)
                resp.headers.append(("x-amz-cf-waf-rule", verdict.terminating_rule or "default"))
                return resp, "Error", verdict
        if self.https_port is not None and scheme == "http":
            host = (request.header("host") or "localhost").split(":")[0]
            port = "" if self.https_port == 443 else f":{self.https_port}"
            location = f"https://{host}{port}{quote(request.path, safe='/%')}"
            if request.query:
                location += f"?{request.query}"
            return HttpResponse(301, [("Location", location)], b""), "Redirect", verdict
        behaviour = self.config.behaviour(request.path)
        if request.method not in behaviour.methods:
            return _text(403, "method not allowed for this path\n"), "Error", verdict
        if behaviour.authorize and self.auth is not None and self.keys is not None:
            denied = self._authorize(request)
            if denied is not None:
                return denied, "Error", verdict
        response, outcome = self._serve(request, behaviour)
        if scheme == "https":
            response.headers.append(
                ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            )
        return response, outcome, verdict

    def _authorize(self, request: HttpRequest) -> HttpResponse | None:
        assert self.auth is not None
        assert self.keys is not None
        lowered = {k.lower(): v for k, v in request.headers}
        decision = authorize(lowered, request.path, request.query, self.auth, self.keys, self.clock)
        if decision.allowed:
            return None
        if decision.location is not None:
            return HttpResponse(
                302, [("Location", decision.location), ("Cache-Control", "no-store")]
            )
        return _auth_error(decision.status, decision.reason)

    def _serve(self, request: HttpRequest, behaviour: Behaviour) -> tuple[HttpResponse, str]:
        origin = self.origins[behaviour.origin]
        method = request.method
        cacheable = method in ("GET", "HEAD")
        key = cache.cache_key(method, request.path, request.query, behaviour.policy)
        now = self.clock.now().timestamp()
        if cacheable:
            hit = self.cache.get(key, now)
            if hit is not None:
                out = [*hit.headers, ("Age", str(int(now - hit.stored_at)))]
                out.append(("X-Cache", "Hit from cloudfront"))
                body = b"" if method == "HEAD" else hit.body
                return HttpResponse(hit.status, out, body), "Hit"
        forwarded = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP]
        xff = request.header("x-forwarded-for")
        forwarded = [(k, v) for k, v in forwarded if k.lower() != "x-forwarded-for"]
        forwarded.append(
            ("X-Forwarded-For", f"{xff}, {request.source_ip}" if xff else request.source_ip)
        )
        forwarded.append(("Via", "1.1 stratus-edge (CloudFront)"))
        query = (
            request.query if behaviour.policy.query_in_key or behaviour.origin == "dynamic" else ""
        )
        got = origin.fetch(method, request.path, query, forwarded, request.body)
        headers = list(got.headers)
        if cacheable and got.status in cache.CACHEABLE_STATUSES:
            lifetime = cache.ttl(
                behaviour.policy,
                _header(headers, "cache-control"),
                _header(headers, "expires"),
                now,
            )
            if method == "GET":
                self.cache.put(key, got.status, headers, got.body, now, lifetime)
        headers.append(("X-Cache", "Miss from cloudfront"))
        outcome = "Miss" if got.status < 500 else "Error"
        return HttpResponse(got.status, headers, b"" if method == "HEAD" else got.body), outcome

    def _log(
        self, request: HttpRequest, scheme: str, response: HttpResponse, outcome: str, took: float
    ) -> None:
        assert self.logs is not None
        host = request.header("host") or "localhost"
        entry = accesslog.AccessLogEntry(
            at=self.clock.now(),
            client_ip=request.source_ip,
            method=request.method,
            host=host,
            path=request.path,
            status=response.status,
            referer=request.header("referer") or "",
            user_agent=request.header("user-agent") or "",
            query=request.query,
            result_type=outcome,
            request_id=uuid.uuid4().hex[:40],
            protocol=scheme,
            bytes_sent=len(response.body),
            bytes_received=len(request.body),
            time_taken_s=took,
            forwarded_for=request.header("x-forwarded-for") or "",
            content_type=response.header("content-type") or "",
        )
        try:
            self.logs.write(accesslog.format_line(entry))
        except (PortError, OSError) as exc:
            log.warning("access log not written: %s", exc)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _text(status: int, text: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


def _json(status: int, payload: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse(
        status, [("Content-Type", "application/json")], json.dumps(payload).encode()
    )


def _auth_error(status: int, reason: str) -> HttpResponse:
    resp = _json(
        status, {"message": "Unauthorized" if status == 401 else "Forbidden", "reason": reason}
    )
    resp.headers.append(("Cache-Control", "no-store"))
    if status == 401:
        resp.headers.append(
            ("WWW-Authenticate", f'Bearer error="invalid_token", error_description="{reason}"')
        )
    return resp


def _malformed(request: HttpRequest, max_body: int) -> HttpResponse | None:
    """Requests CloudFront refuses before anything else looks at them."""
    if len(request.path) + len(request.query) > MAX_URL_BYTES:
        return _text(414, "request URL too long\n")
    try:
        decoded = unquote_to_bytes(request.path).decode("utf-8")
    except UnicodeDecodeError:
        return _text(400, "bad request: the path is not valid UTF-8 once percent-decoded\n")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return _text(400, "bad request: control characters in the path\n")
    if not request.path.startswith("/"):
        return _text(400, "bad request: the path must start with /\n")
    size = sum(len(k) + len(v) + 4 for k, v in request.headers)
    if size > MAX_HEADER_BYTES:
        return _text(494, "request headers too large\n")
    if len(request.body) > max_body:
        return _text(413, "request body too large\n")
    return None
