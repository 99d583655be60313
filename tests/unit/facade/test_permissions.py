"""Permissions and the authorizer's policy: exactly the user's routes, nothing more."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stratus.platform.runtime.apigateway.authorizers import evaluate_policy, method_arn
from stratus.platform.runtime.template import ApiEvent, load_application
from stratus.solutions.facade.domain.permissions import (
    ROUTES,
    Permission,
    TokenRecord,
    TokenVerdict,
    api_prefix,
    judge_token,
    parse_permissions,
    policy,
)

TEMPLATE = Path(__file__).resolve().parents[3] / "src/stratus/solutions/facade/infra/template.yaml"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/customers/C1/overview"
ALL_SETS = [
    frozenset(c) for n in range(len(Permission) + 1) for c in itertools.combinations(Permission, n)
]


def concrete(path: str) -> str:
    return path.replace("{customerId}", "C42")


def arn_for(method: str, path: str, stage: str = "dev") -> str:
    return method_arn(
        region="us-east-1",
        account="123456789012",
        api_id="abc123",
        stage=stage,
        method=method,
        path=concrete(path),
    )


@pytest.mark.parametrize("perms", ALL_SETS, ids=lambda p: "+".join(sorted(p)) or "none")
def test_the_policy_allows_exactly_the_routes_of_the_users_permissions(perms) -> None:
    document = policy(ARN, perms)

    for route in ROUTES:
        if route.permission is None:
            continue
        verdict = evaluate_policy(document, arn_for(route.method, route.path))
        assert (verdict == "allow") == (route.permission in perms), route


@pytest.mark.parametrize("perms", ALL_SETS, ids=lambda p: "+".join(sorted(p)) or "none")
def test_the_policy_grants_nothing_on_other_stages_apis_or_unknown_routes(perms) -> None:
    document = policy(ARN, perms)
    others = [
        arn_for("GET", "/customers/{customerId}/overview", stage="prod"),
        ARN.replace("abc123", "other"),
        arn_for("DELETE", "/customers/{customerId}/notes"),
        arn_for("GET", "/admin"),
        arn_for("PUT", "/catalog/products"),
    ]
    for arn in others:
        assert evaluate_policy(document, arn) != "allow", arn


def test_a_user_without_permissions_gets_an_explicit_deny() -> None:
    assert evaluate_policy(policy(ARN, []), ARN) == "explicit_deny"


def test_unknown_permission_strings_are_never_granted() -> None:
    assert parse_permissions(["catalog:read", "admin:*", "*"]) == {Permission.CATALOG_READ}


def test_a_malformed_method_arn_is_refused() -> None:
    with pytest.raises(ValueError, match="method ARN"):
        api_prefix("arn:aws:lambda:us-east-1:1:function:x")


def record(**changes) -> TokenRecord:
    values = {
        "user_id": 1,
        "username": "alice",
        "expires_at": NOW + timedelta(hours=1),
        "revoked_at": None,
        "permissions": frozenset({Permission.CATALOG_READ}),
    }
    values.update(changes)
    return TokenRecord(**values)


@pytest.mark.parametrize(
    ("stored", "verdict"),
    [
        (None, TokenVerdict.UNKNOWN),
        (record(), TokenVerdict.VALID),
        (record(expires_at=NOW), TokenVerdict.EXPIRED),
        (record(expires_at=NOW - timedelta(seconds=1)), TokenVerdict.EXPIRED),
        (record(revoked_at=NOW - timedelta(days=1)), TokenVerdict.REVOKED),
        (record(revoked_at=NOW, expires_at=NOW - timedelta(days=1)), TokenVerdict.REVOKED),
        (record(revoked_at=NOW + timedelta(days=1)), TokenVerdict.VALID),
    ],
)
def test_tokens_are_judged_unknown_expired_revoked_or_valid(stored, verdict) -> None:
    assert judge_token(stored, NOW) is verdict


def test_judging_needs_a_tz_aware_time() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        judge_token(None, datetime(2026, 1, 1))


def test_the_template_declares_exactly_the_routes_the_policy_knows() -> None:
    app = load_application(TEMPLATE)
    declared = {
        (ev.method.upper(), ev.path)
        for fn in app.functions.values()
        for ev in fn.events
        if isinstance(ev, ApiEvent)
    }
    assert declared == {(r.method, r.path) for r in ROUTES}


def test_static_data_routes_and_only_those_are_cached_for_an_hour() -> None:
    api = load_application(TEMPLATE).apis["FacadeApi"]
    for route in ROUTES:
        setting = api.setting_for(route.path, route.method)
        cached = bool(setting and setting.caching_enabled)
        assert cached == route.static, route
        if route.static:
            assert setting is not None
            assert setting.cache_ttl_s == 3600
    assert api.cache_cluster_enabled
    assert api.cache_ttl_s == 3600
