"""The template's regex shape sets (SqlShapePatternSet, ScriptShapePatternSet) and the body
values the detectors read one by one: AWS quotas, the WAFv2 model, what each shape catches and
leaves alone, and no catastrophic backtracking on hostile 16 KiB inputs."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge.domain.crawler import UaMatcher
from stratus.solutions.edge.domain.waf import BODY_LIMIT, RateLimiter, WafRequest, parse_web_acl

SHAPE_SETS = ("SqlShapePatternSet", "ScriptShapePatternSet")
BROWSER = ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")


@pytest.fixture(scope="module")
def template_acl() -> Any:
    cfg = edgeconfig.load()
    acl = parse_web_acl(cfg.web_acl)
    matchers = {name: UaMatcher(p) for name, p in cfg.regex_sets.items()}

    class Sets:
        def ip_set(self, arn: str) -> Any:
            return cfg.ip_sets.get(arn, ())

        def regex_set(self, arn: str) -> Any:
            return matchers[arn].pattern if arn in matchers else None

    counter = iter(range(1_000_000))

    def check(
        query: str = "", body: bytes = b"", path: str = "/search", content_type: str = ""
    ) -> tuple[frozenset[str], str | None]:
        i = next(counter)
        headers = (BROWSER, ("Content-Type", content_type)) if content_type else (BROWSER,)
        request = WafRequest(
            "POST" if body else "GET", path, query, headers, body, f"10.9.{i >> 8 & 255}.{i & 255}"
        )
        verdict = acl.evaluate(request, Sets(), RateLimiter(FakeClock()))
        return verdict.labels, verdict.terminating_rule

    return check


@pytest.mark.parametrize("name", SHAPE_SETS)
def test_shape_sets_respect_the_aws_quotas_and_the_regex_dialect(name):
    patterns = edgeconfig.load().regex_sets[name]
    assert 1 <= len(patterns) <= 10  # AWS: 10 regexes per set
    for pattern in patterns:
        assert len(pattern) <= 200  # AWS: 200 characters per regex
        for lookaround in ("(?=", "(?!", "(?<"):  # AWS WAF's regex engine has none
            assert lookaround not in pattern
        re.compile(pattern)


@pytest.mark.parametrize("name", SHAPE_SETS)
def test_shape_sets_validate_against_the_wafv2_api_model(name):
    botocore = pytest.importorskip("botocore.session")
    from botocore.validate import ParamValidator

    shape = (
        botocore.get_session()
        .get_service_model("wafv2")
        .operation_model("CreateRegexPatternSet")
        .input_shape
    )
    params = {
        "Name": name,
        "Scope": "CLOUDFRONT",
        "RegularExpressionList": [{"RegexString": p} for p in edgeconfig.load().regex_sets[name]],
    }
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize(
    "value",
    [
        "pay=AND 7639=(",  # chained logic operator + comparison
        "x=|| langCode == '",
        "u_id[$ne]=2",  # NoSQL operator injection (query argument name)
        "id=OR '{\"b\":2}'::jsonb <@ '{\"a\":1}'::jsonb",  # PostgreSQL JSON operators
        "q=') AS orders FROM",
        "q=information_schema",
        "q=exec master.",
        "q=x'-email--",  # break-out, operator, comment
        "q=\\'or'1",  # escaped quote
        "q=;SET @OLD_SQL_MODE",
        "q=when 234 then",
        "q=coalesce (",
        "q=exec%2520master.",  # double URL encoding: '%2520' is a space
    ],
)
def test_sql_shapes_flag(template_acl, value):
    name, _, rest = value.partition("=")
    labels, _ = template_acl(query=f"{name}={quote(rest, safe='%')}")
    assert "sqli" in labels


@pytest.mark.parametrize(
    "value",
    [
        '<!DOCTYPE r [<!ENTITY % x SYSTEM "http://example.com/">]>',  # external entity
        "document /*c*/ . cookie",  # sink through a JS comment
        'self["alert"](1)',
        "[].sort.call`${alert}1`",  # tagged template call
        "(![]+[])[+!+[]]",  # JSFuck
        "new Function('x')()",
        "x:url(javascript",
        "%2BADw-script%2BAD4-",  # UTF-7
    ],
)
def test_script_shapes_flag(template_acl, value):
    labels, _ = template_acl(query="q=" + quote(value, safe="%"))
    assert "xss" in labels


@pytest.mark.parametrize(
    "value",
    [
        "tea or coffee",
        "rock and roll",
        "Tom & Jerry || friends",
        "it's 'A' or 'B' -- pick one",
        "known as Bob from accounting",
        "order by date",
        "the table is in the database",
        "convert (0.46 miles)",
        "Counting (slowly)",
        "5685587||ORDER=||SECTION_ID=||PAGE=2",
        "DRESS WITH HAT 18';",
        "1 collate these union documents",
        "document the window",
        "call me at 5",
        "https://example.com/a?b=c&d=e",
        "$10 [$5 off]",
    ],
)
def test_shapes_leave_ordinary_values_alone(template_acl, value):
    for labels, _ in (
        template_acl(query="q=" + quote(value, safe="")),
        template_acl(
            body=("q=" + quote_plus(value)).encode(),
            content_type="application/x-www-form-urlencoded",
        ),
    ):
        assert not labels & {"sqli", "xss"}, value


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"user": {"$where": "1"}}', "application/json"),
        (b'{ "in (0,1)": "x", "v": ["1\' or 1=1--"] }', "application/json"),
        (b'<?xml version="1.0"?><a probe="1\' union select 1--"/>', "application/xml"),
        (b"<r><q>1' union select password from users--</q></r>", "application/xml"),
        (b"q=1%27+union+select+1--", "application/x-www-form-urlencoded"),
    ],
)
def test_json_xml_and_form_bodies_are_read_value_by_value(template_acl, body, content_type):
    labels, _ = template_acl(body=body, content_type=content_type)
    assert "sqli" in labels


def test_a_malformed_json_or_xml_body_does_not_crash(template_acl):
    for body in (b'{"a": ', b"<a b='", b"[" * 5000, b"<" * 5000, b"\xff\xfe{"):
        template_acl(body=body)


@pytest.mark.parametrize(
    "hostile",
    [
        "a'or'" * 3000,
        "window" + "/**/" * 4000,
        "'{" * 8000,
        "' " * 8000,
        "(" * 16000,
        "and " * 4000,
        "\\'" * 8000,
        "self" + ")" * 16000,
        "'[" + "'" * 16000,
    ],
)
def test_shape_sets_do_not_backtrack_catastrophically(hostile):
    cfg = edgeconfig.load()
    text = hostile[:BODY_LIMIT]
    for name in SHAPE_SETS:
        pattern = UaMatcher(cfg.regex_sets[name]).pattern
        assert pattern is not None
        started = time.perf_counter()
        pattern.search(text)
        assert time.perf_counter() - started < 0.5, (name, hostile[:12])
