"""LocalApiGateway.handle: the whole pipeline without sockets."""

from __future__ import annotations

from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.apigateway import (
    ApiSpec,
    AuthorizerSpec,
    CorsSpec,
    HttpRequest,
    LocalApiGateway,
    RouteSpec,
    ThrottleSpec,
    UsagePlanSpec,
)
from tests.unit.apigateway.fakes import FakeFunctions, FunctionError, ok, policy, token_authorizer

AUTH = AuthorizerSpec("Tok", "AuthFn", ttl_s=300)


def echo(event: dict[str, Any]) -> dict[str, Any]:
    return ok({"path": event["path"], "params": event["pathParameters"]})


@pytest.fixture
def functions() -> FakeFunctions:
    fns = FakeFunctions()
    fns.register("AuthFn", token_authorizer)
    fns.register("Echo", echo)
    return fns


def gateway(
    functions: FakeFunctions, clock: FakeClock, *routes: RouteSpec, **spec: Any
) -> LocalApiGateway:
    api = ApiSpec("shop", routes=routes, authorizers={"Tok": AUTH}, **spec)
    return LocalApiGateway(api, functions, clock=clock)


def get(path: str, query: str = "", **headers: str) -> HttpRequest:
    return HttpRequest("GET", path, query, list(headers.items()))


