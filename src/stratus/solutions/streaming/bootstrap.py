"""Composition root of the streaming solution: the only place that picks adapters.

Resources come from :mod:`stratus.platform.connect` with the names the SAM template puts in
the environment, so the same handlers run on AWS and locally. Payments use the local test
provider unless ``PAYMENT_PROVIDER`` names another (none other is wired in phase 1).

Per target: the tracking warehouse is a SQLite file under ``STRATUS_HOME`` locally and the
table's ``TRACK#`` partitions on AWS; upload URLs are S3 presigned PUTs on AWS and
HMAC-signed URLs of the mounted site locally (``STRATUS_LOCAL_URL``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from stratus.platform import connect
from stratus.platform.ports import SecretStore
from stratus.solutions.streaming.service import Ports, TestPaymentProvider
from stratus.solutions.streaming.store import Store
from stratus.solutions.streaming.uploads import LocalUploadSigner, S3UploadSigner, UploadSigner
from stratus.solutions.streaming.warehouse import SqliteWarehouse, TableWarehouse, Warehouse

_warehouses: dict[Path, SqliteWarehouse] = {}
_lock = threading.Lock()


def local_warehouse(home: Path) -> SqliteWarehouse:
    """The one warehouse file of a local data directory (shared by every function)."""
    path = (home / "streaming" / "warehouse.sqlite3").resolve()
    with _lock:
        if path not in _warehouses or not path.exists():
            _warehouses[path] = SqliteWarehouse(path)
        return _warehouses[path]


def warehouse(store: Store) -> Warehouse:
    """The tracking warehouse of the current target."""
    if connect.target() == "aws":
        return TableWarehouse(store)
    return local_warehouse(connect.home())


def upload_signer(secrets: SecretStore, bucket: str) -> UploadSigner | None:
    """S3 presigned PUTs on AWS; locally the site's signed PUT (None before it serves)."""
    if connect.target() == "aws":
        return S3UploadSigner(bucket)
    base = os.environ.get("STRATUS_LOCAL_URL")
    return LocalUploadSigner(secrets, base) if base else None


def ports() -> Ports:
    """Ports from the environment the template declares."""
    if os.environ.get("PAYMENT_PROVIDER", "test") != "test":
        raise RuntimeError("only PAYMENT_PROVIDER=test is implemented in phase 1")
    store = Store(connect.table(os.environ["TABLE_NAME"]))
    secrets = connect.secrets()
    return Ports(
        store=store,
        recordings=connect.bucket(os.environ["RECORDINGS_BUCKET"]),
        mailer=connect.mailer(),
        clock=connect.clock(),
        secrets=secrets,
        payments=TestPaymentProvider(),
        warehouse=warehouse(store),
        uploads=upload_signer(secrets, os.environ["RECORDINGS_BUCKET"]),
        sender=os.environ.get("SENDER_EMAIL") or "noreply@streaming.example.com",
        reconnect_window_s=float(os.environ.get("RECONNECT_WINDOW_S") or 10),
        ingest_url=os.environ.get("INGEST_URL", ""),
        site_url=os.environ.get("SITE_URL", ""),
    )
