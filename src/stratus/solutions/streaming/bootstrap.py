"""Composition root of the streaming solution: the only place that picks adapters.

Resources come from :mod:`stratus.platform.connect` with the names the SAM template puts in
the environment, so the same handlers run on AWS and locally. Payments use the local test
provider unless ``PAYMENT_PROVIDER`` names another (none other is wired in phase 1).

Per target: the tracking warehouse is a SQLite file under ``STRATUS_HOME`` locally and the
table's ``TRACK#`` partitions on AWS; upload URLs are S3 presigned PUTs on AWS and
HMAC-signed URLs of the mounted site locally (``STRATUS_LOCAL_URL``); accounts are the
template's user pool (``USER_POOL_ID``, ``USER_POOL_CLIENT_ID``: Cognito on AWS, the local
SQLite pool locally); devices' ingest channels are IVS channels on AWS
(``RECORDING_CONFIGURATION_ARN``, names prefixed with ``INGEST_CHANNEL_PREFIX``) and the
local media service's RTMP server locally; private media is signed for CloudFront on AWS
(``CLOUDFRONT_KEY_PAIR_ID``, the private key in the SecretStore) and checked by the mounted
site locally; chat frames reach WebSocket connections by API Gateway's PostToConnection on
AWS and through an in-memory stand-in locally (where ``stratus up`` serves chat with its own
WebSocket server).
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path

from stratus.platform import connect
from stratus.platform.ports import SecretStore
from stratus.solutions.streaming.chat.connections import (
    ApiGatewayConnectionPoster,
    ConnectionPoster,
    ConnectionStore,
    MemoryConnectionPoster,
)
from stratus.solutions.streaming.ingestchannels import (
    IngestChannels,
    IvsIngestChannels,
    LocalIngestChannels,
)
from stratus.solutions.streaming.mediasigning import CloudFrontMediaSigner, MediaSigner
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


@cache
def _ivs_channels(recording_configuration_arn: str, name_prefix: str) -> IvsIngestChannels:
    """One IVS client per process (per cold start on Lambda)."""
    return IvsIngestChannels(recording_configuration_arn=recording_configuration_arn,
                             name_prefix=name_prefix)


def ingest_channels(store: Store) -> IngestChannels:
    """A channel per device on IVS on AWS; locally the media service's RTMP ingest."""
    if connect.target() == "aws":
        return _ivs_channels(os.environ.get("RECORDING_CONFIGURATION_ARN", ""),
                             os.environ.get("INGEST_CHANNEL_PREFIX") or "streaming")
    return LocalIngestChannels(store, os.environ.get("INGEST_URL", ""))


def chat_connections(table_name: str) -> ConnectionStore:
    """The WebSocket API's connections table (``CONNECTIONS_TABLE`` of the chat functions)."""
    return ConnectionStore(connect.table(table_name), connect.clock())


@cache
def _api_gateway_poster(endpoint: str) -> ApiGatewayConnectionPoster:
    """One ``apigatewaymanagementapi`` client per stage and process (per cold start)."""
    return ApiGatewayConnectionPoster(endpoint)


_memory_posters: dict[str, MemoryConnectionPoster] = {}


def local_connection_poster(endpoint: str) -> MemoryConnectionPoster:
    """Locally API Gateway's side of the connections is in memory, one per endpoint (for the
    chat functions invoked outside AWS, e.g. by tests; ``stratus up`` serves chat with the
    WebSocket server instead)."""
    with _lock:
        return _memory_posters.setdefault(endpoint, MemoryConnectionPoster())


def connection_poster(endpoint: str) -> ConnectionPoster:
    """Pushes frames to WebSocket connections: PostToConnection on AWS, memory locally."""
    if connect.target() == "aws":
        return _api_gateway_poster(endpoint)
    return local_connection_poster(endpoint)


_media_signers: dict[str, CloudFrontMediaSigner] = {}


def _cloudfront_signer(secrets: SecretStore, key_pair_id: str) -> CloudFrontMediaSigner:
    """One signer per key and process: the private key is read from the SecretStore once
    (per cold start on Lambda), not on every request."""
    with _lock:
        if key_pair_id not in _media_signers:
            _media_signers[key_pair_id] = CloudFrontMediaSigner(secrets, key_pair_id)
        return _media_signers[key_pair_id]


def media_signer(secrets: SecretStore) -> MediaSigner | None:
    """CloudFront signed cookies and URLs on AWS; None locally (the site checks visibility)."""
    if connect.target() != "aws":
        return None
    key_pair_id = os.environ.get("CLOUDFRONT_KEY_PAIR_ID", "")
    if not key_pair_id:
        raise RuntimeError("CLOUDFRONT_KEY_PAIR_ID is not set (the template's MediaPublicKey)")
    return _cloudfront_signer(secrets, key_pair_id)


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
        users=connect.user_pool(os.environ["USER_POOL_ID"], os.environ["USER_POOL_CLIENT_ID"]),
        uploads=upload_signer(secrets, os.environ["RECORDINGS_BUCKET"]),
        ingest=ingest_channels(store),
        media=media_signer(secrets),
        sender=os.environ.get("SENDER_EMAIL") or "noreply@streaming.example.com",
        reconnect_window_s=float(os.environ.get("RECONNECT_WINDOW_S") or 10),
        ingest_url=os.environ.get("INGEST_URL", ""),
        site_url=os.environ.get("SITE_URL", ""),
    )
