"""The edge proxy without sockets: WAF, redirect, JWT, caching, logs, metrics, bad input."""

from __future__ import annotations

import gzip

import pytest

from stratus.platform.runtime.apigateway.events import HttpRequest
from tests.unit.edge.conftest import BROWSER, FakeOrigin, make_proxy, token_for


def get(
    path: str,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    method: str = "GET",
    body: bytes = b"",
    ip: str = "198.51.100.20",
) -> HttpRequest:
    given = headers or []
    names = {k.lower() for k, _ in given}
    base = [
        (k, v)
        for k, v in (("User-Agent", BROWSER), ("Host", "site.test"))
        if k.lower() not in names
    ]
    return HttpRequest(method, path, query, [*base, *given], body, ip)


@pytest.fixture
def origin() -> FakeOrigin:
    return FakeOrigin()


@pytest.fixture
def edge(tmp_path, clock, origin, signing_key):
    proxy, parts = make_proxy(tmp_path, clock, origin, signing_key)
    parts["static"].put("static/app.js", b"console.log(1)", content_type="application/javascript")
    return proxy, parts


def test_clean_requests_reach_the_dynamic_origin_with_x_forwarded_for(edge, origin):
    proxy, _ = edge
    resp = proxy.handle(get("/api/items", "page=2", [("X-Forwarded-For", "203.0.113.1")]))
    assert resp.status == 200
    method, path, query, headers, _ = origin.requests[0]
    assert (method, path, query) == ("GET", "/api/items", "page=2")
    assert ("X-Forwarded-For", "203.0.113.1, 198.51.100.20") in headers
    assert resp.header("X-Cache") == "Miss from cloudfront"


@pytest.mark.parametrize(
    ("request_", "rule"),
    [
        (get("/search", "q=1%27%20union%20select%20password%20from%20users--"), "SqlInjection"),
        (get("/search", "q=%3Cscript%3Ealert(1)%3C/script%3E"), "CrossSiteScripting"),
        (get("/", headers=[("User-Agent", "sqlmap/1.7")]), "BotUserAgents"),
        (get("/", ip="192.0.2.10"), "BlockedAddresses"),
        (get("/form", method="POST", body=b"name=x%27%20or%201%3D1--"), "SqlInjection"),
    ],
)
def test_the_webacl_blocks_before_the_origin(edge, origin, request_, rule):
    proxy, _ = edge
    resp = proxy.handle(request_)
    assert resp.status == 403
    assert resp.header("x-amz-cf-waf-rule") == rule
    assert origin.requests == []


def test_a_request_without_user_agent_is_a_bot(edge):
    proxy, _ = edge
    resp = proxy.handle(HttpRequest("GET", "/", "", [("Host", "x")], b"", "198.51.100.1"))
    assert resp.status == 403


def test_rate_limit_blocks_a_flooding_client(tmp_path, clock, origin, signing_key):
    proxy, _ = make_proxy(tmp_path, clock, origin, signing_key, parameters={"RateLimit": "10"})
    statuses = [proxy.handle(get(f"/p{i}")).status for i in range(12)]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [403, 403]
    assert proxy.handle(get("/p", ip="198.51.100.99")).status == 200


def test_metrics_per_rule_and_share_blocked(edge):
    proxy, _ = edge
    proxy.handle(get("/ok"))
    proxy.handle(get("/s", "q=%3Cscript%3E"))
    metrics = proxy.handle(get("/_edge/metrics")).json()
    assert metrics["rules"]["CrossSiteScripting"] == {"allowed": 0, "blocked": 1, "counted": 0}
    assert metrics["blocked_share"] == 0.5


def test_the_oversize_body_rule_counts_without_blocking(edge):
    proxy, _ = edge
    resp = proxy.handle(get("/upload", method="POST", body=b"a" * 20000))
    assert resp.status == 200
    assert proxy.metrics.snapshot()["rules"]["OversizeBody"]["counted"] == 1


# -- caching --------------------------------------------------------------------------------


def test_cache_control_max_age_is_honoured_and_expires(edge, origin, clock):
    proxy, _ = edge
    origin.headers = [("Content-Type", "text/plain"), ("Cache-Control", "max-age=30")]
    first, second = proxy.handle(get("/api/t")), proxy.handle(get("/api/t"))
    assert second.header("X-Cache") == "Hit from cloudfront"
    assert first.body == second.body
    assert len(origin.requests) == 1
    clock.advance(31)
    assert proxy.handle(get("/api/t")).header("X-Cache") == "Miss from cloudfront"
    assert len(origin.requests) == 2


def test_no_store_and_default_ttl_zero_are_not_cached(edge, origin):
    proxy, _ = edge
    proxy.handle(get("/api/d"))
    proxy.handle(get("/api/d"))
    assert len(origin.requests) == 2  # the dynamic policy's DefaultTTL is 0


def test_the_query_string_is_part_of_the_dynamic_cache_key(edge, origin):
    proxy, _ = edge
    origin.headers = [("Cache-Control", "max-age=60")]
    proxy.handle(get("/api/q", "a=1"))
    proxy.handle(get("/api/q", "a=2"))
    proxy.handle(get("/api/q", "a=1"))
    assert len(origin.requests) == 2


