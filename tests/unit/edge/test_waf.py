"""The WAFv2 engine: every statement type, field, action, and rate-based windows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.edge.domain.waf import (
    BODY_LIMIT,
    RateLimiter,
    WafRequest,
    WebAclError,
    parse_web_acl,
)

NONE = [{"Priority": 0, "Type": "NONE"}]
URL = [{"Priority": 0, "Type": "URL_DECODE"}]


class Sets:
    def __init__(
        self, ips: dict[str, list[str]] | None = None, regex: dict[str, list[str]] | None = None
    ):
        self.ips = ips or {}
        self.regex = regex or {}

    def ip_set(self, arn: str) -> list[str]:
        return self.ips.get(arn, [])

    def regex_set(self, arn: str) -> re.Pattern[str] | None:
        patterns = self.regex.get(arn)
        return re.compile("|".join(patterns)) if patterns else None


def acl(*statements: dict[str, Any], action: str = "Block", default: str = "Allow") -> Any:
    rules = [
        {
            "Name": f"r{i}",
            "Priority": i,
            "Action": {action: {}},
            "Statement": s,
            "RuleLabels": [{"Name": f"label{i}"}],
            "VisibilityConfig": {
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": f"r{i}",
            },
        }
        for i, s in enumerate(statements)
    ]
    return parse_web_acl({"Name": "t", "DefaultAction": {default: {}}, "Rules": rules})


def run(
    web_acl: Any, request: WafRequest, sets: Sets | None = None, clock: FakeClock | None = None
) -> Any:
    return web_acl.evaluate(request, sets or Sets(), RateLimiter(clock or FakeClock()))


def req(
    path: str = "/",
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    ip: str = "203.0.113.9",
    method: str = "GET",
) -> WafRequest:
    return WafRequest(method, path, query, headers, body, ip)


def byte(
    field: dict[str, Any], search: str, position: str = "CONTAINS", tt: list[Any] = NONE
) -> dict[str, Any]:
    return {
        "ByteMatchStatement": {
            "FieldToMatch": field,
            "SearchString": search,
            "PositionalConstraint": position,
            "TextTransformations": tt,
        }
    }


# -- fields ---------------------------------------------------------------------------------


def test_uri_path_is_inspected_raw_unless_url_decoded():
    raw = acl(byte({"UriPath": {}}, "/a b"))
    decoded = acl(byte({"UriPath": {}}, "/a b", tt=URL))
    assert not run(raw, req("/a%20b")).blocked
    assert run(decoded, req("/a%20b")).blocked


def test_query_string_is_the_whole_raw_query():
    assert run(acl(byte({"QueryString": {}}, "x=1&y")), req(query="x=1&y=2")).blocked


def test_single_query_argument_matches_only_the_named_argument():
    rule = acl(byte({"SingleQueryArgument": {"Name": "id"}}, "evil"))
    assert run(rule, req(query="id=evil")).blocked
    assert not run(rule, req(query="other=evil")).blocked


def test_all_query_arguments_inspects_every_value():
    rule = acl(byte({"AllQueryArguments": {}}, "evil"))
    assert run(rule, req(query="a=1&b=evil")).blocked
    assert not run(rule, req(query="evil=1")).blocked


def test_single_header_is_case_insensitive():
    rule = acl(byte({"SingleHeader": {"Name": "x-test"}}, "bad"))
    assert run(rule, req(headers=(("X-Test", "bad"),))).blocked


def test_cookies_can_be_inspected_by_value_or_key():
    by_value = acl(
        byte(
            {
                "Cookies": {
                    "MatchPattern": {"All": {}},
                    "MatchScope": "VALUE",
                    "OversizeHandling": "CONTINUE",
                }
            },
            "bad",
        )
    )
    by_key = acl(
        byte(
            {
                "Cookies": {
                    "MatchPattern": {"All": {}},
                    "MatchScope": "KEY",
                    "OversizeHandling": "CONTINUE",
                }
            },
            "bad",
        )
    )
    cookie = (("Cookie", "session=1; bad=2"),)
    assert not run(by_value, req(headers=cookie)).blocked
    assert run(by_key, req(headers=cookie)).blocked


def test_included_cookies_limit_what_is_inspected():
    rule = acl(
        byte(
            {
                "Cookies": {
                    "MatchPattern": {"IncludedCookies": ["a"]},
                    "MatchScope": "VALUE",
                    "OversizeHandling": "CONTINUE",
                }
            },
            "bad",
        )
    )
    assert not run(rule, req(headers=(("Cookie", "b=bad"),))).blocked
    assert run(rule, req(headers=(("Cookie", "a=bad"),))).blocked


@pytest.mark.parametrize(
    ("handling", "blocked"), [("CONTINUE", False), ("MATCH", True), ("NO_MATCH", False)]
)
def test_body_oversize_handling(handling, blocked):
    rule = acl(byte({"Body": {"OversizeHandling": handling}}, "needle"))
    body = b"a" * BODY_LIMIT + b"needle"
    assert run(rule, req(body=body, method="POST")).blocked is blocked


def test_body_within_the_limit_is_inspected():
    rule = acl(byte({"Body": {"OversizeHandling": "CONTINUE"}}, "needle"))
    assert run(rule, req(body=b"xx needle", method="POST")).blocked


def test_method_field():
    assert run(acl(byte({"Method": {}}, "DELETE", "EXACTLY")), req(method="DELETE")).blocked


# -- statements -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "value", "matches"),
    [
        ("EXACTLY", "abc", True),
        ("EXACTLY", "abcd", False),
        ("STARTS_WITH", "abcd", True),
        ("ENDS_WITH", "zabc", True),
        ("CONTAINS", "xabcx", True),
        ("CONTAINS_WORD", "x abc y", True),
        ("CONTAINS_WORD", "xabcy", False),
    ],
)
def test_byte_match_positions(position, value, matches):
    rule = acl(byte({"SingleHeader": {"Name": "v"}}, "abc", position))
    assert run(rule, req(headers=(("v", value),))).blocked is matches


def test_sqli_match_with_sensitivity():
    low = acl(
        {
            "SqliMatchStatement": {
                "FieldToMatch": {"AllQueryArguments": {}},
                "TextTransformations": URL,
                "SensitivityLevel": "LOW",
            }
        }
    )
    high = acl(
        {
            "SqliMatchStatement": {
                "FieldToMatch": {"AllQueryArguments": {}},
                "TextTransformations": URL,
                "SensitivityLevel": "HIGH",
            }
        }
    )
    attack = "id=1%27%20union%20select%20password%20from%20users--"
    assert run(low, req(query=attack)).blocked
    weak = "id=admin%27--"  # a break-out then a comment: HIGH only
    assert run(high, req(query=weak)).blocked
    assert not run(low, req(query=weak)).blocked
    assert not run(high, req(query="id=O%27Brien")).blocked


def test_xss_match():
    rule = acl(
        {
            "XssMatchStatement": {
                "FieldToMatch": {"AllQueryArguments": {}},
                "TextTransformations": URL,
            }
        }
    )
    assert run(rule, req(query="q=%3Cscript%3Ealert(1)%3C/script%3E")).blocked
    assert not run(rule, req(query="q=a%20%3C%20b")).blocked


def test_regex_match():
    rule = acl(
        {
            "RegexMatchStatement": {
                "RegexString": "^/admin",
                "FieldToMatch": {"UriPath": {}},
                "TextTransformations": NONE,
            }
        }
    )
    assert run(rule, req("/admin/x")).blocked
    assert not run(rule, req("/x/admin")).blocked


def test_regex_pattern_set_reference_reads_the_live_set():
    rule = acl(
        {
            "RegexPatternSetReferenceStatement": {
                "Arn": "Bots",
                "FieldToMatch": {"SingleHeader": {"Name": "user-agent"}},
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
            }
        }
    )
    request = req(headers=(("User-Agent", "EvilBot/1.0"),))
    assert not run(rule, request, Sets(regex={})).blocked
    assert run(rule, request, Sets(regex={"Bots": ["evilbot"]})).blocked


def test_ip_set_reference_with_cidrs():
    rule = acl({"IPSetReferenceStatement": {"Arn": "Deny"}})
    sets = Sets(ips={"Deny": ["192.0.2.0/24", "2001:db8::/32"]})
    assert run(rule, req(ip="192.0.2.77"), sets).blocked
    assert run(rule, req(ip="2001:db8::1"), sets).blocked
    assert not run(rule, req(ip="198.51.100.1"), sets).blocked


def test_ip_set_reference_with_forwarded_ip_and_fallback():
    rule = acl(
        {
            "IPSetReferenceStatement": {
                "ARN": "Deny",
                "IPSetForwardedIPConfig": {
                    "HeaderName": "X-Forwarded-For",
                    "FallbackBehavior": "MATCH",
                    "Position": "FIRST",
                },
            }
        }
    )
    sets = Sets(ips={"Deny": ["192.0.2.0/24"]})
    assert run(rule, req(headers=(("X-Forwarded-For", "192.0.2.5, 10.0.0.1"),)), sets).blocked
    assert not run(rule, req(headers=(("X-Forwarded-For", "10.0.0.1, 192.0.2.5"),)), sets).blocked
    assert run(rule, req(), sets).blocked  # no header: the fallback says MATCH
    assert run(rule, req(headers=(("X-Forwarded-For", "garbage"),)), sets).blocked


def test_size_constraint():
    rule = acl(
        {
            "SizeConstraintStatement": {
                "FieldToMatch": {"QueryString": {}},
                "ComparisonOperator": "GT",
                "Size": 5,
                "TextTransformations": NONE,
            }
        }
    )
    assert run(rule, req(query="abcdef")).blocked
    assert not run(rule, req(query="abc")).blocked


def test_and_or_not():
    a = byte({"SingleHeader": {"Name": "a"}}, "1")
    b = byte({"SingleHeader": {"Name": "b"}}, "1")
    both = acl({"AndStatement": {"Statements": [a, b]}})
    either = acl({"OrStatement": {"Statements": [a, b]}})
    neither = acl({"NotStatement": {"Statement": {"OrStatement": {"Statements": [a, b]}}}})
    only_a = req(headers=(("a", "1"),))
    assert not run(both, only_a).blocked
    assert run(either, only_a).blocked
    assert not run(neither, only_a).blocked
    assert run(neither, req()).blocked


def test_label_match_sees_labels_of_earlier_rules():
    first = byte({"SingleHeader": {"Name": "a"}}, "1")
    web_acl = parse_web_acl(
        {
            "DefaultAction": {"Allow": {}},
            "Rules": [
                {
                    "Name": "tag",
                    "Priority": 0,
                    "Action": {"Count": {}},
                    "Statement": first,
                    "RuleLabels": [{"Name": "tagged"}],
                },
                {
                    "Name": "block",
                    "Priority": 1,
                    "Action": {"Block": {}},
                    "Statement": {"LabelMatchStatement": {"Scope": "LABEL", "Key": "tagged"}},
                },
            ],
        }
    )
    verdict = run(web_acl, req(headers=(("a", "1"),)))
    assert verdict.blocked
    assert [m.name for m in verdict.matches] == ["tag", "block"]


# -- actions --------------------------------------------------------------------------------


def test_count_goes_on_and_the_default_action_applies():
    verdict = run(acl(byte({"UriPath": {}}, "/"), action="Count"), req("/x"))
    assert verdict.action == "ALLOW"
    assert [(m.name, m.action) for m in verdict.matches] == [("r0", "COUNT")]
    assert verdict.labels == {"label0"}


def test_allow_terminates_before_a_later_block():
    web_acl = parse_web_acl(
        {
            "DefaultAction": {"Block": {}},
            "Rules": [
                {
                    "Name": "allow",
                    "Priority": 5,
                    "Action": {"Allow": {}},
                    "Statement": byte({"UriPath": {}}, "/ok"),
                },
                {
                    "Name": "block",
                    "Priority": 9,
                    "Action": {"Block": {}},
                    "Statement": byte({"UriPath": {}}, "/"),
                },
            ],
        }
    )
    assert run(web_acl, req("/ok")).action == "ALLOW"
    assert run(web_acl, req("/other")).action == "BLOCK"


def test_rules_run_in_priority_order_not_list_order():
    web_acl = parse_web_acl(
        {
            "DefaultAction": {"Allow": {}},
            "Rules": [
                {
                    "Name": "late",
                    "Priority": 9,
                    "Action": {"Block": {}},
                    "Statement": byte({"UriPath": {}}, "/"),
                },
                {
                    "Name": "early",
                    "Priority": 1,
                    "Action": {"Allow": {}},
                    "Statement": byte({"UriPath": {}}, "/"),
                },
            ],
        }
    )
    assert run(web_acl, req("/")).terminating_rule == "early"


def test_a_custom_block_response_code():
    web_acl = parse_web_acl(
        {
            "DefaultAction": {"Allow": {}},
            "Rules": [
                {
                    "Name": "b",
                    "Priority": 0,
                    "Action": {"Block": {"CustomResponse": {"ResponseCode": 429}}},
                    "Statement": byte({"UriPath": {}}, "/"),
                }
            ],
        }
    )
    assert run(web_acl, req("/")).status == 429


# -- rate-based -----------------------------------------------------------------------------


def rate_acl(limit: int = 10, window: int = 60, **extra: Any) -> Any:
    return acl(
        {
            "RateBasedStatement": {
                "Limit": limit,
                "EvaluationWindowSec": window,
                "AggregateKeyType": "IP",
                **extra,
            }
        }
    )


@pytest.mark.parametrize("window", [60, 120, 300, 600])
def test_rate_based_blocks_over_the_limit_within_each_window(window):
    clock = FakeClock()
    web_acl, limiter = rate_acl(10, window), RateLimiter(clock)
    results = [web_acl.evaluate(req(), Sets(), limiter).blocked for _ in range(11)]
    assert results == [False] * 10 + [True]
    clock.advance(window + 1)
    assert not web_acl.evaluate(req(), Sets(), limiter).blocked


def test_rate_based_counts_each_address_separately():
    clock = FakeClock()
    web_acl, limiter = rate_acl(10), RateLimiter(clock)
    for _ in range(10):
        web_acl.evaluate(req(ip="192.0.2.1"), Sets(), limiter)
    assert web_acl.evaluate(req(ip="192.0.2.1"), Sets(), limiter).blocked
    assert not web_acl.evaluate(req(ip="192.0.2.2"), Sets(), limiter).blocked


def test_rate_based_with_a_scope_down_statement_only_counts_matching_requests():
    clock = FakeClock()
    web_acl = rate_acl(10, ScopeDownStatement=byte({"UriPath": {}}, "/login", "STARTS_WITH"))
    limiter = RateLimiter(clock)
    for _ in range(20):
        assert not web_acl.evaluate(req("/home"), Sets(), limiter).blocked
    for _ in range(10):
        web_acl.evaluate(req("/login"), Sets(), limiter)
    assert web_acl.evaluate(req("/login"), Sets(), limiter).blocked


def test_rate_based_keyed_by_forwarded_ip():
    clock = FakeClock()
    web_acl = rate_acl(
        10,
        AggregateKeyType="FORWARDED_IP",
        ForwardedIPConfig={"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"},
    )
    limiter = RateLimiter(clock)
    for i in range(10):
        web_acl.evaluate(
            req(headers=(("X-Forwarded-For", "198.51.100.1"),), ip=f"10.0.0.{i}"), Sets(), limiter
        )
    assert web_acl.evaluate(
        req(headers=(("X-Forwarded-For", "198.51.100.1"),)), Sets(), limiter
    ).blocked
    assert not web_acl.evaluate(
        req(headers=(("X-Forwarded-For", "198.51.100.2"),)), Sets(), limiter
    ).blocked
    assert not web_acl.evaluate(req(), Sets(), limiter).blocked  # no header: NO_MATCH


def test_no_block_at_nine_tenths_of_the_limit_over_many_windows():
    clock = FakeClock()
    web_acl, limiter = rate_acl(100, 60), RateLimiter(clock)
    blocked = 0
    for _ in range(900):  # 90 requests per 60 s, for 10 minutes
        blocked += web_acl.evaluate(req(), Sets(), limiter).blocked
        clock.advance(60 / 90)
    assert blocked == 0


def test_at_twice_the_limit_never_more_than_the_limit_is_admitted_per_window():
    clock = FakeClock()
    web_acl, limiter = rate_acl(100, 60), RateLimiter(clock)
    admitted: list[float] = []
    for _ in range(2000):  # 200 per 60 s
        if not web_acl.evaluate(req(), Sets(), limiter).blocked:
            admitted.append(clock.now().timestamp())
        clock.advance(60 / 200)
    j = 0
    for i, t in enumerate(admitted):  # every trailing 60 s window
        while admitted[j] <= t - 60:
            j += 1
        assert i - j + 1 <= 100


# -- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"GeoMatchStatement": {"CountryCodes": ["FR"]}}, "not supported"),
        (
            {
                "RateBasedStatement": {
                    "Limit": 5,
                    "EvaluationWindowSec": 60,
                    "AggregateKeyType": "IP",
                }
            },
            "at least 10",
        ),
        (
            {
                "RateBasedStatement": {
                    "Limit": 50,
                    "EvaluationWindowSec": 30,
                    "AggregateKeyType": "IP",
                }
            },
            "EvaluationWindowSec",
        ),
        (
            {
                "ByteMatchStatement": {
                    "FieldToMatch": {"UriPath": {}},
                    "SearchString": "a",
                    "PositionalConstraint": "NEAR",
                    "TextTransformations": NONE,
                }
            },
            "PositionalConstraint",
        ),
        (
            {
                "XssMatchStatement": {
                    "FieldToMatch": {"UriPath": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "ROT13"}],
                }
            },
            "ROT13",
        ),
        ({"AndStatement": {"Statements": [{"LabelMatchStatement": {"Key": "a"}}]}}, "at least two"),
    ],
)
def test_unsupported_or_invalid_rules_are_refused_with_their_path(statement, message):
    with pytest.raises(WebAclError, match=message) as err:
        acl(statement)
    assert "Rules[0]" in str(err.value)


def test_duplicate_priorities_are_refused():
    rule = {
        "Name": "a",
        "Priority": 1,
        "Action": {"Block": {}},
        "Statement": byte({"UriPath": {}}, "/"),
    }
    with pytest.raises(WebAclError, match="duplicate Priority"):
        parse_web_acl({"DefaultAction": {"Allow": {}}, "Rules": [rule, {**rule, "Name": "b"}]})
