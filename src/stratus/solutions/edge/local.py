"""Composition of the local edge: the CloudFront + WAF + Authorizer@Edge stand-in.

- :func:`mount_proxy` builds it for ``stratus up`` (template Metadata ``stratus.mount``): the
  WebACL, sets and behaviours of this solution's template, the runtime's buckets for static
  content and access logs, its bot table for the live pattern sets, its clock.
- :func:`standalone_proxy` builds the same proxy for ``stratus edge proxy``.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stratus.platform.ports import Clock, ObjectStore, TableStore
from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge.domain import accesslog
from stratus.solutions.edge.domain.waf import WebAcl, parse_web_acl
from stratus.solutions.edge.lambda_edge.edge_authorizer import rules as jwtrules
from stratus.solutions.edge.lambda_edge.edge_authorizer.settings import (
    AuthSettings,
    http_jwks,
    load_auth_settings,
)
from stratus.solutions.edge.patternsets import LivePatternSets, TablePatternSetStore
from stratus.solutions.edge.proxy import (
    EdgeProxy,
    HttpOrigin,
    ObjectStoreOrigin,
    Origin,
    OriginResponse,
)

LOCAL_ISSUER = "stratus-local-idp"
LOCAL_AUDIENCE = "stratus-edge-demo"


# -- the WAF's sets ---------------------------------------------------------------------------


@dataclass
class LocalSets:
    """The SetResolver of the local engine: IP sets from the template, regex sets live."""

    ip_sets: Mapping[str, Sequence[str]]
    live: LivePatternSets

    def ip_set(self, arn: str) -> Sequence[str]:
        return self.ip_sets.get(arn, ())

    def regex_set(self, arn: str) -> Any:
        return self.live.pattern(arn)


# -- access logs ------------------------------------------------------------------------------


class BucketLogSink:
    """Access-log lines delivered as gzip files to the log bucket, like CloudFront's standard
    logs (``<prefix><distribution>.<YYYY-MM-DD-HH>.<id>.gz``). A file is written every
    ``flush_every`` lines or when the oldest buffered line is ``flush_after_s`` old (checked
    on each write), and on :meth:`flush`."""

    def __init__(
        self,
        objects: ObjectStore,
        clock: Clock,
        *,
        prefix: str = "cloudfront/",
        distribution: str = "ELOCALSTRATUS",
        flush_every: int = 500,
        flush_after_s: float = 60.0,
    ) -> None:
        self._objects = objects
        self._clock = clock
        self._prefix = prefix
        self._distribution = distribution
        self._flush_every = flush_every
        self._flush_after_s = flush_after_s
        self._lines: list[str] = []
        self._first_at = 0.0
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        now = self._clock.now().timestamp()
        with self._lock:
            if not self._lines:
                self._first_at = now
            self._lines.append(line)
            due = (
                len(self._lines) >= self._flush_every or now - self._first_at >= self._flush_after_s
            )
        if due:
            self.flush()

    def flush(self) -> str | None:
        """Write the buffered lines as one log file; returns its key (None when empty)."""
        with self._lock:
            lines, self._lines = self._lines, []
        if not lines:
            return None
        stamp = self._clock.now().strftime("%Y-%m-%d-%H")
        key = f"{self._prefix}{self._distribution}.{stamp}.{uuid.uuid4().hex[:8]}.gz"
        data = gzip.compress((accesslog.HEADER + "\n".join(lines) + "\n").encode())
        self._objects.put(key, data, content_type="application/gzip")
        return key


# -- the proxy --------------------------------------------------------------------------------


def build_proxy(
    *,
    config: edgeconfig.EdgeConfig,
    table: TableStore,
    static: ObjectStore,
    dynamic: Origin,
    clock: Clock,
    logs: BucketLogSink | None,
    auth: AuthSettings | None,
    jwks: Callable[[], Any] | None,
    https_port: int | None = None,
    waf_enabled: bool = True,
) -> EdgeProxy:
    """The proxy over the given parts (shared by ``stratus up``, the CLI and tests)."""
    store = TablePatternSetStore(table, config.regex_sets)
    live = LivePatternSets(store, list(config.regex_sets))
    web_acl: WebAcl = parse_web_acl(config.web_acl)
    keys = jwtrules.JwksCache(jwks, clock) if jwks is not None else None
    return EdgeProxy(
        config=config,
        web_acl=web_acl,
        resolver=LocalSets(config.ip_sets, live),
        clock=clock,
        static_origin=ObjectStoreOrigin(static),
        dynamic_origin=dynamic,
        auth=auth,
        keys=keys,
        logs=logs,
        https_port=https_port,
        waf_enabled=waf_enabled,
    )


class MountedProxy:
    """The proxy as the runtime mounts it: ``handle`` plus the parts tests and demos use."""

    def __init__(self, proxy: EdgeProxy, logs: BucketLogSink, live_refresh: Callable[[], None]):
        self.proxy = proxy
        self.logs = logs
        self._refresh = live_refresh

    def handle(self, request: Any) -> Any:
        if request.path == "/_edge/flush-logs" and request.method == "POST":
            key = self.logs.flush()
            self._refresh()
            from stratus.platform.runtime.apigateway.events import HttpResponse

            return HttpResponse(
                200, [("Content-Type", "application/json")], json.dumps({"key": key}).encode()
            )
        return self.proxy.handle(request)


def mount_proxy(runtime: Any) -> MountedProxy:
    """``stratus up``: the proxy in front of the demo origin (``/edge/origin``), or
    ``EDGE_ORIGIN_URL`` when set, with this runtime's buckets, table and clock."""
    app = next(a for a in runtime.apps if a.path.resolve() == edgeconfig.TEMPLATE)
    config = edgeconfig.load(parameters=app.parameters)
    resources = runtime.resources
    table = resources.table(app.tables["BotUserAgentTable"].spec.name)
    logs = BucketLogSink(resources.bucket(app.buckets["LogBucket"].name), runtime.clock)
    origin_url = os.environ.get("EDGE_ORIGIN_URL")

    def base() -> str:
        return origin_url or f"{runtime.url}/edge/origin"

    def jwks_url() -> str:
        return f"{runtime.url}/edge/idp/.well-known/jwks.json"

    auth, _ = load_auth_settings(
        {"issuer": LOCAL_ISSUER, "audiences": [LOCAL_AUDIENCE], "refresh_url": "/edge/idp/refresh"}
    )
    proxy = build_proxy(
        config=config,
        table=table,
        static=resources.bucket(app.buckets["StaticBucket"].name),
        dynamic=HttpOrigin(base),
        clock=runtime.clock,
        logs=logs,
        auth=auth,
        jwks=http_jwks(jwks_url),
    )
    resolver = proxy.resolver
    refresh = resolver.live.refresh if isinstance(resolver, LocalSets) else (lambda: None)
    return MountedProxy(proxy, logs, refresh)