def test_a_matched_route_invokes_its_function_with_the_proxy_event(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(functions, clock, RouteSpec("GET", "/items/{id}", "Echo"))

    response = gw.handle(get("/items/9", "q=1"))

    assert response.status == 200
    assert response.json() == {"path": "/items/9", "params": {"id": "9"}}
    event = functions.events_of("Echo")[0]
    assert event["resource"] == "/items/{id}"
    assert event["requestContext"]["path"] == "/Prod/items/9"
    assert response.header("x-amzn-RequestId") == event["requestContext"]["requestId"]
    assert response.header("x-amz-apigw-id") == event["requestContext"]["extendedRequestId"]


def test_an_unknown_path_or_method_is_403_missing_authentication_token(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(functions, clock, RouteSpec("GET", "/items", "Echo"))

    for request in (get("/nothing"), HttpRequest("DELETE", "/items")):
        response = gw.handle(request)
        assert response.status == 403
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert functions.calls == []


@pytest.mark.parametrize(
    "handler",
    [
        lambda event: {"statusCode": 200, "body": {"not": "a string"}},
        lambda event: None,
        lambda event: {"oops": True},
    ],
)
def test_a_malformed_proxy_response_is_502_internal_server_error(
    functions: FakeFunctions, clock: FakeClock, handler: Any
) -> None:
    functions.register("Bad", handler)
    gw = gateway(functions, clock, RouteSpec("GET", "/bad", "Bad"))

    response = gw.handle(get("/bad"))

    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}


def test_a_failing_function_is_502_too(functions: FakeFunctions, clock: FakeClock) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise FunctionError("KeyError: 'x'")

    functions.register("Boom", boom)
    gw = gateway(functions, clock, RouteSpec("GET", "/boom", "Boom"))

    assert gw.handle(get("/boom")).status == 502
    assert gw.metrics.snapshot()["routes"]["GET /boom"]["5xx"] == 1


def test_the_default_authorizer_guards_routes_unless_they_say_none(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(
        functions,
        clock,
        RouteSpec("GET", "/private", "Echo"),
        RouteSpec("GET", "/public", "Echo", authorizer="NONE"),
        default_authorizer="Tok",
    )

    assert gw.handle(get("/private")).status == 401
    assert gw.handle(get("/public")).status == 200
    allowed = gw.handle(get("/private", Authorization="Bearer allow"))
    assert allowed.status == 200
    context = functions.events_of("Echo")[-1]["requestContext"]["authorizer"]
    assert context["principalId"] == "alice"
    assert context["tier"] == "gold"


def test_an_unknown_authorizer_name_is_refused_when_the_gateway_is_built(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    with pytest.raises(ValueError, match="unknown authorizer"):
        gateway(functions, clock, RouteSpec("GET", "/x", "Echo", authorizer="Nope"))


def test_the_api_key_reaches_the_event_identity(functions: FakeFunctions, clock: FakeClock) -> None:
    gw = gateway(
        functions,
        clock,
        RouteSpec("GET", "/paid", "Echo", api_key_required=True),
        usage_plans=(UsagePlanSpec("p", ("k-1",)),),
    )

    assert gw.handle(get("/paid")).status == 403
    assert gw.handle(get("/paid", **{"x-api-key": "k-1"})).status == 200
    identity = functions.events_of("Echo")[-1]["requestContext"]["identity"]
    assert identity["apiKey"] == "k-1"
    assert identity["apiKeyId"]


def test_a_cached_get_is_served_without_calling_the_function_until_the_ttl(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(
        functions,
        clock,
        RouteSpec(
            "GET",
            "/items/{id}",
            "Echo",
            caching=True,
            cache_key_parameters=("method.request.path.id",),
        ),
        cache_enabled=True,
        cache_ttl_s=60,
    )

    first = gw.handle(get("/items/1"))
    second = gw.handle(get("/items/1"))
    other = gw.handle(get("/items/2"))
    clock.advance(60)
    gw.handle(get("/items/1"))

    assert first.body == second.body
    assert first.header("x-amzn-RequestId") != second.header("x-amzn-RequestId")
    assert other.json()["params"] == {"id": "2"}
    assert len(functions.events_of("Echo")) == 3
    route = gw.metrics.snapshot()["routes"]["GET /items/{id}"]
    assert (route["cache_hits"], route["cache_misses"]) == (1, 3)


def test_caching_needs_both_the_stage_switch_and_the_route_opt_in(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(
        functions, clock, RouteSpec("GET", "/a", "Echo", caching=True), cache_enabled=False
    )

    gw.handle(get("/a"))
    gw.handle(get("/a"))

    assert len(functions.calls) == 2


def test_max_age_zero_refreshes_only_for_callers_allowed_to_invalidate(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    def authorizer(event: dict[str, Any]) -> Any:
        if event["authorizationToken"] == "admin":
            answer = policy("Allow", "*")
            answer["policyDocument"]["Statement"][0]["Action"] = [
                "execute-api:Invoke",
                "execute-api:InvalidateCache",
            ]
            return answer
        return policy("Allow", "*")

    functions.register("AuthFn", authorizer)
    gw = gateway(
        functions,
        clock,
        RouteSpec("GET", "/a", "Echo", authorizer="Tok", caching=True),
        cache_enabled=True,
    )
    fresh = {"Cache-Control": "max-age=0"}

    gw.handle(get("/a", Authorization="user"))
    gw.handle(get("/a", Authorization="user", **fresh))
    assert len(functions.events_of("Echo")) == 1
    gw.handle(get("/a", Authorization="admin", **fresh))
    assert len(functions.events_of("Echo")) == 2


def test_throttling_happens_after_authorization_and_is_counted(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(
        functions,
        clock,
        RouteSpec("GET", "/a", "Echo", throttle=ThrottleSpec(rate=0, burst=1)),
    )

    assert [gw.handle(get("/a")).status for _ in range(3)] == [200, 429, 429]
    assert gw.metrics.snapshot()["routes"]["GET /a"]["throttled"] == 2


def test_cors_preflight_is_answered_by_the_gateway_without_the_function(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(
        functions,
        clock,
        RouteSpec("ANY", "/items", "Echo", authorizer="Tok"),
        cors=CorsSpec(allow_origin="https://app.example", allow_headers=("Authorization",)),
    )

    preflight = gw.handle(HttpRequest("OPTIONS", "/items"))
    unknown = gw.handle(HttpRequest("OPTIONS", "/elsewhere"))

    assert preflight.status == 200
    assert preflight.header("Access-Control-Allow-Origin") == "https://app.example"
    assert unknown.status == 403
    assert functions.calls == []


def test_an_explicit_options_route_wins_over_the_generated_preflight(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(functions, clock, RouteSpec("OPTIONS", "/items", "Echo"), cors=CorsSpec())

    assert gw.handle(HttpRequest("OPTIONS", "/items")).json()["path"] == "/items"


def test_the_origin_is_added_to_responses_only_when_asked(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    route = RouteSpec("GET", "/a", "Echo")
    faithful = gateway(functions, clock, route, cors=CorsSpec())
    convenient = gateway(functions, clock, route, cors=CorsSpec(add_origin_to_responses=True))

    assert faithful.handle(get("/a")).header("Access-Control-Allow-Origin") is None
    assert convenient.handle(get("/a")).header("Access-Control-Allow-Origin") == "*"


def test_requests_matching_no_route_are_counted_apart(
    functions: FakeFunctions, clock: FakeClock
) -> None:
    gw = gateway(functions, clock, RouteSpec("GET", "/a", "Echo"))

    gw.handle(get("/a"))
    gw.handle(get("/b"))

    routes = gw.metrics.snapshot()["routes"]
    assert routes["GET /a"]["count"] == 1
    assert routes["(no route)"]["4xx"] == 1
