"""GatewayResponses: an API customises the responses API Gateway makes itself."""

from __future__ import annotations

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.apigateway import (
    ApiSpec,
    AuthorizerSpec,
    GatewayResponseSpec,
    HttpRequest,
    LocalApiGateway,
    RouteSpec,
)
from tests.unit.apigateway.fakes import FakeFunctions, ok, token_authorizer

UNAVAILABLE = GatewayResponseSpec(
    status=503, headers=(("Retry-After", "5"),), body=b'{"message": "retry later"}'
)


def gateway(**responses: GatewayResponseSpec) -> LocalApiGateway:
    functions = FakeFunctions()
    functions.register("AuthFn", token_authorizer)
    functions.register("Echo", lambda event: ok({"path": event["path"]}))
    api = ApiSpec(
        "shop",
        routes=(RouteSpec("GET", "/items", "Echo", authorizer="Tok"),),
        authorizers={"Tok": AuthorizerSpec("Tok", "AuthFn")},
        gateway_responses=responses,
    )
    return LocalApiGateway(api, functions, clock=FakeClock())


def get(token: str | None = None) -> HttpRequest:
    headers = [("Authorization", f"Bearer {token}")] if token else []
    return HttpRequest("GET", "/items", headers=headers)


def test_an_authorizer_error_becomes_the_configured_response() -> None:
    gw = gateway(AUTHORIZER_CONFIGURATION_ERROR=UNAVAILABLE)

    response = gw.handle(get("bad"))

    assert response.status == 503
    assert response.header("Retry-After") == "5"
    assert response.json() == {"message": "retry later"}


def test_a_specific_type_wins_over_the_default_and_defaults_apply_otherwise() -> None:
    gw = gateway(
        UNAUTHORIZED=GatewayResponseSpec(headers=(("WWW-Authenticate", "Bearer"),)),
        DEFAULT_4XX=GatewayResponseSpec(status=418),
    )

    unauthorised = gw.handle(get())
    missing = gw.handle(HttpRequest("GET", "/nowhere"))

    assert unauthorised.status == 401
    assert unauthorised.header("WWW-Authenticate") == "Bearer"
    assert missing.status == 418


def test_function_answers_are_never_customised() -> None:
    gw = gateway(DEFAULT_4XX=GatewayResponseSpec(status=418))

    assert gw.handle(get("allow")).status == 200
