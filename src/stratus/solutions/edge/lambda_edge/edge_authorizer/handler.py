"""Authorizer@Edge: the Lambda@Edge viewer-request handler for static content.

Lambda@Edge has no environment variables: the issuer, audiences, JWKS URL and refresh URL
come from ``authorizer.json`` shipped in this package. Keys are cached per container
(:class:`.rules.JwksCache`). A valid token lets the request through; an expired one is
redirected to the refresh URL; the rest get 401 (no or unusable token) or 403 (a token for
someone else). On Lambda the handler is ``edge_authorizer.handler.lambda_handler``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from . import rules
from .authorize import authorize
from .settings import AuthSettings, http_jwks, load_auth_settings


class SystemClock:
    """Wall-clock time (the platform's Clock port is not in this bundle)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@cache
def _setup() -> tuple[AuthSettings, rules.JwksCache, rules.Clock]:
    settings, jwks_url = load_auth_settings()
    clock = SystemClock()
    return settings, rules.JwksCache(http_jwks(jwks_url), clock), clock


def decide(
    request: dict[str, Any], settings: AuthSettings, keys: rules.JwksCache, clock: rules.Clock
) -> dict[str, Any]:
    """The CloudFront request (allowed) or a generated response (refused)."""
    headers = {
        name.lower(): ", ".join(str(h.get("value", "")) for h in values)
        for name, values in (request.get("headers") or {}).items()
    }
    decision = authorize(
        headers,
        str(request.get("uri", "/")),
        str(request.get("querystring") or ""),
        settings,
        keys,
        clock,
    )
    if decision.allowed:
        return request
    if decision.location is not None:
        return {
            "status": "302",
            "statusDescription": "Found",
            "headers": {
                "location": [{"key": "Location", "value": decision.location}],
                "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
            },
        }
    status, reason = decision.status, decision.reason
    return {
        "status": str(status),
        "statusDescription": "Unauthorized" if status == 401 else "Forbidden",
        "headers": {
            "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
            "content-type": [{"key": "Content-Type", "value": "application/json"}],
        },
        "body": f'{{"reason": "{reason}"}}',
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Viewer-request trigger: ``Records[0].cf.request`` in, request or response out."""
    request = event["Records"][0]["cf"]["request"]
    settings, keys, clock = _setup()
    return decide(request, settings, keys, clock)
