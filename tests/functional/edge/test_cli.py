"""`stratus edge classify` and `stratus edge ua-check`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stratus.cli import main


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_classify_values_from_stdin():
    result = CliRunner().invoke(
        main, ["edge", "classify"], input="1' or '1'='1\nhello\n<svg onload=alert(1)>\n"
    )
    assert result.exit_code == 0, result.output
    out = lines(result.output)
    assert [o["action"] for o in out] == ["BLOCK", "ALLOW", "BLOCK"]
    assert out[0]["labels"] == ["sqli"]
    assert out[2]["labels"] == ["xss"]
    assert out[0]["rules"] == ["SqlInjection"]


def test_classify_a_header_field():
    result = CliRunner().invoke(
        main, ["edge", "classify", "--field", "header:User-Agent"], input="curl/8.0\n"
    )
    assert lines(result.output)[0]["labels"] == ["bot-ua"]


def test_classify_requests_from_a_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "method": "GET",
                    "uri": "/?q=%3Cscript%3E",
                    "headers": {"User-Agent": "Mozilla/5.0 (X11) Firefox/1"},
                },
                {
                    "method": "POST",
                    "uri": "/login",
                    "headers": {"User-Agent": "Mozilla/5.0 (X11) Firefox/1"},
                    "body": "u=admin%27--",
                },
                {
                    "method": "GET",
                    "uri": "/",
                    "headers": {"User-Agent": "Mozilla/5.0 (X11) Firefox/1"},
                },
            ]
        )
    )
    result = CliRunner().invoke(main, ["edge", "classify", "--requests", str(path)])
    assert [o["action"] for o in lines(result.output)] == ["BLOCK", "BLOCK", "ALLOW"]


def test_classify_with_other_rules_and_count(tmp_path):
    rules = tmp_path / "acl.json"
    rules.write_text(
        json.dumps(
            {
                "DefaultAction": {"Allow": {}},
                "Rules": [
                    {
                        "Name": "CountAdmin",
                        "Priority": 0,
                        "Action": {"Count": {}},
                        "RuleLabels": [{"Name": "admin"}],
                        "Statement": {
                            "ByteMatchStatement": {
                                "FieldToMatch": {"UriPath": {}},
                                "SearchString": "/admin",
                                "PositionalConstraint": "STARTS_WITH",
                                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                            }
                        },
                    }
                ],
            }
        )
    )
    result = CliRunner().invoke(
        main, ["edge", "classify", "--rules", str(rules), "--field", "uri"], input="admin/x\n"
    )
    assert lines(result.output)[0] == {
        "input": "admin/x",
        "action": "COUNT",
        "rules": ["CountAdmin"],
        "labels": ["admin"],
    }


def test_bad_rules_are_a_usage_error(tmp_path):
    rules = tmp_path / "acl.json"
    rules.write_text(
        json.dumps(
            {
                "DefaultAction": {"Allow": {}},
                "Rules": [
                    {
                        "Name": "x",
                        "Priority": 0,
                        "Action": {"Block": {}},
                        "Statement": {"GeoMatchStatement": {}},
                    }
                ],
            }
        )
    )
    result = CliRunner().invoke(main, ["edge", "classify", "--rules", str(rules)], input="x\n")
    assert result.exit_code == 2
    assert "not supported" in result.output


def test_ua_check():
    result = CliRunner().invoke(
        main,
        ["edge", "ua-check"],
        input=(
            "Googlebot/2.1 (+http://www.google.com/bot.html)\n"
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Safari/537.36\n"
        ),
    )
    out = lines(result.output)
    assert out[0]["bot"] is True
    assert out[0]["pattern"]
    assert out[1] == {"user_agent": out[1]["user_agent"], "bot": False, "pattern": None}


def test_invalid_utf8_on_stdin_is_not_fatal():
    result = CliRunner().invoke(main, ["edge", "ua-check"], input=b"\xff\xfebot\n")
    assert result.exit_code == 0
    assert lines(result.output)[0]["bot"] is True
