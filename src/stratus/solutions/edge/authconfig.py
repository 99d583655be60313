"""Authorizer@Edge settings: ``authorizer.json`` shipped with the code (Lambda@Edge has no
environment variables), and the JWKS fetcher."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stratus.solutions.edge.domain import jwt as jwtrules
from stratus.solutions.edge.proxy import AuthSettings

AUTHORIZER_CONFIG = Path(__file__).resolve().parent / "authorizer.json"


def load_auth_settings(overrides: Mapping[str, Any] | None = None) -> tuple[AuthSettings, str]:
    """Authorizer settings from ``authorizer.json`` (Lambda@Edge has no environment
    variables, so the file ships with the code) plus overrides; returns (settings, jwks_url)."""
    raw: dict[str, Any] = json.loads(AUTHORIZER_CONFIG.read_text(encoding="utf-8"))
    raw.update(overrides or {})
    policy = jwtrules.JwtPolicy(
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
