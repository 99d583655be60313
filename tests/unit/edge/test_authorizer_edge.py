"""The Lambda@Edge viewer-request handler: CloudFront's event in, request or response out."""

from __future__ import annotations

from typing import Any

import pytest

from stratus.solutions.edge.lambda_edge.edge_authorizer.handler import decide
from stratus.solutions.edge.lambda_edge.edge_authorizer.rules import JwksCache, JwtPolicy
from stratus.solutions.edge.lambda_edge.edge_authorizer.settings import AuthSettings
from tests.unit.edge.conftest import AUDIENCE, ISSUER, jwks_of, token_for


def cf_request(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "uri": "/static/app.js",
        "querystring": "v=2",
        "method": "GET",
        "headers": {k.lower(): [{"key": k, "value": v}] for k, v in headers.items()},
    }


@pytest.fixture
def settings() -> AuthSettings:
    return AuthSettings(JwtPolicy(ISSUER, (AUDIENCE,)), refresh_url="/auth/refresh")


@pytest.fixture
def keys(signing_key, clock) -> JwksCache:
    return JwksCache(lambda: jwks_of(signing_key), clock)


def test_a_valid_token_lets_the_request_through_unchanged(settings, keys, clock, signing_key):
    request = cf_request({"Authorization": f"Bearer {token_for(signing_key, clock)}"})
    assert decide(request, settings, keys, clock) is request


def test_a_cookie_token_works_too(settings, keys, clock, signing_key):
    request = cf_request({"Cookie": f"theme=dark; id_token={token_for(signing_key, clock)}"})
    assert decide(request, settings, keys, clock) is request


def test_no_token_is_401(settings, keys, clock):
    response = decide(cf_request({}), settings, keys, clock)
    assert response["status"] == "401"
    assert '"missing-token"' in response["body"]


def test_an_expired_token_is_redirected_to_refresh(settings, keys, clock, signing_key):
    token = token_for(signing_key, clock, ttl_s=5)
    clock.advance(300)
    response = decide(cf_request({"Authorization": f"Bearer {token}"}), settings, keys, clock)
    assert response["status"] == "302"
    location = response["headers"]["location"][0]["value"]
    assert location == "/auth/refresh?redirect_uri=%2Fstatic%2Fapp.js%3Fv%3D2"


def test_a_wrong_issuer_is_403(settings, keys, clock, signing_key):
    token = token_for(signing_key, clock, iss="https://elsewhere")
    response = decide(cf_request({"Authorization": f"Bearer {token}"}), settings, keys, clock)
    assert response["status"] == "403"
