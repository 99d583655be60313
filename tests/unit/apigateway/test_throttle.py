"""Token buckets, API keys, usage plan throttles and quotas on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.apigateway.events import HttpRequest
from stratus.platform.runtime.apigateway.model import (
    ApiSpec,
    RouteSpec,
    ThrottleSpec,
    UsagePlanSpec,
)
from stratus.platform.runtime.apigateway.throttle import Throttler, TokenBucket

LIST = RouteSpec("GET", "/items", "List")
CREATE = RouteSpec("POST", "/items", "Create", throttle=ThrottleSpec(rate=0, burst=1))
KEYED = RouteSpec("GET", "/paid", "Paid", api_key_required=True)
PLANS = (
    UsagePlanSpec("gold", ("gold-key",), throttle=ThrottleSpec(rate=1, burst=2)),
    UsagePlanSpec("basic", ("basic-key",), quota_limit=2, quota_period="DAY"),
    UsagePlanSpec("weekly", ("week-key",), quota_limit=1, quota_period="WEEK"),
    UsagePlanSpec("monthly", ("month-key",), quota_limit=1, quota_period="MONTH"),
)


def throttler(clock: FakeClock, stage: ThrottleSpec | None = None) -> Throttler:
    spec = ApiSpec("api", routes=(LIST, CREATE, KEYED), stage_throttle=stage, usage_plans=PLANS)
    return Throttler(spec, clock)


def statuses(t: Throttler, route: RouteSpec, n: int, key: str | None = None) -> list[int]:
    return [(r.status if (r := t.admit(route, key)) else 200) for _ in range(n)]


def test_a_bucket_allows_a_burst_then_refills_at_its_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(ThrottleSpec(rate=2, burst=3), clock.now().timestamp())
    now = clock.now().timestamp()

    burst = [bucket.try_take(now) for _ in range(4)]
    after_half_a_second = bucket.try_take(now + 0.5)
    after_an_hour = [bucket.try_take(now + 3600) for _ in range(4)]

    assert burst == [True, True, True, False]
    assert after_half_a_second is True
    assert after_an_hour == [True, True, True, False]  # never more than the burst


def test_the_stage_default_gives_each_method_its_own_bucket(clock: FakeClock) -> None:
    t = throttler(clock, stage=ThrottleSpec(rate=1, burst=2))

    assert statuses(t, LIST, 3) == [200, 200, 429]
    assert statuses(t, KEYED, 1, "gold-key") == [200]
    clock.advance(1)
    assert statuses(t, LIST, 2) == [200, 429]


def test_a_route_throttle_overrides_the_stage_default(clock: FakeClock) -> None:
    t = throttler(clock, stage=ThrottleSpec(rate=100, burst=100))

    assert statuses(t, CREATE, 2) == [200, 429]
    assert t.admit(CREATE, None).json() == {"message": "Too Many Requests"}  # type: ignore[union-attr]


def test_no_throttle_configured_means_no_limit(clock: FakeClock) -> None:
    assert set(statuses(throttler(clock), LIST, 500)) == {200}


def test_a_required_api_key_must_be_present_and_known(clock: FakeClock) -> None:
    t = throttler(clock)

    missing, _ = t.api_key(KEYED, HttpRequest("GET", "/paid"))
    unknown, _ = t.api_key(KEYED, HttpRequest("GET", "/paid", headers=[("x-api-key", "nope")]))
    refused, key = t.api_key(
        KEYED, HttpRequest("GET", "/paid", headers=[("X-API-Key", "gold-key")])
    )
    _, ignored = t.api_key(LIST, HttpRequest("GET", "/items", headers=[("x-api-key", "gold-key")]))

    assert missing is not None
    assert missing.status == 403
    assert missing.json() == {"message": "Forbidden"}
    assert unknown is not None
    assert (refused, key) == (None, "gold-key")
    assert ignored is None


def test_a_usage_plan_throttles_each_key_on_its_own(clock: FakeClock) -> None:
    spec = ApiSpec(
        "api",
        routes=(KEYED,),
        usage_plans=(UsagePlanSpec("p", ("k1", "k2"), throttle=ThrottleSpec(rate=1, burst=1)),),
    )
    t = Throttler(spec, clock)

    assert statuses(t, KEYED, 2, "k1") == [200, 429]
    assert statuses(t, KEYED, 1, "k2") == [200]


def test_a_quota_is_spent_per_day_and_renews_at_midnight_utc(clock: FakeClock) -> None:
    t = throttler(clock)

    assert statuses(t, KEYED, 3, "basic-key") == [200, 200, 429]
    assert t.admit(KEYED, "basic-key").json() == {"message": "Limit Exceeded"}  # type: ignore[union-attr]
    assert t.remaining_quota("basic-key") == 0
    clock.advance(24 * 3600)
    assert statuses(t, KEYED, 1, "basic-key") == [200]
    assert t.remaining_quota("gold-key") is None


def test_weekly_and_monthly_quotas_follow_calendar_windows() -> None:
    clock = FakeClock(datetime(2026, 1, 31, 12, tzinfo=UTC))  # a Saturday
    t = throttler(clock)

    assert statuses(t, KEYED, 2, "week-key") == [200, 429]
    assert statuses(t, KEYED, 2, "month-key") == [200, 429]
    clock.advance(12 * 3600)  # Sunday: same week, next month
    assert statuses(t, KEYED, 1, "week-key") == [429]
    assert statuses(t, KEYED, 1, "month-key") == [200]
    clock.advance(24 * 3600)  # Monday: a new week
    assert statuses(t, KEYED, 1, "week-key") == [200]


def test_a_throttled_request_spends_no_quota_and_no_other_bucket(clock: FakeClock) -> None:
    spec = ApiSpec(
        "api",
        routes=(KEYED,),
        stage_throttle=ThrottleSpec(rate=0, burst=1),
        usage_plans=(
            UsagePlanSpec("p", ("k",), throttle=ThrottleSpec(rate=0, burst=5), quota_limit=10),
        ),
    )
    t = Throttler(spec, clock)

    assert statuses(t, KEYED, 3, "k") == [200, 429, 429]
    assert t.remaining_quota("k") == 9
