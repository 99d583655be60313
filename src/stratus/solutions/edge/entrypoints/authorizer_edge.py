"""Authorizer@Edge: a Lambda@Edge viewer-request handler for static content.

Lambda@Edge has no environment variables: the issuer, audiences, JWKS URL and refresh URL
come from ``authorizer.json`` shipped with the code. Keys are cached per container.
A valid token lets the request through; an expired one is redirected to the refresh URL;
the rest get 401 (no or unusable token) or 403 (a token for someone else).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote

from stratus.platform import connect
from stratus.platform.ports import Clock
from stratus.solutions.edge import authconfig
from stratus.solutions.edge.domain import jwt as jwtrules
from stratus.solutions.edge.proxy import AuthSettings


@cache
def _setup() -> tuple[AuthSettings, jwtrules.JwksCache, Clock]:
    settings, jwks_url = authconfig.load_auth_settings()
    clock = connect.clock()
    return settings, jwtrules.JwksCache(authconfig.http_jwks(jwks_url), clock), clock


def decide(
    request: dict[str, Any], settings: AuthSettings, keys: jwtrules.JwksCache, clock: Any
) -> dict[str, Any]:
    """The CloudFront request (allowed) or a generated response (refused)."""
    headers = {
        name.lower(): ", ".join(str(h.get("value", "")) for h in values)
        for name, values in (request.get("headers") or {}).items()
    }
    token = jwtrules.token_from(headers, settings.cookie_name)
    reason = "missing-token"
    if token is not None:
        result = jwtrules.validate(token, settings.policy, keys, clock)
        if result.ok:
            return request
        reason = result.reason
        if result.expired:
            back = request.get("uri", "/") + (
                f"?{request['querystring']}" if request.get("querystring") else ""
            )
            location = f"{settings.refresh_url}?redirect_uri={quote(back, safe='')}"
            return {
                "status": "302",
                "statusDescription": "Found",
                "headers": {
                    "location": [{"key": "Location", "value": location}],
                    "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
                },
            }
    status = 401 if reason in jwtrules.UNAUTHENTICATED else settings.deny_status
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
