"""Serving the legacy demo API: mounted in `stratus up`, or standalone.

In `stratus up` the facade template's ``Metadata.stratus.mount`` maps ``/facade/legacy`` to
:func:`mount`, so the legacy API answers on the runtime's port under that prefix (the
facade's default LEGACY_BASE_URL). Its database is the facade database (the template's
``WriterUrl`` parameter, else ``STRATUS_HOME/db/facade.sqlite3``). Initial faults come from
``FACADE_LEGACY_LATENCY_MS``, ``FACADE_LEGACY_SLOW_RATE``, ``FACADE_LEGACY_SLOW_MS`` and
``FACADE_LEGACY_ERROR_RATE``; ``PUT /facade/legacy/_admin/faults`` changes them at run time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stratus.platform.runtime.apigateway import ApiServer
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
