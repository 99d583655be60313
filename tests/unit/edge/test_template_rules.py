"""The template's WebACL is what the local engine runs, and it is valid WAFv2 JSON."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge.domain.crawler import KNOWN_BOT_PATTERNS
from stratus.solutions.edge.domain.waf import parse_web_acl


def _api_shape(value: Any) -> Any:
    """CloudFormation → CreateWebACL: ``Arn`` is ``ARN``; empty objects stay objects."""
    if isinstance(value, list):
        return [_api_shape(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "Arn":
                out["ARN"] = f"arn:aws:wafv2:us-east-1:123456789012:global/ipset/{item}/1111"
            else:
                out[key] = _api_shape(item)
        return out
    return value


def test_the_template_webacl_validates_against_the_wafv2_api_model():
    botocore = pytest.importorskip("botocore.session")
    from botocore.validate import ParamValidator

    session = botocore.get_session()
    model = session.get_service_model("wafv2")
    shape = model.operation_model("CreateWebACL").input_shape
    acl = _api_shape(copy.deepcopy(dict(edgeconfig.load().web_acl)))
    for rule in acl["Rules"]:
        statement = rule["Statement"]
        rate = statement.get("RateBasedStatement")
        if rate:
            rate["Limit"] = int(rate["Limit"])
            rate["EvaluationWindowSec"] = int(rate["EvaluationWindowSec"])
    report = ParamValidator().validate(acl, shape)
    assert not report.has_errors(), report.generate_report()


def test_the_engine_parses_every_rule_of_the_template():
    acl = parse_web_acl(edgeconfig.load().web_acl)
    assert [r.name for r in acl.rules] == [
        "BlockedAddresses",
        "BotUserAgents",
        "RatePerClient",
        "SqlInjection",
        "SqlInjectionShapes",
        "CrossSiteScripting",
        "CrossSiteScriptingShapes",
        "OversizeBody",
    ]


def test_the_known_bot_set_of_the_template_is_the_domain_list():
    assert edgeconfig.load().regex_sets["KnownBotPatternSet"] == KNOWN_BOT_PATTERNS


def test_parameters_reach_the_rules():
    acl = edgeconfig.load(parameters={"RateLimit": "50"}).web_acl
    rate = next(r for r in acl["Rules"] if r["Name"] == "RatePerClient")
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == "50"


def test_cache_behaviours_come_from_the_distribution():
    cfg = edgeconfig.load()
    static = cfg.behaviour("/static/app.js")
    dynamic = cfg.behaviour("/api/x")
    assert (static.origin, static.authorize, static.policy.default_ttl) == ("static", True, 86400)
    assert (dynamic.origin, dynamic.authorize, dynamic.policy.default_ttl) == ("dynamic", False, 0)
    assert "POST" in dynamic.methods
    assert "POST" not in static.methods
