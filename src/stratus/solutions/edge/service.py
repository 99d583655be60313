"""Use cases of the crawler pipeline: functions taking (command, ports) -> result.

access-log file → :func:`detect_crawlers` → bot user-agent table (the reporting team's table)
→ :func:`refresh_pattern_set` → the WAF regex pattern set the BotUserAgents rule reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from stratus.platform.ports import Clock, TableStore
from stratus.solutions.edge.domain import accesslog, crawler
from stratus.solutions.edge.patternsets import PatternSetLockedError, PatternSetStore

BOT_PARTITION = "BOTUA"
BOT_TTL = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class DetectionResult:
    """How many clients a log file had, and the bots found."""

    clients: int
    bots: tuple[crawler.ClientScore, ...]


def detect_crawlers(
    lines: Iterable[str],
    table: TableStore,
    clock: Clock,
    matcher: crawler.UaMatcher | None = None,
    thresholds: crawler.CrawlerThresholds | None = None,
) -> DetectionResult:
    """Score every (client address, user agent) of an access log; record the bots."""
    matcher = matcher or crawler.UaMatcher()
    thresholds = thresholds or crawler.CrawlerThresholds()
    by_client: dict[tuple[str, str], list[crawler.PageView]] = defaultdict(list)
    for entry in accesslog.parse_lines(lines):
        by_client[(entry.client_ip, entry.user_agent)].append(
            crawler.PageView(
                entry.at, entry.client_ip, entry.user_agent, entry.method, entry.path, entry.status
            )
        )
    bots: list[crawler.ClientScore] = []
    now = clock.now()
    for views in by_client.values():
        views.sort(key=lambda v: v.at)
        score = crawler.score_client(views, matcher, thresholds)
        if not score.bot or not score.user_agent.strip():
            continue
        bots.append(score)
        table.update(
            {"PK": BOT_PARTITION, "SK": score.user_agent[:1024]},
            set={
                "Score": score.score,
                "Reasons": list(score.reasons),
                "LastClient": score.client,
                "DetectedAt": now.isoformat(),
                "ExpiresAt": int((now + BOT_TTL).timestamp()),
                "KnownPattern": matcher.check(score.user_agent).bot,
            },
            add={"Detections": 1},
        )
    return DetectionResult(len(by_client), tuple(bots))


def bot_user_agents(table: TableStore) -> list[str]:
    """Every user agent of the bot table."""
    found: list[str] = []
    start: str | None = None
    while True:
        page = table.query(BOT_PARTITION, start=start)
        found.extend(str(item["SK"]) for item in page.items)
        if page.next_token is None:
            return found
        start = page.next_token


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What the pattern set now holds and what did not fit AWS's quotas."""

    patterns: tuple[str, ...]
    left_out: tuple[str, ...]
    changed: bool


def refresh_pattern_set(
    table: TableStore,
    store: PatternSetStore,
    name: str,
    matcher: crawler.UaMatcher | None = None,
    attempts: int = 3,
) -> RefreshResult:
    """Rewrite pattern set ``name`` from the bot table (only user agents the known-bot set
    does not already block: they would waste the 10 x 200-character quota)."""
    matcher = matcher or crawler.UaMatcher()
    agents = [ua for ua in bot_user_agents(table) if not matcher.check(ua).bot]
    patterns, left_out = crawler.pattern_set(agents)
    for _ in range(attempts):
        current = store.get(name)
        if tuple(patterns) == current.patterns and current.lock_token:
            return RefreshResult(current.patterns, tuple(left_out), changed=False)
        try:
            store.update(name, patterns or ["^stratus-placeholder-never-sent$"], current.lock_token)
        except PatternSetLockedError:
            continue  # someone updated it meanwhile: read again and retry
        return RefreshResult(tuple(patterns), tuple(left_out), changed=True)
    raise PatternSetLockedError(f"pattern set {name} kept changing; gave up after {attempts}")