def test_post_is_never_cached(edge, origin):
    proxy, _ = edge
    origin.headers = [("Cache-Control", "max-age=60")]
    proxy.handle(get("/api/p", method="POST", body=b"x=1"))
    proxy.handle(get("/api/p", method="POST", body=b"x=1"))
    assert len(origin.requests) == 2


# -- Authorizer@Edge on static content --------------------------------------------------------


def test_static_content_needs_a_token(edge):
    proxy, _ = edge
    resp = proxy.handle(get("/static/app.js"))
    assert resp.status == 401
    assert resp.json()["reason"] == "missing-token"


def test_a_valid_token_in_the_header_or_cookie_serves_from_the_bucket(edge, clock, signing_key):
    proxy, _ = edge
    token = token_for(signing_key, clock)
    by_header = proxy.handle(get("/static/app.js", headers=[("Authorization", f"Bearer {token}")]))
    by_cookie = proxy.handle(get("/static/app.js", headers=[("Cookie", f"id_token={token}")]))
    assert by_header.status == by_cookie.status == 200
    assert by_header.body == b"console.log(1)"
    assert by_header.header("Content-Type") == "application/javascript"


def test_cached_static_content_still_needs_a_token(edge, clock, signing_key):
    proxy, _ = edge
    token = token_for(signing_key, clock)
    assert (
        proxy.handle(get("/static/app.js", headers=[("Authorization", f"Bearer {token}")])).status
        == 200
    )
    assert proxy.handle(get("/static/app.js")).status == 401


def test_an_expired_token_is_redirected_to_refresh(edge, clock, signing_key):
    proxy, _ = edge
    token = token_for(signing_key, clock, ttl_s=10)
    clock.advance(200)
    resp = proxy.handle(get("/static/app.js", "v=1", [("Authorization", f"Bearer {token}")]))
    assert resp.status == 302
    assert resp.header("Location") == "/auth/refresh?redirect_uri=%2Fstatic%2Fapp.js%3Fv%3D1"


def test_a_token_for_another_audience_is_forbidden(edge, clock, signing_key):
    proxy, _ = edge
    token = token_for(signing_key, clock, aud="other")
    resp = proxy.handle(get("/static/app.js", headers=[("Authorization", f"Bearer {token}")]))
    assert resp.status == 403
    assert resp.json()["reason"] == "wrong-audience"


def test_a_missing_static_object_is_404(edge, clock, signing_key):
    proxy, _ = edge
    token = token_for(signing_key, clock)
    assert (
        proxy.handle(get("/static/nope.js", headers=[("Authorization", f"Bearer {token}")])).status
        == 404
    )


# -- HTTPS ----------------------------------------------------------------------------------


def test_http_is_redirected_to_https_and_https_gets_hsts(tmp_path, clock, origin, signing_key):
    proxy, _ = make_proxy(tmp_path, clock, origin, signing_key, https_port=8443)
    redirect = proxy.handle(get("/a b", "x=1", [("Host", "site.test:8080")]), scheme="http")
    assert redirect.status == 301
    assert redirect.header("Location") == "https://site.test:8443/a%20b?x=1"
    secure = proxy.handle(get("/a"), scheme="https")
    assert secure.status == 200
    assert secure.header("Strict-Transport-Security").startswith("max-age=")


# -- access logs ------------------------------------------------------------------------------


def test_every_request_is_logged_in_cloudfront_format(edge):
    proxy, parts = edge
    proxy.handle(get("/a"))
    proxy.handle(get("/s", "q=%3Cscript%3E"))
    key = parts["logs"].flush()
    text = gzip.decompress(parts["logs"]._objects.get(key)).decode()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert text.startswith("#Version: 1.0\n#Fields: date time x-edge-location")
    assert [line.split("\t")[8] for line in lines] == ["200", "403"]
    assert [line.split("\t")[13] for line in lines] == ["Miss", "Error"]
    assert all(len(line.split("\t")) == 33 for line in lines)


# -- malformed requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (get("/%ff%fe"), 400),
        (get("/a%00b"), 400),
        (get("/" + "a" * 9000), 414),
        (get("/", headers=[("X-Big", "x" * 30000)]), 494),
        (get("/", method="POST", body=b"x" * (11 * 1024 * 1024)), 413),
        (HttpRequest("GET", "no-slash", "", [("User-Agent", BROWSER)], b"", "198.51.100.3"), 400),
    ],
)
def test_malformed_requests_get_a_4xx_with_a_reason(edge, origin, request_, status):
    proxy, _ = edge
    resp = proxy.handle(request_)
    assert resp.status == status
    assert resp.body
    assert origin.requests == []


def test_invalid_utf8_in_query_and_body_is_inspected_not_fatal(edge, origin):
    proxy, _ = edge
    resp = proxy.handle(get("/x", "q=%C3%28%ff", method="POST", body=b"\xff\xfe\x00garbage"))
    assert resp.status == 200


def test_an_origin_failure_is_a_502_never_a_500(tmp_path, clock, signing_key):
    class Broken:
        def fetch(self, *args):
            raise RuntimeError("boom")

    proxy, _ = make_proxy(tmp_path, clock, Broken(), signing_key)
    assert proxy.handle(get("/x")).status == 502
