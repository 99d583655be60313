"""Cache TTL rules, CloudFront access-log lines, crawler scoring and the pattern-set quotas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stratus.solutions.edge.domain import accesslog, cache, crawler

POLICY = cache.CachePolicy(min_ttl=0, default_ttl=60, max_ttl=600)


@pytest.mark.parametrize(
    ("control", "expires", "expected"),
    [
        (None, None, 60),
        ("max-age=30", None, 30),
        ("max-age=99999", None, 600),
        ("s-maxage=10, max-age=300", None, 10),
        ("no-store", None, 0),
        ("private, max-age=300", None, 0),
        ("no-cache", None, 0),
        (None, "Thu, 01 Jan 2026 00:02:00 GMT", 120),
        (None, "not a date", 0),
    ],
)
def test_ttl_follows_cloudfront_rules(control, expires, expected):
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert cache.ttl(POLICY, control, expires, now) == expected


def test_min_ttl_overrides_no_cache():
    assert cache.ttl(cache.CachePolicy(min_ttl=5), "no-cache", None, 0) == 5


def test_head_shares_the_get_entry_and_the_query_is_in_the_key():
    assert cache.cache_key("HEAD", "/a", "x=1", POLICY) == cache.cache_key(
        "GET", "/a", "x=1", POLICY
    )
    assert cache.cache_key("GET", "/a", "x=1", POLICY) != cache.cache_key(
        "GET", "/a", "x=2", POLICY
    )
    no_query = cache.CachePolicy(query_in_key=False)
    assert cache.cache_key("GET", "/a", "x=1", no_query) == cache.cache_key(
        "GET", "/a", "x=2", no_query
    )


def test_entries_expire_and_the_cache_is_bounded():
    store = cache.ResponseCache(max_bytes=400)
    store.put("a", 200, [], b"x" * 90, now=0, ttl_s=10)
    assert store.get("a", now=5) is not None
    assert store.get("a", now=10) is None
    for i in range(10):
        store.put(str(i), 200, [], b"x" * 90, now=0, ttl_s=10)
    assert len(store) <= 4


def test_access_log_lines_have_cloudfronts_33_fields_and_parse_back():
    entry = accesslog.AccessLogEntry(
        at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        client_ip="192.0.2.1",
        method="GET",
        host="example.com",
        path="/a b",
        status=200,
        referer="",
        user_agent="Mozilla/5.0 (X11)",
        query="q=1",
        result_type="Hit",
        request_id="abc",
        protocol="https",
        bytes_sent=10,
        bytes_received=0,
        time_taken_s=0.002,
    )
    line = accesslog.format_line(entry)
    fields = line.split("\t")
    assert len(fields) == len(accesslog.FIELDS) == 33
    assert fields[:3] == ["2026-01-02", "03:04:05", "LOCAL1"]
    assert fields[10] == "Mozilla/5.0%20(X11)"
    assert fields[9] == "-"
    (parsed,) = accesslog.parse_lines([accesslog.HEADER, line])
    assert parsed.user_agent == "Mozilla/5.0 (X11)"
    assert parsed.path == "/a b"
    assert parsed.result_type == "Hit"


def test_the_aws_sample_line_shape_parses():
    line = (
        "2026-01-11\t22:57:56\tFRA6\t919468\t72.21.196.65\tGET\tsamplehost.com\tpage.html\t404\t"
        "https://www.site2.com\tMozilla/5.0%2520(compatible;%2520bingbot/2.0)\turi_query\tcookie\t\t"
        "IQU6==\tx_host-header\thttps\t394330\t2"
    )
    (entry,) = accesslog.parse_lines([line])
    assert entry.user_agent == "Mozilla/5.0 (compatible; bingbot/2.0)"
    assert entry.status == 404


def test_ua_matcher_flags_bots_and_not_browsers():
    matcher = crawler.UaMatcher()
    assert matcher.check("Googlebot/2.1 (+http://www.google.com/bot.html)").bot
    assert matcher.check("curl/8.4.0").bot
    assert matcher.check("").bot
    browser = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Safari/537.36"
    )
    assert not matcher.check(browser).bot


def test_known_patterns_fit_aws_regex_quotas():
    assert len(crawler.KNOWN_BOT_PATTERNS) <= crawler.MAX_PATTERNS
    assert all(len(p) <= crawler.MAX_PATTERN_CHARS for p in crawler.KNOWN_BOT_PATTERNS)
    assert not any("(?!" in p or "(?=" in p or "(?<" in p for p in crawler.KNOWN_BOT_PATTERNS)


def test_the_pattern_set_respects_the_quotas_and_reports_what_did_not_fit():
    agents = [f"Mozilla/5.0 SneakyFetcher{i:04d}/1.0" for i in range(500)]
    patterns, left_out = crawler.pattern_set(agents)
    assert len(patterns) <= 10
    assert all(len(p) <= 200 for p in patterns)
    assert left_out
    assert len(patterns) * 8 < 500 - len(left_out) + 1


def test_signature_picks_the_distinctive_token():
    assert (
        crawler.signature("Mozilla/5.0 (compatible; FooCrawler/2.1; +http://foo.example)")
        == "foocrawler"
    )


def views(
    n: int,
    *,
    gap_s: float = 1.0,
    path: str = "/page",
    method: str = "GET",
    status: int = 200,
    ua: str = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
) -> list[crawler.PageView]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        crawler.PageView(
            start + timedelta(seconds=i * gap_s), "192.0.2.9", ua, method, f"{path}{i}", status
        )
        for i in range(n)
    ]


def test_a_human_paced_browser_is_not_a_bot():
    human = views(30, gap_s=7.0)
    human = [
        v if i % 3 else crawler.PageView(v.at, v.client, v.user_agent, v.method, "/app.js", 200)
        for i, v in enumerate(human)
    ]
    jitter = [
        crawler.PageView(
            v.at + timedelta(seconds=(i * 37) % 11),
            v.client,
            v.user_agent,
            v.method,
            v.path,
            v.status,
        )
        for i, v in enumerate(human)
    ]
    assert not crawler.score_client(sorted(jitter, key=lambda v: v.at), crawler.UaMatcher()).bot


def test_a_fast_regular_asset_less_client_is_a_bot():
    score = crawler.score_client(views(60, gap_s=0.5), crawler.UaMatcher())
    assert score.bot
    assert {"request-rate", "regular-intervals", "no-assets"} <= set(score.reasons)


def test_robots_head_and_4xx_count():
    seen = views(25, gap_s=3.0, method="HEAD", status=404)
    seen[0] = crawler.PageView(
        seen[0].at, seen[0].client, seen[0].user_agent, "GET", "/robots.txt", 200
    )
    score = crawler.score_client(seen, crawler.UaMatcher())
    assert {"robots.txt", "head-requests", "4xx-ratio"} <= set(score.reasons)


def test_a_known_bot_user_agent_alone_is_enough():
    assert crawler.score_client(views(1, ua="Googlebot/2.1"), crawler.UaMatcher()).bot
