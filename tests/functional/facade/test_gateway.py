"""The facade template on the local runtime (in process, loopback HTTP): the authorizer's
cached policy never grants more than the user may do, on any route and in any order; the
database down behind the authorizer is 503 with Retry-After, not 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.facade import bootstrap, demo
from stratus.solutions.facade.domain.permissions import ROUTES, Permission
from tests.unit.facade.helpers import down_database_url

TEMPLATE = Path(__file__).resolve().parents[3] / "src/stratus/solutions/facade/infra/template.yaml"
USERS = {
    "alice-demo-token": set(Permission),
    "bob-demo-token": {Permission.CATALOG_READ},
    "load-token-1": {Permission.CUSTOMERS_READ, Permission.CATALOG_READ},
}
GUARDED = [r for r in ROUTES if r.permission is not None]


def request(base: str, method: str, path: str, token: str | None = None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), dict(err.headers)


def start(tmp_path: Path, clock: FakeClock, **parameters: str) -> LocalRuntime:
    runtime = LocalRuntime([TEMPLATE], home=tmp_path / "home", clock=clock, parameters=parameters)
    runtime.start()
    return runtime


@pytest.fixture
def runtime(tmp_path, monkeypatch) -> Iterator[LocalRuntime]:
    monkeypatch.setenv("FACADE_LEGACY_LATENCY_MS", "1")
    bootstrap.reset()
    clock = FakeClock()
    rt = start(tmp_path, clock)
    engines = bootstrap.database(None, None, rt.home)
    demo.seed(engines.writer, now=clock.now(), customers=3, extra_tokens=1)
    try:
        yield rt
    finally:
        rt.stop()
        bootstrap.reset()


def call_route(rt: LocalRuntime, route, token: str):
    path = "/facade" + route.path.replace("{customerId}", "C1")
    body = {"text": "hello"} if route.method == "POST" else None
    return request(rt.url, route.method, path, token, body)[0]


@pytest.mark.parametrize("token", sorted(USERS))
def test_whichever_route_comes_first_the_cached_policy_grants_exactly_the_users_routes(
    runtime, token
) -> None:
    clock: FakeClock = runtime.clock  # type: ignore[assignment]
    gateway = runtime.gateways["/facade"]
    for first in GUARDED:
        clock.advance(301)  # the previous policy expired: the next request asks the authorizer
        calls_before = gateway.authorizers.invocations
        order = [first, *[r for r in GUARDED if r is not first]]
        for route in order:
            status = call_route(runtime, route, token)
            allowed = route.permission in USERS[token]
            assert (status not in (401, 403)) == allowed, (token, first.path, route, status)
            assert status < 500, (route, status)
        assert gateway.authorizers.invocations == calls_before + 1  # one call, then cached


def test_revoked_expired_and_unknown_tokens_never_reach_the_facade(runtime) -> None:
    for route in GUARDED:
        assert call_route(runtime, route, "carol-demo-token") == 403
        assert call_route(runtime, route, "dave-demo-token") == 401
        assert call_route(runtime, route, "never-issued") == 401
    status, _, _ = request(runtime.url, "GET", "/facade/customers/C1/overview")
    assert status == 401
    facade = next(
        f for f in runtime.functions.values() if f.definition.logical_id == "FacadeFunction"
    )
    assert facade.stats.invocations == 0


def test_the_openapi_document_needs_no_token(runtime) -> None:
    status, body, _ = request(runtime.url, "GET", "/facade/openapi.json")
    assert status == 200
    assert body["info"]["title"] == "stratus facade API"


def test_with_the_database_down_the_authorizer_answer_is_503_with_retry_after(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FACADE_LEGACY_LATENCY_MS", "1")
    bootstrap.reset()
    rt = start(tmp_path, FakeClock(), WriterUrl=down_database_url())
    try:
        status, body, headers = request(
            rt.url, "GET", "/facade/customers/C1/overview", "alice-demo-token"
        )
    finally:
        rt.stop()
        bootstrap.reset()
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert "retry later" in body["message"]
