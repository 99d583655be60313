"""How a command finds the runtime serving a data directory: ``$STRATUS_HOME/runtime.json``.

A started :class:`~stratus.platform.runtime.app.LocalRuntime` (``stratus up``, and the
runtimes commands such as ``stratus costs ingest`` start for themselves) writes the file once
its HTTP server listens and removes it when it stops cleanly. It says where the runtime is and
what it serves::

    {"version": 1, "pid": 4242, "url": "http://127.0.0.1:8000", "home": "/abs/.stratus",
     "started_at": "2026-01-01T00:00:00Z",
     "apis": [{"prefix": "/costs", "app": "costs", "api": "CostsApi",
               "url": "http://127.0.0.1:8000/costs", "api_keys": ["..."]}],
     "services": ["/costs/dashboard"]}

The file holds API keys: it is written with mode 0600, atomically (a temporary file in the
same directory, then ``os.replace``), so a reader never sees half of it. A file left behind
by a killed process is stale: :func:`running` ignores it when its pid is not alive or its URL
does not answer. A second runtime started on a home whose recorded runtime is alive does not
replace the record (the long-running ``stratus up`` stays discoverable while a short-lived
command runs beside it); a runtime removes the file only while it still names that runtime.

A command that needs data a running runtime holds (an embedded database has one writer) calls
:func:`running` and, when it gets a record, the API through :meth:`ApiRecord.get_json`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratus.platform.runtime.apigateway.http import METRICS_PATH

if TYPE_CHECKING:
    from stratus.platform.runtime.app import LocalRuntime

log = logging.getLogger("stratus.runtime")

FILE_NAME = "runtime.json"
VERSION = 1
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}  # noqa: S104 - recognised, never bound here


class UnreachableError(Exception):
    """The recorded runtime did not answer (it stopped, or it is hung)."""


@dataclass(frozen=True)
class ApiRecord:
    """One API a runtime serves: its mount prefix, application, logical id, base URL, and
    the API keys its usage plans accept (empty when the API has no usage plan)."""

    prefix: str
    app: str
    api: str
    url: str
    api_keys: tuple[str, ...] = ()

    def get_json(
        self,
        path: str,
        query: dict[str, str] | None = None,
        *,
        timeout_s: float = 60.0,
    ) -> tuple[int, Any]:
        """``GET <url><path>?<query>`` with the first API key as ``x-api-key``: the status
        and the JSON body (the raw text when it is not JSON). UnreachableError when no
        answer comes; every HTTP status, 4xx and 5xx included, is an answer."""
        if not _is_http(self.url):
            raise UnreachableError(f"{self.url} is not an http:// URL")
        target = self.url + path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(target, method="GET")  # noqa: S310 - http only
        request.add_header("Accept", "application/json")
        if self.api_keys:
            request.add_header("x-api-key", self.api_keys[0])
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                status, raw = int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UnreachableError(f"{self.url} did not answer: {reason}") from exc
        text = raw.decode("utf-8", errors="replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text


@dataclass(frozen=True)
class RuntimeRecord:
    """What ``runtime.json`` says."""

    pid: int
    url: str
    home: str
    started_at: str
    apis: tuple[ApiRecord, ...] = ()
    services: tuple[str, ...] = ()

    def api(self, app: str, api: str | None = None) -> ApiRecord | None:
        """The API of application ``app`` (slug), by logical id when it has several."""
        for record in self.apis:
            if record.app == app and (api is None or record.api == api):
                return record
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "pid": self.pid,
            "url": self.url,
            "home": self.home,
            "started_at": self.started_at,
            "apis": [
                {
                    "prefix": a.prefix,
                    "app": a.app,
                    "api": a.api,
                    "url": a.url,
                    "api_keys": list(a.api_keys),
                }
                for a in self.apis
            ],
            "services": list(self.services),
        }

    @classmethod
    def from_json(cls, data: Any) -> RuntimeRecord:
        """ValueError when ``data`` is not a record of this version."""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError("not a version 1 runtime record")
        try:
            apis = tuple(
                ApiRecord(
                    prefix=str(a["prefix"]),
                    app=str(a["app"]),
                    api=str(a["api"]),
                    url=str(a["url"]),
                    api_keys=tuple(str(k) for k in a.get("api_keys") or ()),
                )
                for a in data.get("apis") or ()
            )
            return cls(
                pid=int(data["pid"]),
                url=str(data["url"]),
                home=str(data.get("home", "")),
                started_at=str(data.get("started_at", "")),
                apis=apis,
                services=tuple(str(s) for s in data.get("services") or ()),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed runtime record: {exc}") from exc


def _is_http(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme in ("http", "https")


def path(home: Path) -> Path:
    """Where the record of ``home`` lives."""
    return Path(home).resolve() / FILE_NAME


def loopback_url(url: str) -> str:
    """The URL a client on this machine uses: a wildcard bind address becomes 127.0.0.1."""
    parts = urllib.parse.urlsplit(url)
    if (parts.hostname or "") in _WILDCARD_HOSTS:
        port = f":{parts.port}" if parts.port else ""
        return urllib.parse.urlunsplit(parts._replace(netloc=f"127.0.0.1{port}"))
    return url


def record_of(runtime: LocalRuntime) -> RuntimeRecord:
    """The record of a started runtime: its URL, every API with its keys, its services."""
    url = loopback_url(runtime.url)
    apis = []
    for prefix, gateway in sorted(runtime.gateways.items()):
        keys = tuple(k for plan in gateway.spec.usage_plans for k in plan.api_keys)
        apis.append(
            ApiRecord(
                prefix=prefix,
                app=str(gateway.api_id),
                api=str(gateway.spec.name),
                url=url + prefix,
                api_keys=keys,
            )
        )
    return RuntimeRecord(
        pid=os.getpid(),
        url=url,
        home=str(runtime.home),
        started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        apis=tuple(apis),
        services=tuple(sorted(runtime.services)),
    )


def write(home: Path, record: RuntimeRecord) -> Path:
    """Write the record atomically with mode 0600 (it holds API keys); its path."""
    target = path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".runtime-", suffix=".json", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp already creates 0600; say so whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record.to_json(), out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def read(home: Path) -> RuntimeRecord | None:
    """The record as written, live or not; None when missing or unreadable."""
    try:
        text = path(home).read_text(encoding="utf-8")
        return RuntimeRecord.from_json(json.loads(text))
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:
        return False
    return True


def answers(url: str, *, timeout_s: float = 2.0) -> bool:
    """True when a stratus runtime answers at ``url`` (its metrics route, no key needed)."""
    if not _is_http(url):
        return False
    try:
        with urllib.request.urlopen(url + METRICS_PATH, timeout=timeout_s) as response:  # noqa: S310
            return int(response.status) == 200
    except urllib.error.HTTPError:
        return False  # something answers, but not a runtime's metrics route
    except (urllib.error.URLError, OSError, ValueError):
        return False


def running(home: Path, *, timeout_s: float = 2.0) -> RuntimeRecord | None:
    """The record of the runtime serving ``home`` now; None when there is no record or it is
    stale (its process is gone, or nothing answers at its URL)."""
    record = read(home)
    if record is None or not pid_alive(record.pid):
        return None
    return record if answers(record.url, timeout_s=timeout_s) else None


def publish(runtime: LocalRuntime) -> RuntimeRecord | None:
    """Record a started runtime in its home; None (with a warning) when another live runtime
    is already recorded there or the file cannot be written. Never stops the runtime."""
    record = record_of(runtime)
    other = running(runtime.home)
    if other is not None and (other.pid, other.url) != (record.pid, record.url):
        log.warning(
            "%s names the runtime at %s (pid %d); this one (%s) is not recorded there",
            path(runtime.home),
            other.url,
            other.pid,
            record.url,
        )
        return None
    try:
        write(runtime.home, record)
    except OSError as exc:
        log.warning("cannot write %s: %s", path(runtime.home), exc)
        return None
    return record


def withdraw(home: Path, record: RuntimeRecord | None) -> None:
    """Remove the file if it still names ``record`` (another runtime may have replaced it)."""
    if record is None:
        return
    current = read(home)
    if current is None or (current.pid, current.url) != (record.pid, record.url):
        return
    with contextlib.suppress(FileNotFoundError):
        path(home).unlink()
