"""The demo site behind the local edge: a dynamic origin, an identity provider, static files.

Local stand-ins only (CloudFormation never sees them): ``/edge/origin`` plays the core
platform behind the ALB, ``/edge/idp`` an OpenID provider that signs RS256 tokens with a key
kept under STRATUS_HOME and publishes its JWKS. ``stratus up --demo`` uploads static content.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse
from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge import local

KID = "stratus-demo-1"


def _json(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    out = [("Content-Type", "application/json"), *(headers or [])]
    return HttpResponse(status, out, json.dumps(payload).encode())


class DemoOrigin:
    """The dynamic origin: a few pages and JSON endpoints with varied Cache-Control."""

    def __init__(self) -> None:
        self.hits = 0
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            self.hits += 1
            count = self.hits
        if request.path in ("/", "/index.html"):
            page = (
                "<!doctype html><title>stratus edge demo</title><h1>Core platform</h1>"
                '<p><a href="api/time">time</a> · <a href="api/products?id=1">product</a>'
                ' · <a href="static/index.html">static (needs a token)</a></p>'
            )
            return HttpResponse(
                200, [("Content-Type", "text/html"), ("Cache-Control", "max-age=30")], page.encode()
            )
        if request.path == "/robots.txt":
            return HttpResponse(
                200, [("Content-Type", "text/plain")], b"User-agent: *\nDisallow:\n"
            )
        if request.path == "/api/time":
            return _json(
                200, {"now": time.time(), "origin_hits": count}, [("Cache-Control", "max-age=5")]
            )
        if request.path == "/api/products":
            query = parse_qs(request.query)
            return _json(
                200,
                {"id": (query.get("id") or [""])[0], "name": "demo product"},
                [("Cache-Control", "no-cache")],
            )
        if request.path == "/api/echo":
            return _json(
                200,
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "headers": {k.lower(): v for k, v in request.headers},
                    "body": request.body.decode("utf-8", "replace"),
                    "origin_hits": count,
                },
                [("Cache-Control", "no-store")],
            )
        return _json(404, {"message": "no such page"})


def mount_origin(runtime: Any) -> DemoOrigin:
    """``/edge/origin``: the dynamic origin of the demo."""
    return DemoOrigin()


class IdentityProvider:
    """Signs RS256 tokens for the demo; the key survives restarts under STRATUS_HOME."""

    def __init__(self, home: Path, clock: Any) -> None:
        self.clock = clock
        path = home / "edge" / "idp-key.pem"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self.key = key
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                self.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def token(self, subject: str = "demo-user", ttl_s: int = 3600) -> str:
        now = int(self.clock.now().timestamp())
        claims = {
            "sub": subject,
            "iss": local.LOCAL_ISSUER,
            "aud": local.LOCAL_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "token_use": "id",
        }
        return pyjwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/.well-known/jwks.json":
            return _json(200, self.jwks(), [("Cache-Control", "max-age=300")])
        if request.path in ("/token", "/refresh"):
            token = self.token()
            cookie = f"id_token={token}; Path=/; HttpOnly; SameSite=Lax"
            back = (parse_qs(request.query).get("redirect_uri") or [""])[0]
            if request.path == "/refresh" and back.startswith("/"):
                return HttpResponse(302, [("Location", back), ("Set-Cookie", cookie)])
            return _json(200, {"id_token": token}, [("Set-Cookie", cookie)])
        return _json(404, {"message": "no such page"})


_IDPS: dict[str, IdentityProvider] = {}


def mount_identity_provider(runtime: Any) -> IdentityProvider:
    """``/edge/idp``: JWKS and demo tokens."""
    idp = IdentityProvider(Path(runtime.home), runtime.clock)
    _IDPS[str(Path(runtime.home).resolve())] = idp
    return idp


STATIC_FILES = {
    "static/index.html": (
        "text/html",
        "<!doctype html><title>members</title><h1>Static content for signed-in users</h1>",
    ),
    "static/app.js": ("application/javascript", "console.log('stratus edge demo');\n"),
    "static/style.css": ("text/css", "body { font-family: sans-serif; }\n"),
}


def load(runtime: Any) -> list[str]:
    """Upload the static files and print how to try the edge."""
    app = next(a for a in runtime.apps if a.path.resolve() == edgeconfig.TEMPLATE)
    bucket = runtime.resources.bucket(app.buckets["StaticBucket"].name)
    for key, (kind, text) in STATIC_FILES.items():
        bucket.put(key, text.encode(), content_type=kind, metadata={"cache-control": "max-age=60"})
    idp = _IDPS.get(str(Path(runtime.home).resolve())) or IdentityProvider(
        Path(runtime.home), runtime.clock
    )
    base = f"{runtime.url}/edge/site"
    return [
        f"edge site: {base}/  (dynamic origin {runtime.url}/edge/origin)",
        f"static (JWT): curl -A Mozilla/5.0 -H 'Authorization: Bearer {idp.token()}' "
        f"{base}/static/index.html",
        f"token: POST {runtime.url}/edge/idp/token ; metrics: {base}/_edge/metrics",
    ]
