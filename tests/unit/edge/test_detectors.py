"""The SQLi and XSS detectors: tokenizer, each rule, and natural text left alone."""

from __future__ import annotations

import pytest

from stratus.solutions.edge.domain import sqli, xss


def test_the_tokenizer_types_sql():
    kinds = "".join(t.kind for t in sqli.tokenize("1' UNION SELECT @@version, 0x41 -- x", "'"))
    assert kinds == "sUEv,nc"


def test_a_quote_context_starts_inside_a_string():
    tokens = sqli.tokenize("abc' or 1=1", "'")
    assert tokens[0].kind == "s"
    assert tokens[0].text == "abc"
    assert tokens[0].closed


def test_mysql_executable_comments_are_evil_tokens():
    assert sqli.tokenize("/*!50000select*/")[0].kind == "X"


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ("1 union all select 1,2,3", "union-select"),
        ("1; drop table users", "stacked-statement"),
        ("sleep(5)#", "dangerous-function"),
        ("1'; waitfor delay '0:0:5'--", "stacked-statement"),
        ("x' or 'a'='a", "boolean-after-breakout"),
        ("1 or 1=1", "boolean-after-breakout"),
        ("1) where 1=1", "where-condition"),
        ("(select password from users)", "subquery"),
        ("admin'--", "breakout-comment"),
        ("/*!union*/", "mysql-executable-comment"),
        ("1' order by 3--", "order-by-column"),
        ("iif(1=1,1,1/0)", "condition-in-parentheses"),
        ("1,(case when 1=1 then 1 else 0 end)", "case-when"),
        ("username'exec master..xp_cmdshell 'dir'", "breakout-statement"),
        ("x' into outfile '/tmp/x", "into-outfile"),
    ],
)
def test_each_sqli_rule_fires(payload, rule):
    finding = sqli.detect(payload, "HIGH")
    assert finding is not None
    assert finding.rule == rule


@pytest.mark.parametrize(
    "text",
    [
        "O'Brien",
        "rock 'n' roll",
        "2 or 4 metal buttons",
        "select your size",
        "1/26/11",
        "where is george",
        "I like having true friends",
        "c/ caridad s/n",
        "DAD AND MOM",
        "a - b",
    ],
)
def test_natural_text_is_not_sqli(text):
    assert sqli.detect(text, "HIGH") is None


def test_low_sensitivity_keeps_only_the_strong_rules():
    assert sqli.detect("admin'--", "LOW") is None
    assert sqli.detect("1 union select 1", "LOW") is not None


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ("<script>alert(1)</script>", "dangerous-tag"),
        ("<img src=x onerror=alert(1)>", "event-handler"),
        ("<a href='javascript:alert(1)'>x</a>", "script-url-in-tag"),
        ('<a href="http://evil.example/">x</a>', "html-injection"),
        ('" onmouseover="alert(1)', "attribute-breakout"),
        ("java\tscript:alert(1)", "script-url"),
        ("';alert(String.fromCharCode(88))//", "javascript-sink"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "dangerous-tag"),
        ("<x onxxx=1", "event-handler"),
    ],
)
def test_each_xss_rule_fires(payload, rule):
    finding = xss.detect(payload)
    assert finding is not None
    assert finding.rule == rule


@pytest.mark.parametrize(
    "text",
    [
        "a < b and c > d",
        "<3 you",
        "x@example.com",
        'BLAH <A HREF="/PATH">FOO</A>',
        "one=two",
        "onion=1",
        "the script was fine",
    ],
)
def test_ordinary_text_is_not_xss(text):
    assert xss.detect(text) is None