class PassThroughOrigin:
    """An origin that answers 200 itself (benchmarks: the proxy's own cost)."""

    def fetch(
        self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> OriginResponse:
        return OriginResponse(200, [("Content-Type", "text/plain")], b"ok\n")


class DirectoryOrigin:
    """``stratus edge proxy --static DIR``: files of DIR served under the static behaviour's
    prefix (``/static/app.js`` → ``DIR/app.js``); never outside DIR."""

    def __init__(self, root: Path, prefix: str = "/static/") -> None:
        self._root = root.resolve()
        self._prefix = prefix

    def fetch(
        self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> OriginResponse:
        import mimetypes
        from urllib.parse import unquote

        relative = unquote(path)
        if relative.startswith(self._prefix):
            relative = relative[len(self._prefix) :]
        target = (self._root / relative.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if self._root not in target.parents or not target.is_file():
            return OriginResponse(404, [("Content-Type", "text/plain")], b"not found\n")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return OriginResponse(200, [("Content-Type", kind)], target.read_bytes())


def standalone_proxy(
    origin: str,
    home: Path,
    *,
    static_dir: Path | None = None,
    https_port: int | None = None,
    auth_overrides: Mapping[str, Any] | None = None,
    verify_origin_tls: bool = True,
) -> tuple[EdgeProxy, BucketLogSink]:
    """``stratus edge proxy``: the template's rules in front of ``origin``, local state
    (live pattern sets, access logs) under ``home``."""
    from stratus.platform.adapters.local.clock import SystemClock
    from stratus.platform.adapters.local.objects import FilesystemObjectStore
    from stratus.platform.adapters.local.table import SqliteTableStore
    from stratus.platform.ports.table import TableSpec

    home.mkdir(parents=True, exist_ok=True)
    clock = SystemClock()
    table = SqliteTableStore(
        home / "tables.sqlite3",
        TableSpec("BotUserAgentTable", ttl_attribute="ExpiresAt"),
        clock=clock,
    )
    logs = BucketLogSink(FilesystemObjectStore(home / "objects", "edge-logs"), clock)
    static: Origin = (
        DirectoryOrigin(static_dir)
        if static_dir is not None
        else ObjectStoreOrigin(FilesystemObjectStore(home / "objects", "edge-static"))
    )
    auth, jwks_url = load_auth_settings(auth_overrides)
    proxy = build_proxy(
        config=edgeconfig.load(),
        table=table,
        static=FilesystemObjectStore(home / "objects", "edge-static"),
        dynamic=HttpOrigin(origin, verify_tls=verify_origin_tls),
        clock=clock,
        logs=logs,
        auth=auth,
        jwks=http_jwks(jwks_url),
        https_port=https_port,
    )
    proxy.origins["static"] = static
    return proxy, logs
