"""Detection figures on the shared WAF corpora (``../shared/data/waf``), read in place.

Used by the corpus tests and ``benchmarks/edge_detection.py``; never copies a corpus. Each
function returns ``(hits, total)`` so callers report rates and can show misses.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge.domain import sqli, xss
from stratus.solutions.edge.domain.crawler import UaMatcher
from stratus.solutions.edge.domain.waf import RateLimiter, WafRequest, parse_web_acl

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@dataclass(frozen=True, slots=True)
class Rate:
    """``hits`` of ``total`` inputs were flagged."""

    hits: int
    total: int

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.hits}/{self.total} = {self.rate:.2%}"


def _count(values: Iterator[str] | list[str], flagged: Callable[[str], bool]) -> Rate:
    hits = total = 0
    for value in values:
        total += 1
        hits += bool(flagged(value))
    return Rate(hits, total)


def httpparams(waf: Path, label: str) -> list[str]:
    """HttpParams training values with ``attack_type`` = label (norm, sqli, xss, ...)."""
    with (waf / "httpparams" / "payload_train.csv").open(newline="", encoding="utf-8") as fh:
        return [row["payload"] for row in csv.DictReader(fh) if row["attack_type"] == label]


def libinjection(waf: Path, prefix: str) -> list[str]:
    """URL-decoded lines of libinjection-data files starting with ``prefix`` (``#`` skipped)."""
    values: list[str] = []
    decode = unquote if prefix.startswith("xss") else unquote_plus
    for path in sorted((waf / "libinjection-data").glob(f"{prefix}*.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line and not line.startswith("#"):
                values.append(decode(line))
    return values


def sqli_rate(values: list[str], sensitivity: sqli.Sensitivity = "HIGH") -> Rate:
    return _count(values, lambda v: sqli.is_sqli(v, sensitivity))


def xss_rate(values: list[str]) -> Rate:
    return _count(values, xss.is_xss)


def crawler_instances(waf: Path) -> list[str]:
    """Every example user agent of crawler-user-agents.json."""
    data = json.loads((waf / "crawler-user-agents" / "crawler-user-agents.json").read_text())
    return [ua for entry in data for ua in entry.get("instances", [])]


def browser_sample() -> list[str] | None:
    """Real browser user agents shipped by the fake-useragent package (None if missing)."""
    try:
        from importlib import resources

        text = (resources.files("fake_useragent") / "data" / "browsers.jsonl").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        return None
    return [json.loads(line)["useragent"] for line in text.splitlines() if line.strip()]


def ua_rate(agents: list[str]) -> Rate:
    matcher = UaMatcher()
    return _count(agents, lambda ua: matcher.check(ua).bot)


def crs_cases(waf: Path) -> list[dict[str, Any]]:
    """CRS regression cases of the SQLi (942) and XSS (941) rule files that carry a request."""
    cases = json.loads((waf / "crs_regression_tests.json").read_text(encoding="utf-8"))
    return [
        c
        for c in cases
        if ("941" in c["cat"] or "942" in c["cat"]) and (c.get("method") or c.get("uri"))
    ]


class _TemplateAcl:
    """The template's WebACL with its sets, evaluated on a fake clock; every request comes
    from its own address (else the rate rule would answer for a corpus)."""

    def __init__(self) -> None:
        from stratus.platform.adapters.local.clock import FakeClock

        cfg = edgeconfig.load()
        self.acl = parse_web_acl(cfg.web_acl)
        matchers = {name: UaMatcher(p) for name, p in cfg.regex_sets.items()}

        class Sets:
            def ip_set(self, arn: str) -> Any:
                return cfg.ip_sets.get(arn, ())

            def regex_set(self, arn: str) -> Any:
                return matchers[arn].pattern if arn in matchers else None

        self.sets = Sets()
        self.limiter = RateLimiter(FakeClock())
        self.count = 0

    def labels(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: tuple[tuple[str, str], ...] = (("User-Agent", BROWSER_UA),),
        body: bytes = b"",
    ) -> frozenset[str]:
        i = self.count
        self.count += 1
        request = WafRequest(
            method, path, query, headers, body, f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        )
        return self.acl.evaluate(request, self.sets, self.limiter).labels


def webacl_rates(values: list[str]) -> dict[str, Rate]:
    """Benign values through the template's WebACL, each sent as one query argument
    (``GET /search?q=<percent-encoded value>``) and as a form body (``POST q=<value>``):
    the share flagged ``sqli`` and ``xss`` (either way). This is the false-positive figure
    of the whole WebACL, regex pattern sets included, not only of the detectors."""
    acl = _TemplateAcl()
    form = (("User-Agent", BROWSER_UA), ("Content-Type", "application/x-www-form-urlencoded"))
    hits = {"sqli": 0, "xss": 0}
    for value in values:
        labels = acl.labels("GET", "/search", "q=" + quote(value, safe=""))
        labels |= acl.labels("POST", "/search", "", form, ("q=" + quote_plus(value)).encode())
        for name in hits:
            hits[name] += name in labels
    return {name: Rate(h, len(values)) for name, h in hits.items()}


def crs_rates(waf: Path) -> dict[str, Rate]:
    """Through the template's WebACL: must-fire cases detected, must-not-fire cases flagged,
    for ``sqli`` and ``xss``. The test agent's User-Agent is replaced by a browser's (else the
    bot rule answers first) and each case comes from its own address (else the rate rule)."""
    acl = _TemplateAcl()
    counts: dict[str, list[int]] = {}
    for case in crs_cases(waf):
        uri = case.get("uri") or "/"
        path, _, query = uri.partition("?")
        headers = tuple(
            (str(k), BROWSER_UA if str(k).lower() == "user-agent" else str(v))
            for k, v in (case.get("headers") or {}).items()
        )
        data = case.get("data") or ""
        body = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else b""
        method = str(case.get("method") or "GET").upper()
        label = "sqli" if "942" in case["cat"] else "xss"
        key = f"{label}-{'must-fire' if case['kind'] == 'pos' else 'must-not-fire'}"
        flagged = label in acl.labels(method, path or "/", query, headers, body)
        pair = counts.setdefault(key, [0, 0])
        pair[0] += flagged
        pair[1] += 1
    return {k: Rate(h, t) for k, (h, t) in sorted(counts.items())}
