"""Shared parts for the edge tests: a proxy over local adapters and a signing key."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.objects import FilesystemObjectStore
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports.table import TableSpec
from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge import local
from stratus.solutions.edge.lambda_edge.edge_authorizer.rules import JwtPolicy
from stratus.solutions.edge.lambda_edge.edge_authorizer.settings import AuthSettings
from stratus.solutions.edge.proxy import EdgeProxy, OriginResponse

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ISSUER, AUDIENCE = "https://idp.test", "site"


class FakeOrigin:
    """A dynamic origin in memory: records requests, answers what it is told."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, list[tuple[str, str]], bytes]] = []
        self.headers: list[tuple[str, str]] = [("Content-Type", "text/plain")]

    def fetch(
        self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> OriginResponse:
        self.requests.append((method, path, query, list(headers), body))
        return OriginResponse(200, list(self.headers), f"origin {len(self.requests)}".encode())


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", alg="RS256")
    return {"keys": [jwk]}


def token_for(key: rsa.RSAPrivateKey, clock: FakeClock, ttl_s: int = 300, **extra: Any) -> str:
    now = int(clock.now().timestamp())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "iat": now, "exp": now + ttl_s, **extra}
    return pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def make_proxy(
    tmp_path: Path,
    clock: FakeClock,
    origin: Any,
    key: rsa.RSAPrivateKey,
    *,
    https_port: int | None = None,
    parameters: dict[str, str] | None = None,
) -> tuple[EdgeProxy, Any]:
    table = SqliteTableStore(
        tmp_path / "tables.sqlite3", TableSpec("Bots", ttl_attribute="ExpiresAt"), clock=clock
    )
    static = FilesystemObjectStore(tmp_path / "objects", "static")
    logs = local.BucketLogSink(
        FilesystemObjectStore(tmp_path / "objects", "logs"), clock, flush_every=10_000
    )
    auth = AuthSettings(JwtPolicy(ISSUER, (AUDIENCE,)), refresh_url="/auth/refresh")
    proxy = local.build_proxy(
        config=edgeconfig.load(parameters=parameters),
        table=table,
        static=static,
        dynamic=origin,
        clock=clock,
        logs=logs,
        auth=auth,
        jwks=lambda: jwks_of(key),
        https_port=https_port,
    )
    return proxy, {"table": table, "static": static, "logs": logs}
