"""Edge detection figures on ../shared/data/waf, and the rate limiter on a fake clock.

Detector (tokenizer + rules, see docs/solutions/edge.md) against the issue's targets, and as
the named baseline in the same run a naive keyword matcher (the kind of substring rule list a
first WAF often starts with), so the ratio shows what the tokenizer buys on the benign sets.
Rate limiting: a client at 0.9x the limit for ten windows is never blocked; at 2x no trailing
window ever admits more than the limit. Bounded: about 30 s.

    .venv/bin/python benchmarks/edge_detection.py
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.edge import evaluation as ev
from stratus.solutions.edge.domain.waf import RateLimiter, WafRequest, parse_web_acl

WAF = Path(__file__).resolve().parents[2] / "shared" / "data" / "waf"
NAIVE_SQLI = re.compile(r"'|--|\b(?:union|select|or|and|sleep|drop)\b", re.IGNORECASE)
NAIVE_XSS = re.compile(r"<|>|script|javascript|onerror|onload", re.IGNORECASE)


def naive(values: list[str], pattern: re.Pattern[str]) -> ev.Rate:
    return ev.Rate(sum(bool(pattern.search(v)) for v in values), len(values))


def line(name: str, rate: ev.Rate, target: str, baseline: ev.Rate | None = None) -> None:
    extra = f"   naive keywords: {baseline}" if baseline is not None else ""
    print(f"{name:<42} {rate!s:<24} target {target}{extra}")


def rate_limiting() -> None:
    acl = parse_web_acl(
        {
            "DefaultAction": {"Allow": {}},
            "Rules": [
                {
                    "Name": "rate",
                    "Priority": 0,
                    "Action": {"Block": {}},
                    "Statement": {
                        "RateBasedStatement": {
                            "Limit": 100,
                            "EvaluationWindowSec": 60,
                            "AggregateKeyType": "IP",
                        }
                    },
                }
            ],
        }
    )

    class NoSets:
        def ip_set(self, arn: str) -> list[str]:
            return []

        def regex_set(self, arn: str) -> None:
            return None

    for factor in (0.9, 2.0):
        clock = FakeClock()
        limiter = RateLimiter(clock)
        per_window = int(100 * factor)
        admitted: list[float] = []
        blocked = 0
        for _ in range(per_window * 10):
            verdict = acl.evaluate(
                WafRequest("GET", "/", "", (), b"", "192.0.2.1"), NoSets(), limiter
            )
            if verdict.blocked:
                blocked += 1
            else:
                admitted.append(clock.now().timestamp())
            clock.advance(60 / per_window)
        worst, j = 0, 0
        for i, t in enumerate(admitted):
            while admitted[j] <= t - 60:
                j += 1
            worst = max(worst, i - j + 1)
        print(
            f"rate limit 100/60 s at {factor:.1f}x: blocked {blocked} of {per_window * 10}, "
            f"most admitted in any 60 s window: {worst} (limit 100)"
        )


def main() -> None:
    if not WAF.is_dir():
        sys.exit(f"{WAF} is absent")
    started = time.perf_counter()
    sqli_attacks, xss_attacks = ev.httpparams(WAF, "sqli"), ev.httpparams(WAF, "xss")
    benign = ev.httpparams(WAF, "norm")
    lib_sqli, hard = ev.libinjection(WAF, "sqli-"), ev.libinjection(WAF, "false_positives")
    line(
        "HttpParams SQLi detected",
        ev.sqli_rate(sqli_attacks),
        ">= 97%",
        naive(sqli_attacks, NAIVE_SQLI),
    )
    line(
        "HttpParams XSS detected", ev.xss_rate(xss_attacks), ">= 90%", naive(xss_attacks, NAIVE_XSS)
    )
    line(
        "libinjection SQLi detected", ev.sqli_rate(lib_sqli), ">= 95%", naive(lib_sqli, NAIVE_SQLI)
    )
    line("libinjection XSS detected", ev.xss_rate(ev.libinjection(WAF, "xss-")), "-")
    line(
        "HttpParams benign flagged as SQLi",
        ev.sqli_rate(benign),
        "<= 0.1%",
        naive(benign, NAIVE_SQLI),
    )
    line(
        "HttpParams benign flagged as XSS", ev.xss_rate(benign), "<= 0.1%", naive(benign, NAIVE_XSS)
    )
    line(
        "libinjection false_positives as SQLi", ev.sqli_rate(hard), "<= 5%", naive(hard, NAIVE_SQLI)
    )
    for corpus, values, target in (
        ("HttpParams benign", benign, "<= 0.1%"),
        ("false_pos", hard, "<= 5%"),
    ):
        for name, rate in ev.webacl_rates(values).items():
            line(f"{corpus} as {name} (whole WebACL)", rate, target)
    for name, rate in ev.crs_rates(WAF).items():
        line(f"CRS {name} (through the WebACL)", rate, ">= 60%" if "must-fire" in name else "-")
    line("crawler-user-agents instances matched", ev.ua_rate(ev.crawler_instances(WAF)), ">= 95%")
    browsers = ev.browser_sample()
    if browsers is not None:
        line("browser UA sample flagged (fake-useragent)", ev.ua_rate(browsers), "<= 0.3%")
    rate_limiting()
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
