"""Route resolution: API Gateway's specificity and resource-then-method rules."""

from __future__ import annotations

import pytest

from stratus.platform.runtime.apigateway.model import RouteSpec
from stratus.platform.runtime.apigateway.router import Router


def router(*routes: tuple[str, str]) -> Router:
    return Router(RouteSpec(method, path, f"fn{i}") for i, (method, path) in enumerate(routes))


def test_a_literal_segment_beats_a_parameter_which_beats_a_greedy_proxy() -> None:
    r = router(("GET", "/{proxy+}"), ("GET", "/items/{id}"), ("GET", "/items/latest"))

    assert r.resolve("GET", "/items/latest").resource == "/items/latest"  # type: ignore[union-attr]
    match = r.resolve("GET", "/items/7")
    assert match is not None
    assert match.resource == "/items/{id}"
    assert match.path_parameters == {"id": "7"}
    assert r.resolve("GET", "/other/a/b").resource == "/{proxy+}"  # type: ignore[union-attr]


def test_a_greedy_proxy_captures_the_rest_of_the_path_but_needs_one_segment() -> None:
    r = router(("ANY", "/files/{proxy+}"))

    match = r.resolve("GET", "/files/a/b/c.txt")
    assert match is not None
    assert match.path_parameters == {"proxy": "a/b/c.txt"}
    assert r.resolve("GET", "/files") is None


def test_the_exact_method_wins_over_any_on_the_same_resource() -> None:
    r = router(("ANY", "/items"), ("POST", "/items"))

    assert r.resolve("POST", "/items").route.method == "POST"  # type: ignore[union-attr]
    assert r.resolve("DELETE", "/items").route.method == "ANY"  # type: ignore[union-attr]


def test_a_method_missing_on_the_most_specific_resource_is_not_handed_to_the_proxy() -> None:
    r = router(("GET", "/items/{id}"), ("ANY", "/{proxy+}"))

    match = r.resolve("POST", "/items/1")

    assert match is not None
    assert match.resource == "/items/{id}"
    assert match.route is None
    assert match.methods == ("GET",)


def test_an_unknown_path_resolves_to_nothing() -> None:
    assert router(("GET", "/items")).resolve("GET", "/users") is None
    assert router(("GET", "/items")).resolve("GET", "/") is None


def test_the_root_resource_matches_only_the_root() -> None:
    r = router(("GET", "/"), ("GET", "/{proxy+}"))

    assert r.resolve("GET", "/").resource == "/"  # type: ignore[union-attr]
    assert r.resolve("GET", "/x").resource == "/{proxy+}"  # type: ignore[union-attr]


def test_a_trailing_slash_is_ignored_and_an_empty_segment_matches_nothing() -> None:
    r = router(("GET", "/items/{id}"))

    assert r.resolve("GET", "/items/1/") is not None
    assert r.resolve("GET", "/items//1") is None


def test_path_parameters_are_percent_decoded_per_segment() -> None:
    match = router(("GET", "/items/{id}")).resolve("GET", "/items/a%20b%2Fc")

    assert match is not None
    assert match.path_parameters == {"id": "a b/c"}


def test_duplicate_routes_and_a_greedy_variable_not_last_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        router(("GET", "/a"), ("get", "/a"))
    with pytest.raises(ValueError, match="greedy"):
        router(("GET", "/{proxy+}/x"))
    with pytest.raises(ValueError, match="start with"):
        router(("GET", "a"))
