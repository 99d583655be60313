"""Crawler detection: user-agent patterns, behaviour scoring, and the WAF pattern set.

Three pure parts:

- :data:`KNOWN_BOT_PATTERNS` — a handful of regular expressions (AWS quotas: at most 10
  per regex pattern set, 200 characters each) matched against the lower-cased User-Agent:
  the WebACL's static "known bots" set, also used by ``stratus edge ua-check``.
- :func:`score_client` — the reporting team's detector: from one client's page views
  (request rate and regularity, no assets loaded, robots.txt, 4xx ratio, HEAD requests,
  known bot list) a score and the reasons for it.
- :func:`pattern_set` — the user agents of the bot table turned into at most 10 patterns of at
  most 200 characters, the form ``UpdateRegexPatternSet`` accepts.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_PATTERNS = 10
MAX_PATTERN_CHARS = 200

#: Generic crawler vocabulary, then well-known names without it, then HTTP libraries and tools.
KNOWN_BOT_PATTERNS: tuple[str, ...] = (
    r"bot\b|bot[/_;:. -]|robot|crawl|spider|slurp|scrap|archiv|index(?:er|ing)|fetch|harvest",
    r"^(?:curl|wget|python|java/|go-http|okhttp|libwww|lwp|perl|php|ruby|apache-httpclient|axios"
    r"|node-fetch|scrapy|httpclient|httpunit|jakarta|nutch|heritrix|winhttp|postman|insomnia)",
    r"http://|https://|\+http|@[a-z0-9-]+\.[a-z]{2,}|checker|monitor|validator|analy[sz]|preview",
    r"scan|search|pinger|pingdom|uptime|headless|phantom|selenium|puppeteer|playwright|lighthouse",
    r"feed|rss|reader|parser|sitemap|linkcheck|mediapartners|adsbot|facebookexternal|bingpreview",
    r"yandex|baidu|sogou|exabot|ia_archiver|qwant|seznam|naver|daum|ahrefs|semrush|mj12|dotbot",
    # a first product that is not Mozilla/Opera/Dalvik (no look-ahead: AWS WAF regex has none)
    r"^(?:[a-ce-ln-np-z0-9]|m[a-np-z]|o[a-oq-z]|d[b-z])[a-z0-9._ -]*/v?[0-9]"
    r"|^[^/]*$|^mozilla/[0-9.]+ *$",
    r"\(compatible; ?(?:[a-jl-z0-9]|m[a-rt-z]|k[a-np-z])[a-z0-9._ -]*(?:/[0-9.a-z]+)?[;)]"
    r"|httrack|xenu",
    r"download|client/|agent|library|lib/|sdk|\bapi\b|inspectiontool|appinsights|zgrab|nikto|acunetix",
    r"gptbot|chatgpt|claude|anthropic|perplexity|bytespider|petalbot|amazonbot|applebot|ccbot",
)


@dataclass(frozen=True, slots=True)
class UaVerdict:
    """Bot or not, and the pattern that matched."""

    bot: bool
    pattern: str | None


class UaMatcher:
    """A set of patterns compiled once (the cached matcher the WAF rule uses)."""

    def __init__(self, patterns: Sequence[str] = KNOWN_BOT_PATTERNS) -> None:
        self.patterns = tuple(patterns)
        self._each = [re.compile(p) for p in self.patterns]
        self._any = re.compile("|".join(f"(?:{p})" for p in self.patterns)) if patterns else None

    @property
    def pattern(self) -> re.Pattern[str] | None:
        """All patterns as one compiled alternation (``None`` for an empty set)."""
        return self._any

    def check(self, user_agent: str) -> UaVerdict:
        """Match the lower-cased, trimmed user agent; an empty one is a bot."""
        ua = user_agent.strip().lower()
        if not ua:
            return UaVerdict(True, "(empty user agent)")
        if self._any is None or not self._any.search(ua):
            return UaVerdict(False, None)
        for pattern, compiled in zip(self.patterns, self._each, strict=True):
            found = compiled.search(ua)
            if found:
                return UaVerdict(True, found.group(0) or pattern)
        return UaVerdict(False, None)  # pragma: no cover - the alternation matched one of them


# -- the pattern set from the bot table --------------------------------------------------------

_GENERIC_TOKENS = frozenset(
    [
        "mozilla",
        "applewebkit",
        "khtml",
        "like",
        "gecko",
        "chrome",
        "safari",
        "version",
        "mobile",
        "compatible",
        "windows",
        "nt",
        "linux",
        "macintosh",
        "intel",
        "mac",
        "os",
        "x",
        "win64",
        "x64",
        "wow64",
        "u",
        "en-us",
        "android",
        "iphone",
        "cpu",
        "ipad",
        "firefox",
        "trident",
        "msie",
        "edge",
        "edg",
        "opr",
        "opera",
        "x11",
        "x86_64",
        "ubuntu",
        "fedora",
        "debian",
        "build",
        "samsungbrowser",
        "crios",
        "fxios",
        "wv",
        "rv",
        "mobile-safari",
        "yabrowser",
        "vivaldi",
        "brave",
        "silk",
        "headlesschrome",
    ]
)
_TOKEN = re.compile(r"[a-z][a-z0-9._-]{2,}")
_URLS = re.compile(r"\+?https?://\S+|\S+@\S+|www\.\S+")


def signature(user_agent: str) -> str:
    """The most distinctive product token of a user agent, as an escaped regex fragment:
    the last token that is not browser or OS vocabulary (bots append their name), URLs and
    addresses left out. ``Mozilla/5.0 (compatible; FooCrawler/2.1; +http://foo.example)`` →
    ``foocrawler``. With no such token, the start of the user agent itself."""
    ua = user_agent.strip().lower()
    tokens = _TOKEN.findall(_URLS.sub(" ", ua))
    for token in reversed(tokens):
        if token not in _GENERIC_TOKENS and len(token) >= 4:
            return str(re.escape(token))
    return "^" + str(re.escape(ua[:60]))


def pattern_set(user_agents: Iterable[str]) -> tuple[list[str], list[str]]:
    """Chunk the signatures of ``user_agents`` into WAF-sized patterns.

    Returns ``(patterns, left_out)``: at most 10 alternations of at most 200 characters,
    most frequent signatures first, and the signatures that did not fit (to report)."""
    counts: dict[str, int] = {}
    for ua in user_agents:
        if ua.strip():
            sig = signature(ua)
            counts[sig] = counts.get(sig, 0) + 1
    ordered = sorted(counts, key=lambda s: (-counts[s], s))
    patterns: list[str] = []
    left_out: list[str] = []
    current = ""
    for sig in ordered:
        if len(sig) > MAX_PATTERN_CHARS:
            left_out.append(sig)
            continue
        candidate = f"{current}|{sig}" if current else sig
        if len(candidate) <= MAX_PATTERN_CHARS:
            current = candidate
            continue
        if len(patterns) + 1 >= MAX_PATTERNS:
            left_out.append(sig)
            continue
        patterns.append(current)
        current = sig
    if current:
        patterns.append(current)
    return patterns, left_out


# -- behaviour scoring -------------------------------------------------------------------------

_ASSET = re.compile(r"\.(?:css|js|png|jpe?g|gif|svg|webp|ico|woff2?|ttf|map)(?:$|\?)", re.I)


@dataclass(frozen=True, slots=True)
class PageView:
    """One request as the access log (or the page-view tracker) saw it."""

    at: datetime
    client: str  # the client address
    user_agent: str
    method: str
    path: str
    status: int


@dataclass(frozen=True, slots=True)
class CrawlerThresholds:
    """When behaviour looks automated; the defaults suit a human-browsed site."""

    min_views: int = 20
    max_rate_per_min: float = 60.0
    max_regularity_cv: float = 0.2  # coefficient of variation of gaps between requests
    max_4xx_ratio: float = 0.3
    min_head_ratio: float = 0.3
    bot_score: int = 3


@dataclass(frozen=True, slots=True)
class ClientScore:
    """A client's score and the reasons; ``bot`` when the score reaches the threshold."""

    client: str
    user_agent: str
    score: int
    reasons: tuple[str, ...]
    bot: bool


def score_client(
    views: Sequence[PageView],
    matcher: UaMatcher,
    thresholds: CrawlerThresholds = CrawlerThresholds(),
) -> ClientScore:
    """Score one client (address + user agent) from its page views, oldest first."""
    client = views[0].client if views else ""
    ua = views[0].user_agent if views else ""
    reasons: list[str] = []
    score = 0
    if matcher.check(ua).bot:
        reasons.append("known-bot-user-agent")
        score += thresholds.bot_score
    if any(v.path.rstrip("/").endswith("/robots.txt") or v.path == "robots.txt" for v in views):
        reasons.append("robots.txt")
        score += 2
    if len(views) >= thresholds.min_views:
        times = sorted(v.at.timestamp() for v in views)
        span_min = max((times[-1] - times[0]) / 60.0, 1 / 60)
        if len(views) / span_min > thresholds.max_rate_per_min:
            reasons.append("request-rate")
            score += 1
        gaps = [b - a for a, b in itertools.pairwise(times)]
        mean = statistics.fmean(gaps) if gaps else 0.0
        if mean > 0 and statistics.pstdev(gaps) / mean < thresholds.max_regularity_cv:
            reasons.append("regular-intervals")
            score += 2  # people are never metronomic; schedulers are
        pages = [v for v in views if not _ASSET.search(v.path)]
        if pages and len(pages) == len(views):
            reasons.append("no-assets")
            score += 1
        if sum(1 for v in views if 400 <= v.status < 500) / len(views) > thresholds.max_4xx_ratio:
            reasons.append("4xx-ratio")
            score += 1
        if sum(1 for v in views if v.method == "HEAD") / len(views) >= thresholds.min_head_ratio:
            reasons.append("head-requests")
            score += 1
    return ClientScore(client, ua, score, tuple(reasons), score >= thresholds.bot_score)
