"""Lambda authorizers: events, 401/403/500 rules, policy evaluation and the result cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.apigateway.authorizers import (
    LambdaAuthorizers,
    evaluate_policy,
    method_arn,
)
from stratus.platform.runtime.apigateway.events import EventContext, HttpRequest
from stratus.platform.runtime.apigateway.model import AuthorizerSpec
from tests.unit.apigateway.fakes import FakeFunctions, policy, token_authorizer

EVENTS = Path(__file__).resolve().parents[2] / "events"
ARN_1 = "arn:aws:execute-api:us-east-1:000000000000:local/Prod/GET/items/1"
ARN_2 = "arn:aws:execute-api:us-east-1:000000000000:local/Prod/GET/items/2"
TOKEN = AuthorizerSpec("Tok", "AuthFn", "TOKEN", ("method.request.header.Authorization",), ttl_s=60)
REQUEST = AuthorizerSpec(
    "Req",
    "ReqFn",
    "REQUEST",
    ("method.request.header.X-User", "method.request.querystring.tenant"),
    ttl_s=60,
)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def ctx(path: str = "/items/1") -> EventContext:
    return EventContext(
        resource="/items/{id}",
        path_parameters={"id": path.rsplit("/", 1)[1]},
        stage="Prod",
        api_id="local",
        account="000000000000",
        request_id="r-1",
        extended_request_id="e-1",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )


def get(path: str = "/items/1", query: str = "", **headers: str) -> HttpRequest:
    return HttpRequest("GET", path, query, list(headers.items()))


@pytest.fixture
def functions() -> FakeFunctions:
    fns = FakeFunctions()
    fns.register("AuthFn", token_authorizer)
    return fns


@pytest.fixture
def authorizers(functions: FakeFunctions, clock: FakeClock) -> LambdaAuthorizers:
    return LambdaAuthorizers(functions, clock)


def test_the_method_arn_names_region_account_api_stage_method_and_path() -> None:
    arn = method_arn(
        region="us-east-1",
        account="000000000000",
        api_id="local",
        stage="Prod",
        method="get",
        path="/items/1",
    )

    assert arn == ARN_1


def test_an_allow_matching_with_wildcards_grants_and_an_explicit_deny_wins() -> None:
    allow_all = {
        "Effect": "Allow",
        "Action": "execute-api:*",
        "Resource": "arn:aws:execute-api:*:*:local/*",
    }
    deny_one = {"Effect": "Deny", "Action": ["execute-api:Invoke"], "Resource": ARN_1}

    assert evaluate_policy(doc(allow_all), ARN_1) == "allow"
    assert evaluate_policy(doc(allow_all, deny_one), ARN_1) == "explicit_deny"
    assert evaluate_policy(doc(allow_all, deny_one), ARN_2) == "allow"


def test_question_mark_matches_one_character_and_resources_are_case_sensitive() -> None:
    one_char = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN_1[:-1] + "?"}

    assert evaluate_policy(doc(one_char), ARN_2) == "allow"
    assert evaluate_policy(doc(one_char), ARN_2 + "0") == "implicit_deny"
    assert evaluate_policy(doc({**one_char, "Resource": ARN_1.upper()}), ARN_1) == "implicit_deny"


def test_a_policy_without_a_matching_allow_denies_implicitly() -> None:
    other_action = {"Effect": "Allow", "Action": "execute-api:InvalidateCache", "Resource": "*"}

    assert evaluate_policy(doc(other_action), ARN_1) == "implicit_deny"
    assert evaluate_policy({"Statement": {**other_action, "Action": "*"}}, ARN_1) == "allow"
    assert evaluate_policy({}, ARN_1) == "implicit_deny"


def test_a_missing_token_is_unauthorized_without_calling_the_function(
    authorizers: LambdaAuthorizers, functions: FakeFunctions
) -> None:
    decision = authorizers.authorize(TOKEN, get(), ctx(), ARN_1)

    assert decision.response is not None
    assert decision.response.status == 401
    assert decision.response.json() == {"message": "Unauthorized"}
    assert functions.calls == []


def test_a_token_failing_the_validation_regex_is_unauthorized_without_a_call(
    authorizers: LambdaAuthorizers, functions: FakeFunctions
) -> None:
    spec = AuthorizerSpec("Tok", "AuthFn", validation_regex=r"^Bearer [a-z-]+$")

    refused = authorizers.authorize(spec, get(Authorization="Basic xyz"), ctx(), ARN_1)
    accepted = authorizers.authorize(spec, get(Authorization="Bearer allow"), ctx(), ARN_1)

    assert refused.response is not None
    assert refused.response.status == 401
    assert accepted.allowed
    assert len(functions.calls) == 1


def test_the_token_event_has_the_shape_of_a_real_one(
    authorizers: LambdaAuthorizers, functions: FakeFunctions
) -> None:
    real = json.loads((EVENTS / "apigateway_token_authorizer_event.json").read_text())

    authorizers.authorize(TOKEN, get(Authorization="Bearer allow"), ctx(), ARN_1)

    event = functions.events_of("AuthFn")[0]
    assert event.keys() == real.keys()
    assert event == {"type": "TOKEN", "authorizationToken": "Bearer allow", "methodArn": ARN_1}


def test_an_allow_passes_principal_and_context_as_strings(authorizers: LambdaAuthorizers) -> None:
    decision = authorizers.authorize(TOKEN, get(Authorization="Bearer allow"), ctx(), ARN_1)

    assert decision.allowed
    assert decision.authorizer is not None
    assert decision.authorizer["principalId"] == "alice"
    assert decision.authorizer["tier"] == "gold"
    assert decision.authorizer["admin"] == "true"
    assert "integrationLatency" in decision.authorizer


@pytest.mark.parametrize(
    ("token", "status", "body"),
    [
        (
            "deny",
            403,
            {"Message": "User is not authorized to access this resource with an explicit deny"},
        ),
        ("unauthorized", 401, {"message": "Unauthorized"}),
        ("malformed", 500, {"message": None}),
        ("crash", 500, {"message": None}),
    ],
)
def test_deny_unauthorized_and_broken_authorizers_answer_like_api_gateway(
    authorizers: LambdaAuthorizers, token: str, status: int, body: dict[str, Any]
) -> None:
    decision = authorizers.authorize(TOKEN, get(Authorization=f"Bearer {token}"), ctx(), ARN_1)

    assert decision.response is not None
    assert decision.response.status == status
    assert decision.response.json() == body


def test_returning_the_string_unauthorized_is_a_401(clock: FakeClock) -> None:
    fns = FakeFunctions()
    fns.register("AuthFn", lambda event: "Unauthorized")

    decision = LambdaAuthorizers(fns, clock).authorize(TOKEN, get(Authorization="x"), ctx(), ARN_1)

    assert decision.response is not None
    assert decision.response.status == 401


def test_a_cached_answer_is_reused_until_its_ttl_runs_out_on_the_clock(
    authorizers: LambdaAuthorizers, functions: FakeFunctions, clock: FakeClock
) -> None:
    request = get(Authorization="Bearer allow")

    first = authorizers.authorize(TOKEN, request, ctx(), ARN_1)
    clock.advance(59)
    second = authorizers.authorize(TOKEN, request, ctx(), ARN_1)
    clock.advance(1)
    third = authorizers.authorize(TOKEN, request, ctx(), ARN_1)

    assert (first.cached, second.cached, third.cached) == (False, True, False)
    assert len(functions.calls) == 2


def test_a_ttl_of_zero_calls_the_function_every_time(
    authorizers: LambdaAuthorizers, functions: FakeFunctions
) -> None:
    spec = AuthorizerSpec("Tok", "AuthFn", ttl_s=0)
    for _ in range(3):
        authorizers.authorize(spec, get(Authorization="Bearer allow"), ctx(), ARN_1)

    assert len(functions.calls) == 3


def test_a_cached_policy_never_grants_a_route_it_does_not_name(
    authorizers: LambdaAuthorizers, functions: FakeFunctions
) -> None:
    request_1 = get("/items/1", Authorization="Bearer allow")
    request_2 = get("/items/2", Authorization="Bearer allow")

    granted = authorizers.authorize(TOKEN, request_1, ctx("/items/1"), ARN_1)
    refused = authorizers.authorize(TOKEN, request_2, ctx("/items/2"), ARN_2)

    assert granted.allowed
    assert refused.cached
    assert refused.response is not None
    assert refused.response.status == 403
    assert refused.response.json() == {"Message": "User is not authorized to access this resource"}
    assert len(functions.calls) == 1


def test_different_tokens_are_cached_apart(
    authorizers: LambdaAuthorizers, functions: FakeFunctions
) -> None:
    allowed = authorizers.authorize(TOKEN, get(Authorization="Bearer allow"), ctx(), ARN_1)
    denied = authorizers.authorize(TOKEN, get(Authorization="Bearer deny"), ctx(), ARN_1)

    assert allowed.allowed
    assert not denied.allowed
    assert len(functions.calls) == 2


def test_a_request_authorizer_gets_headers_query_path_and_context(clock: FakeClock) -> None:
    fns = FakeFunctions()
    fns.register(
        "ReqFn",
        lambda event: policy("Allow", event["methodArn"], principal=event["headers"]["X-User"]),
    )
    authorizers = LambdaAuthorizers(fns, clock)

    decision = authorizers.authorize(
        REQUEST, get(query="tenant=t1", **{"X-User": "bob"}), ctx(), ARN_1
    )

    assert decision.allowed
    event = fns.events_of("ReqFn")[0]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == ARN_1
    assert event["queryStringParameters"] == {"tenant": "t1"}
    assert event["pathParameters"] == {"id": "1"}
    assert event["requestContext"]["stage"] == "Prod"
    assert event["resource"] == "/items/{id}"


def test_a_request_authorizer_missing_one_identity_source_is_unauthorized(clock: FakeClock) -> None:
    fns = FakeFunctions()
    authorizers = LambdaAuthorizers(fns, clock)

    decision = authorizers.authorize(REQUEST, get(**{"X-User": "bob"}), ctx(), ARN_1)

    assert decision.response is not None
    assert decision.response.status == 401
    assert fns.calls == []


def test_a_request_authorizer_caches_by_all_identity_values(clock: FakeClock) -> None:
    fns = FakeFunctions()
    fns.register("ReqFn", lambda event: policy("Allow", "*"))
    authorizers = LambdaAuthorizers(fns, clock)

    for tenant in ("t1", "t1", "t2"):
        authorizers.authorize(
            REQUEST, get(query=f"tenant={tenant}", **{"X-User": "bob"}), ctx(), ARN_1
        )

    assert len(fns.calls) == 2
