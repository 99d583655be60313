"""Composition root of the facade: the only place that picks adapters and reads settings.

Settings come from the environment the SAM template declares:

=====================  ==========================================================
WRITER_URL             database URL for critical reads and writes (Aurora writer);
                       empty: ``STRATUS_HOME/db/facade.sqlite3``
READER_URL             database URL for read-only queries (Aurora reader); empty: writer
LEGACY_BASE_URL        the legacy API; empty locally: the demo legacy service of the
                       runtime (``$STRATUS_LOCAL_URL/facade/legacy``)
LEGACY_TIMEOUT_MS      timeout of one legacy call attempt (default 1000)
BREAKER_FAILURES       consecutive failures that open an endpoint's breaker (default 5)
BREAKER_RESET_S        seconds an open breaker waits before a probe (default 10)
=====================  ==========================================================

Locally the Alembic migrations are applied on first use; on AWS the deployment pipeline runs
``stratus facade migrate`` (migrations in a cold start would race between instances).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from stratus.platform import connect
from stratus.platform.ports import Clock
from stratus.platform.relational import Engines, database_unavailable, engines, upgrade
from stratus.solutions.facade.db import MIGRATIONS
from stratus.solutions.facade.legacy_client import KeepAliveTransport, LegacyClient, Transport
from stratus.solutions.facade.resilience import Breakers, RetryPolicy
from stratus.solutions.facade.service import Deps
from stratus.solutions.facade.store import DatabaseUnavailableError

LEGACY_MOUNT = "/facade/legacy"
DB_NAME = "facade"

_lock = threading.Lock()
_engines: dict[tuple[str, str, str], Engines] = {}
_deps: dict[tuple[str, ...], Deps] = {}
_pool = ThreadPoolExecutor(max_workers=128, thread_name_prefix="facade-legacy")


def _with_connect_timeout(url: str) -> str:
    """PostgreSQL URLs get ``connect_timeout=3`` so a dead server fails fast (503)."""
    if url.startswith(("postgres", "postgresql")) and "connect_timeout" not in url:
        return url + ("&" if "?" in url else "?") + "connect_timeout=3"
    return url


def database(
    writer_url: str | None, reader_url: str | None, home: Path, *, migrate: bool = True
) -> Engines:
    """The engines for these URLs (one set per process), migrated when ``migrate``."""
    key = (writer_url or "", reader_url or "", str(home))
    with _lock:
        found = _engines.get(key)
        if found is not None:
            return found
        result = engines(
            _with_connect_timeout(writer_url) if writer_url else None,
            _with_connect_timeout(reader_url) if reader_url else None,
            home=home,
            name=DB_NAME,
        )
        if migrate:
            try:
                upgrade(result.writer, MIGRATIONS)
            except SQLAlchemyError as exc:
                result.dispose()
                if database_unavailable(exc):
                    raise DatabaseUnavailableError(str(exc).splitlines()[0]) from exc
                raise
        _engines[key] = result
        return result


def build(
    *,
    engines_: Engines,
    legacy_base_url: str,
    clock: Clock,
    transport: Transport | None = None,
    timeout_s: float = 1.0,
    breaker_failures: int = 5,
    breaker_reset_s: float = 10.0,
) -> Deps:
    """Deps from explicit parts (tests give a fake transport and a FakeClock)."""
    legacy = LegacyClient(
        base_url=legacy_base_url,
        transport=transport or KeepAliveTransport(),
        clock=clock,
        timeout_s=timeout_s,
        retry=RetryPolicy(),
        breakers=Breakers(clock, failure_threshold=breaker_failures, reset_after_s=breaker_reset_s),
    )
    return Deps(engines=engines_, legacy=legacy, clock=clock, pool=_pool)


def legacy_base_url() -> str:
    """LEGACY_BASE_URL, or locally the runtime's demo legacy service."""
    configured = os.environ.get("LEGACY_BASE_URL", "").strip()
    if configured:
        return configured
    local = os.environ.get("STRATUS_LOCAL_URL", "").strip()
    if local:
        return local.rstrip("/") + LEGACY_MOUNT
    return "http://127.0.0.1:8000" + LEGACY_MOUNT


def from_env() -> Deps:
    """Deps for the current target, cached per process and per settings."""
    writer = os.environ.get("WRITER_URL", "").strip() or None
    reader = os.environ.get("READER_URL", "").strip() or None
    base = legacy_base_url()
    timeout_ms = int(os.environ.get("LEGACY_TIMEOUT_MS") or 1000)
    failures = int(os.environ.get("BREAKER_FAILURES") or 5)
    reset_s = float(os.environ.get("BREAKER_RESET_S") or 10)
    # keyed by the raw settings (STRATUS_HOME unresolved): resolving the home path on every
    # request cost a few system calls per request
    key = (
        writer or "",
        reader or "",
        base,
        str(timeout_ms),
        str(failures),
        str(reset_s),
        os.environ.get("STRATUS_HOME", ""),
        os.getcwd() if not os.path.isabs(os.environ.get("STRATUS_HOME", "")) else "",
    )
    with _lock:
        found = _deps.get(key)
    if found is not None:
        return found
    home = connect.home()
    built = build(
        engines_=database(writer, reader, home, migrate=connect.target() == "local"),
        legacy_base_url=base,
        clock=connect.clock(),
        timeout_s=timeout_ms / 1000,
        breaker_failures=failures,
        breaker_reset_s=reset_s,
    )
    with _lock:
        return _deps.setdefault(key, built)


def reset() -> None:
    """Forget cached deps and dispose engines (tests, and after a configuration change)."""
    with _lock:
        for value in _engines.values():
            value.dispose()
        _engines.clear()
        _deps.clear()
