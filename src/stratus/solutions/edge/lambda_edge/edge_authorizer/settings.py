"""Authorizer@Edge settings: ``authorizer.json`` shipped in this package (Lambda@Edge has no
environment variables), and the JWKS fetcher (urllib: no third-party HTTP client)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .rules import JwtPolicy

#: Next to this module, so it is inside the Lambda@Edge CodeUri (``lambda_edge/``).
AUTHORIZER_CONFIG = Path(__file__).resolve().parent / "authorizer.json"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Authorizer@Edge settings: the policy, where tokens come from, where to refresh."""

    policy: JwtPolicy
    cookie_name: str = "id_token"
    refresh_url: str = "/refresh"
    deny_status: int = 403  # for valid-looking tokens with wrong claims


def load_auth_settings(
    overrides: Mapping[str, Any] | None = None, path: Path = AUTHORIZER_CONFIG
) -> tuple[AuthSettings, str]:
    """Authorizer settings from ``authorizer.json`` plus overrides; returns
    (settings, jwks_url)."""
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    raw.update(overrides or {})
    policy = JwtPolicy(
        issuer=str(raw["issuer"]),
        audiences=tuple(raw.get("audiences") or ()),
        token_use=tuple(raw.get("token_use") or ()),
        leeway_s=int(raw.get("leeway_s", 60)),
    )
    settings = AuthSettings(
        policy=policy,
        cookie_name=str(raw.get("cookie_name", "id_token")),
        refresh_url=str(raw.get("refresh_url", "/refresh")),
        deny_status=int(raw.get("deny_status", 403)),
    )
    return settings, str(raw["jwks_url"])


def http_jwks(url: str | Callable[[], str], timeout_s: float = 3.0) -> Callable[[], Any]:
    """A JWKS fetcher over HTTP(S) (the URL may be resolved lazily)."""

    def fetch() -> Any:
        target = url() if callable(url) else url
        if not target.startswith(("https://", "http://")):
            raise ValueError(f"JWKS URL must be http(s): {target!r}")
        with urllib.request.urlopen(target, timeout=timeout_s) as resp:  # noqa: S310 - http(s) checked
            return json.loads(resp.read())

    return fetch
