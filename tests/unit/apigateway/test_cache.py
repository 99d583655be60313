"""The stage response cache: keys, TTL on the fake clock, what is stored."""

from __future__ import annotations

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.apigateway.cache import ResponseCache, asks_for_fresh, cache_key
from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse
from stratus.platform.runtime.apigateway.model import RouteSpec

ROUTE = RouteSpec(
    "GET",
    "/items/{id}",
    "Get",
    caching=True,
    cache_key_parameters=("method.request.querystring.lang", "method.request.header.X-Tenant"),
)


def key_of(route: RouteSpec, path_id: str, query: str = "", **headers: str) -> object:
    request = HttpRequest("GET", f"/items/{path_id}", query, list(headers.items()))
    return cache_key(route, request, {"id": path_id})


def test_the_key_holds_the_resource_path_and_declared_parameters_only() -> None:
    assert key_of(ROUTE, "1", "lang=en") == key_of(ROUTE, "1", "lang=en&page=2")
    assert key_of(ROUTE, "1", "lang=en") != key_of(ROUTE, "1", "lang=fr")
    assert key_of(ROUTE, "1", **{"x-tenant": "a"}) != key_of(ROUTE, "1", **{"x-tenant": "b"})


def test_an_undeclared_path_parameter_is_not_in_the_key_as_on_aws() -> None:
    assert key_of(ROUTE, "1") == key_of(ROUTE, "2")
    with_path = RouteSpec(
        "GET", "/items/{id}", "Get", cache_key_parameters=("method.request.path.id",)
    )
    assert key_of(with_path, "1") != key_of(with_path, "2")


def test_an_entry_lives_for_the_ttl_of_the_clock(clock: FakeClock) -> None:
    cache = ResponseCache(clock, ttl_s=30)
    cache.put(("GET", "/a", ()), HttpResponse(200, body=b"x"))

    clock.advance(29)
    hit = cache.get(("GET", "/a", ()))
    clock.advance(1)
    expired = cache.get(("GET", "/a", ()))

    assert hit is not None
    assert hit.body == b"x"
    assert expired is None


def test_errors_are_not_stored_and_a_ttl_of_zero_stores_nothing(clock: FakeClock) -> None:
    cache = ResponseCache(clock, ttl_s=30)
    cache.put(("GET", "/a", ()), HttpResponse(500))
    off = ResponseCache(clock, ttl_s=0)
    off.put(("GET", "/a", ()), HttpResponse(200))

    assert len(cache) == 0
    assert len(off) == 0


def test_the_oldest_entry_goes_when_the_cache_is_full(clock: FakeClock) -> None:
    cache = ResponseCache(clock, ttl_s=30, max_entries=2)
    for name in ("/a", "/b", "/c"):
        cache.put(("GET", name, ()), HttpResponse(200))

    assert cache.get(("GET", "/a", ())) is None
    assert cache.get(("GET", "/c", ())) is not None
    cache.flush()
    assert len(cache) == 0


def test_cache_control_max_age_zero_asks_for_a_fresh_answer() -> None:
    assert asks_for_fresh(
        HttpRequest("GET", "/", headers=[("Cache-Control", "no-store, max-age=0")])
    )
    assert not asks_for_fresh(HttpRequest("GET", "/", headers=[("Cache-Control", "max-age=60")]))
    assert not asks_for_fresh(HttpRequest("GET", "/"))
