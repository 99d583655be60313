"""Detection and false-positive rates on the shared corpora (../shared/data/waf).

Thresholds are the figures measured when the detector was written (see docs/solutions/edge.md),
rounded down a little so an unrelated change does not flap them; a regression fails."""

from __future__ import annotations

import pytest

from stratus.solutions.edge import evaluation as ev

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def waf(shared_data):
    return shared_data / "waf"


def report(name: str, rate: ev.Rate) -> None:
    print(f"{name}: {rate}")


def test_httpparams_sqli_detection(waf):
    rate = ev.sqli_rate(ev.httpparams(waf, "sqli"))
    report("HttpParams SQLi", rate)
    assert rate.rate >= 0.99  # measured 99.93%; issue target 97%


def test_httpparams_xss_detection(waf):
    rate = ev.xss_rate(ev.httpparams(waf, "xss"))
    report("HttpParams XSS", rate)
    assert rate.rate >= 0.93  # measured 94.4%; issue target 90%


def test_libinjection_sqli_detection(waf):
    rate = ev.sqli_rate(ev.libinjection(waf, "sqli-"))
    report("libinjection SQLi", rate)
    assert rate.rate >= 0.96  # measured 96.9%; issue target 95%


def test_libinjection_xss_detection(waf):
    rate = ev.xss_rate(ev.libinjection(waf, "xss-"))
    report("libinjection XSS", rate)
    assert rate.rate >= 0.96  # measured 97.4%


def test_benign_httpparams_values_are_not_flagged(waf):
    benign = ev.httpparams(waf, "norm")
    sqli, xss = ev.sqli_rate(benign), ev.xss_rate(benign)
    report("HttpParams benign as SQLi", sqli)
    report("HttpParams benign as XSS", xss)
    assert sqli.rate <= 0.001
    assert xss.rate <= 0.001  # measured 0 of 12,870 each


def test_libinjection_false_positives(waf):
    hard = ev.libinjection(waf, "false_positives")
    sqli, xss = ev.sqli_rate(hard), ev.xss_rate(hard)
    report("libinjection false_positives as SQLi", sqli)
    report("libinjection false_positives as XSS", xss)
    assert sqli.rate <= 0.02  # measured 0.71% (3 of 421); issue target 5%
    assert xss.rate <= 0.01  # measured 0


def test_crawler_user_agent_instances_are_matched(waf):
    rate = ev.ua_rate(ev.crawler_instances(waf))
    report("crawler-user-agents instances", rate)
    assert rate.rate >= 0.96  # measured 96.8%; issue target 95%


def test_browser_user_agents_are_not_flagged():
    sample = ev.browser_sample()
    if sample is None:
        pytest.skip("fake-useragent (dev dependency) is not installed: no browser sample")
    rate = ev.ua_rate(sample)
    report("browser UA sample flagged", rate)
    assert rate.rate <= 0.003  # measured 0 of 6,936


def test_crs_regression_cases_through_the_webacl(waf):
    rates = ev.crs_rates(waf)
    for name, rate in rates.items():
        report(f"CRS {name}", rate)
    # measured 65.6% (SQLi, 570/868) and 68.1% (XSS, 141/207); issue target 60%.
    # Must-not-fire flagged: 6.7% (SQLi, 11/163) and 7.4% (XSS, 4/54).
    assert rates["sqli-must-fire"].rate >= 0.65
    assert rates["xss-must-fire"].rate >= 0.68
    assert rates["sqli-must-not-fire"].rate <= 0.07
    assert rates["xss-must-not-fire"].rate <= 0.08


def test_benign_values_through_the_whole_webacl(waf):
    """The false-positive figures of the WebACL (detectors *and* regex shape sets), each
    value sent as a query argument and as a form body."""
    benign = ev.webacl_rates(ev.httpparams(waf, "norm"))
    hard = ev.webacl_rates(ev.libinjection(waf, "false_positives"))
    for name, rate in benign.items():
        report(f"WebACL: HttpParams benign as {name}", rate)
    for name, rate in hard.items():
        report(f"WebACL: libinjection false_positives as {name}", rate)
    assert benign["sqli"].rate <= 0.001  # measured 0 of 12,870; issue target 0.1%
    assert benign["xss"].rate <= 0.001  # measured 0 of 12,870
    assert hard["sqli"].rate <= 0.02  # measured 1.43% (6 of 421); issue target 5%
    assert hard["xss"].rate <= 0.01  # measured 0
