"""The local API Gateway over real loopback HTTP: ApiServer on 127.0.0.1, port 0, urllib."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.apigateway import (
    ApiServer,
    ApiSpec,
    AuthorizerSpec,
    CorsSpec,
    LocalApiGateway,
    RouteSpec,
    ThrottleSpec,
    UsagePlanSpec,
)
from tests.unit.apigateway.fakes import FakeFunctions, ok, policy, token_authorizer


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


def request_authorizer(event: dict[str, Any]) -> Any:
    user = event["headers"].get("X-User")
    effect = "Deny" if user == "mallory" else "Allow"
    return policy(
        effect,
        event["methodArn"],
        principal=user or "?",
        tenant=event["queryStringParameters"]["tenant"],
    )


def shop_spec() -> ApiSpec:
    return ApiSpec(
        name="shop",
        routes=(
            RouteSpec("GET", "/items/{id}", "Items", authorizer="Tok"),
            RouteSpec("GET", "/orders", "Orders", authorizer="Req"),
            RouteSpec("GET", "/paid", "Paid", api_key_required=True),
            RouteSpec("GET", "/busy", "Plain", throttle=ThrottleSpec(rate=1, burst=2)),
            RouteSpec("GET", "/calm", "Plain"),
            RouteSpec(
                "GET",
                "/catalog/{id}",
                "Catalog",
                caching=True,
                cache_key_parameters=("method.request.path.id", "method.request.querystring.lang"),
            ),
            RouteSpec("POST", "/broken", "Broken"),
            RouteSpec("ANY", "/public/{proxy+}", "Plain"),
        ),
        authorizers={
            "Tok": AuthorizerSpec("Tok", "TokenAuth", "TOKEN", ttl_s=300),
            "Req": AuthorizerSpec(
                "Req",
                "RequestAuth",
                "REQUEST",
                ("method.request.header.X-User", "method.request.querystring.tenant"),
                ttl_s=0,
            ),
        },
        stage_throttle=ThrottleSpec(rate=5, burst=5),
        cache_enabled=True,
        cache_ttl_s=60,
        cors=CorsSpec(
            allow_origin="https://app.example", allow_headers=("Authorization", "X-User")
        ),
        usage_plans=(
            UsagePlanSpec("gold", ("gold-key",), throttle=ThrottleSpec(rate=1, burst=2)),
            UsagePlanSpec("trial", ("trial-key",), quota_limit=3, quota_period="DAY"),
        ),
    )


@pytest.fixture
def functions() -> FakeFunctions:
    fns = FakeFunctions()
    fns.register("TokenAuth", token_authorizer)
    fns.register("RequestAuth", request_authorizer)
    fns.register(
        "Items",
        lambda e: ok(
            {
                "id": e["pathParameters"]["id"],
                "who": e["requestContext"]["authorizer"]["principalId"],
            }
        ),
    )
    fns.register("Orders", lambda e: ok({"tenant": e["requestContext"]["authorizer"]["tenant"]}))
    fns.register("Paid", lambda e: ok({"key": e["requestContext"]["identity"]["apiKey"]}))
    fns.register("Plain", lambda e: ok({"path": e["path"]}))
    fns.register("Broken", lambda e: {"statusCode": 200, "body": {"not": "a string"}})
    counter = iter(range(1, 1_000_000))
    fns.register(
        "Catalog", lambda e: ok({"id": e["pathParameters"]["id"], "computed": next(counter)})
    )
    return fns


@pytest.fixture
def server(functions: FakeFunctions, clock: FakeClock) -> Iterator[ApiServer]:
    api = ApiServer()
    api.mount("/shop", LocalApiGateway(shop_spec(), functions, clock=clock, api_id="shop123"))
    api.mount(
        "/",
        LocalApiGateway(
            ApiSpec("root", routes=(RouteSpec("GET", "/", "Plain"),)), functions, clock=clock
        ),
    )
    with api:
        yield api


def shop(server: ApiServer, path: str) -> str:
    return f"{server.url}/shop{path}"


class TestTokenAuthorizer:
    def test_an_allowed_token_reaches_the_function_with_its_principal(
        self, server: ApiServer
    ) -> None:
        reply = call(shop(server, "/items/7"), Authorization="Bearer allow")

        assert reply.status == 200
        assert reply.json() == {"id": "7", "who": "alice"}
        assert reply.headers["x-amzn-RequestId"]

    def test_a_denied_token_is_403_with_an_explicit_deny(self, server: ApiServer) -> None:
        reply = call(shop(server, "/items/7"), Authorization="Bearer deny")

        assert reply.status == 403
        assert reply.json() == {
            "Message": "User is not authorized to access this resource with an explicit deny"
        }

    def test_no_token_is_401_and_the_authorizer_is_not_called(
        self, server: ApiServer, functions: FakeFunctions
    ) -> None:
        reply = call(shop(server, "/items/7"))

        assert reply.status == 401
        assert reply.json() == {"message": "Unauthorized"}
        assert functions.events_of("TokenAuth") == []

    def test_the_answer_is_cached_until_the_ttl_passes_on_the_clock(
        self, server: ApiServer, functions: FakeFunctions, clock: FakeClock
    ) -> None:
        for _ in range(3):
            assert call(shop(server, "/items/7"), Authorization="Bearer allow").status == 200
        assert len(functions.events_of("TokenAuth")) == 1

        clock.advance(300)
        assert call(shop(server, "/items/7"), Authorization="Bearer allow").status == 200
        assert len(functions.events_of("TokenAuth")) == 2

    def test_a_cached_policy_does_not_grant_another_item(
        self, server: ApiServer, functions: FakeFunctions
    ) -> None:
        assert call(shop(server, "/items/7"), Authorization="Bearer allow").status == 200

        other = call(shop(server, "/items/8"), Authorization="Bearer allow")

        assert other.status == 403
        assert other.json() == {"Message": "User is not authorized to access this resource"}
        assert len(functions.events_of("TokenAuth")) == 1
        assert len(functions.events_of("Items")) == 1


class TestRequestAuthorizer:
    def test_an_allowed_caller_gets_the_context_in_the_event(self, server: ApiServer) -> None:
        reply = call(shop(server, "/orders?tenant=acme"), **{"X-User": "bob"})

        assert reply.status == 200
        assert reply.json() == {"tenant": "acme"}

    def test_a_denied_caller_is_403(self, server: ApiServer) -> None:
        assert call(shop(server, "/orders?tenant=acme"), **{"X-User": "mallory"}).status == 403

    def test_a_missing_identity_source_is_401_without_a_call(
        self, server: ApiServer, functions: FakeFunctions
    ) -> None:
        assert call(shop(server, "/orders"), **{"X-User": "bob"}).status == 401
        assert functions.events_of("RequestAuth") == []

    def test_a_ttl_of_zero_asks_the_authorizer_every_time(
        self, server: ApiServer, functions: FakeFunctions
    ) -> None:
        for _ in range(2):
            call(shop(server, "/orders?tenant=acme"), **{"X-User": "bob"})

        assert len(functions.events_of("RequestAuth")) == 2


class TestApiKeysAndUsagePlans:
    def test_a_missing_or_unknown_key_is_403_forbidden(self, server: ApiServer) -> None:
        assert call(shop(server, "/paid")).json() == {"message": "Forbidden"}
        assert call(shop(server, "/paid"), **{"x-api-key": "nope"}).status == 403

    def test_a_key_is_throttled_by_its_plan_and_refills_with_time(
        self, server: ApiServer, clock: FakeClock
    ) -> None:
        statuses = [
            call(shop(server, "/paid"), **{"x-api-key": "gold-key"}).status for _ in range(3)
        ]
        assert statuses == [200, 200, 429]

        clock.advance(1)
        assert call(shop(server, "/paid"), **{"x-api-key": "gold-key"}).json() == {
            "key": "gold-key"
        }

    def test_a_quota_runs_out_with_limit_exceeded_and_renews_the_next_day(
        self, server: ApiServer, clock: FakeClock
    ) -> None:
        replies = [call(shop(server, "/paid"), **{"x-api-key": "trial-key"}) for _ in range(4)]

        assert [r.status for r in replies] == [200, 200, 200, 429]
        assert replies[-1].json() == {"message": "Limit Exceeded"}
        clock.advance(86_400)
        assert call(shop(server, "/paid"), **{"x-api-key": "trial-key"}).status == 200


class TestThrottling:
    def test_a_method_throttle_answers_429_too_many_requests(self, server: ApiServer) -> None:
        replies = [call(shop(server, "/busy")) for _ in range(3)]

        assert [r.status for r in replies] == [200, 200, 429]
        assert replies[-1].json() == {"message": "Too Many Requests"}

    def test_the_stage_default_limits_other_methods_each_on_its_own(
        self, server: ApiServer, clock: FakeClock
    ) -> None:
        assert [call(shop(server, "/calm")).status for _ in range(6)] == [200] * 5 + [429]
        assert call(shop(server, "/busy")).status == 200
        clock.advance(1)
        assert call(shop(server, "/calm")).status == 200


class TestCaching:
    def test_a_cached_get_is_served_without_the_function_until_the_ttl(
        self, server: ApiServer, clock: FakeClock
    ) -> None:
        first = call(shop(server, "/catalog/1?lang=en"))
        second = call(shop(server, "/catalog/1?lang=en&page=2"))
        clock.advance(60)
        third = call(shop(server, "/catalog/1?lang=en"))

        assert first.json()["computed"] == second.json()["computed"] == 1
        assert third.json()["computed"] == 2

    def test_cache_key_parameters_keep_entries_apart(self, server: ApiServer) -> None:
        computed = [
            call(shop(server, path)).json()["computed"]
            for path in (
                "/catalog/1?lang=en",
                "/catalog/1?lang=fr",
                "/catalog/2?lang=en",
                "/catalog/1?lang=fr",
            )
        ]

        assert computed == [1, 2, 3, 2]

    def test_no_cache_header_is_invented(self, server: ApiServer) -> None:
        call(shop(server, "/catalog/1"))
        reply = call(shop(server, "/catalog/1"))

        assert "X-Cache" not in reply.headers
        assert "Age" not in reply.headers


class TestEdges:
    def test_a_cors_preflight_is_answered_by_the_gateway(
        self, server: ApiServer, functions: FakeFunctions
    ) -> None:
        reply = call(
            shop(server, "/items/7"),
            method="OPTIONS",
            Origin="https://app.example",
            **{"Access-Control-Request-Method": "GET"},
        )

        assert reply.status == 200
        assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert reply.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
        assert reply.headers["Access-Control-Allow-Headers"] == "Authorization,X-User"
        assert functions.calls == []

    def test_a_malformed_function_response_is_502(self, server: ApiServer) -> None:
        reply = call(shop(server, "/broken"), method="POST", body=b"{}")

        assert reply.status == 502
        assert reply.json() == {"message": "Internal server error"}

    def test_an_unknown_route_is_403_missing_authentication_token(self, server: ApiServer) -> None:
        reply = call(shop(server, "/nowhere"))

        assert reply.status == 403
        assert reply.json() == {"message": "Missing Authentication Token"}

    def test_each_mount_serves_its_own_api(self, server: ApiServer) -> None:
        assert call(f"{server.url}/").json() == {"path": "/"}
        assert call(shop(server, "/public/a/b")).json() == {"path": "/public/a/b"}

    def test_metrics_count_requests_errors_cache_and_throttling(self, server: ApiServer) -> None:
        call(shop(server, "/catalog/1"))
        call(shop(server, "/catalog/1"))
        for _ in range(3):
            call(shop(server, "/busy"))
        call(shop(server, "/broken"), method="POST", body=b"{}")
        call(shop(server, "/items/1"))

        metrics = call(f"{server.url}/_stratus/metrics").json()["apis"]["/shop"]
        routes = metrics["routes"]

        assert metrics["api"] == "shop"
        assert (
            routes["GET /catalog/{id}"]["cache_misses"],
            routes["GET /catalog/{id}"]["cache_hits"],
        ) == (1, 1)
        assert routes["GET /busy"]["count"] == 3
        assert routes["GET /busy"]["throttled"] == 1
        assert routes["GET /busy"]["4xx"] == 1
        assert routes["POST /broken"]["5xx"] == 1
        assert routes["GET /items/{id}"]["4xx"] == 1
        assert routes["POST /broken"]["integration_latency_ms"]["p50"] is not None


class TestHttpShell:
    def test_a_chunked_body_reaches_the_function_whole(
        self, functions: FakeFunctions, clock: FakeClock
    ) -> None:
        functions.register("Echo", lambda e: ok({"body": e["body"]}))
        api = ApiServer()
        api.mount(
            "/",
            LocalApiGateway(
                ApiSpec("e", routes=(RouteSpec("POST", "/e", "Echo"),)), functions, clock=clock
            ),
        )
        with api:
            port = int(api.url.rsplit(":", 1)[1])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/e", body=iter([b"hello ", b"world"]), encode_chunked=True)
            response = conn.getresponse()
            payload = json.loads(response.read())
            conn.close()

        assert payload == {"body": "hello world"}

    def test_a_head_request_gets_headers_but_no_body(self, server: ApiServer) -> None:
        port = int(server.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("HEAD", "/shop/public/x")
        response = conn.getresponse()

        assert response.status == 200
        assert response.read() == b""
        conn.close()

    def test_the_mount_point_itself_is_the_root_of_the_api(
        self, functions: FakeFunctions, clock: FakeClock
    ) -> None:
        api = ApiServer()
        api.mount(
            "orders/",
            LocalApiGateway(
                ApiSpec("o", routes=(RouteSpec("GET", "/", "Plain"),)), functions, clock=clock
            ),
        )
        with api:
            assert call(f"{api.url}/orders").json() == {"path": "/"}
            assert call(f"{api.url}/other").status == 403

    def test_a_prefix_cannot_be_mounted_twice_and_a_stopped_server_has_no_url(
        self, functions: FakeFunctions
    ) -> None:
        api = ApiServer()
        gateway = LocalApiGateway(ApiSpec("x"), functions)
        api.mount("/x", gateway)

        with pytest.raises(ValueError, match="already mounted"):
            api.mount("/x/", gateway)
        with pytest.raises(RuntimeError):
            _ = api.url
