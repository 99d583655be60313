"""API keys, usage plans, throttling (token buckets) and quotas, on the injected Clock.

Copies API Gateway REST APIs:

* a method with ``api_key_required`` and no ``x-api-key`` header, or a key that no usage
  plan of the API knows, is 403 ``{"message":"Forbidden"}``;
* throttling is a token bucket per bucket owner: ``burst`` tokens at most, refilled at
  ``rate`` per second; an empty bucket is 429 ``{"message":"Too Many Requests"}``;
* buckets: one per method (the route's own limits, else the stage default, like
  MethodSettings ``/*/*``) and one per API key (its usage plan's throttle);
* a usage plan quota counts requests per key per calendar period in UTC (DAY from midnight,
  WEEK from Monday, MONTH from the 1st); over it is 429 ``{"message":"Limit Exceeded"}``.

Departures: no account-level (10 000 rps) limit; a request is admitted only when EVERY
bucket that applies has a token, and then takes one from each (AWS does not document the
order); quota periods have no offset.
"""

from __future__ import annotations

import hashlib
import threading

from stratus.platform.ports.clock import Clock
from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse, gateway_error
from stratus.platform.runtime.apigateway.model import (
    ApiSpec,
    QuotaPeriod,
    RouteSpec,
    ThrottleSpec,
    UsagePlanSpec,
)


def too_many_requests() -> HttpResponse:
    """429 for an empty token bucket."""
    return gateway_error(429, {"message": "Too Many Requests"}, "TooManyRequestsException")


def limit_exceeded() -> HttpResponse:
    """429 for a spent usage-plan quota."""
    return gateway_error(429, {"message": "Limit Exceeded"}, "LimitExceededException")


def forbidden() -> HttpResponse:
    """403 for a missing or unknown API key."""
    return gateway_error(403, {"message": "Forbidden"}, "ForbiddenException")


def api_key_id(value: str) -> str:
    """A stable, AWS-looking id for an API key value (AWS ids are 10 alphanumerics)."""
    return hashlib.sha256(value.encode()).hexdigest()[:10]


class TokenBucket:
    """``burst`` tokens at most, ``rate`` tokens per second refill; starts full.

    Not thread-safe by itself: :class:`Throttler` holds the lock.
    """

    def __init__(self, spec: ThrottleSpec, now: float) -> None:
        if spec.rate < 0 or spec.burst < 0:
            raise ValueError("throttle rate and burst must not be negative")
        self.spec = spec
        self.tokens = float(spec.burst)
        self._last = now

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last refill, up to ``burst``."""
        elapsed = max(0.0, now - self._last)
        self.tokens = min(float(self.spec.burst), self.tokens + elapsed * self.spec.rate)
        self._last = now

    def try_take(self, now: float) -> bool:
        """Take one token if there is one."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def quota_window(period: QuotaPeriod, clock: Clock) -> str:
    """The name of the current quota window in UTC."""
    now = clock.now()
    if period == "DAY":
        return now.strftime("%Y-%m-%d")
    if period == "WEEK":
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    return now.strftime("%Y-%m")


class Throttler:
    """API key checks, throttling and quotas for one API stage; thread-safe."""

    def __init__(self, spec: ApiSpec, clock: Clock) -> None:
        self._spec = spec
        self._clock = clock
        self._lock = threading.Lock()
        self._plans: dict[str, UsagePlanSpec] = {}
        for plan in spec.usage_plans:
            for key in plan.api_keys:
                if key in self._plans:
                    raise ValueError(f"API key in two usage plans: {plan.name}")
                self._plans[key] = plan
        self._method_buckets: dict[str, TokenBucket] = {}
        self._key_buckets: dict[str, TokenBucket] = {}
        self._quota: dict[str, tuple[str, int]] = {}

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def api_key(
        self, route: RouteSpec, request: HttpRequest
    ) -> tuple[HttpResponse | None, str | None]:
        """``(403, None)`` when the route needs a key that is missing or unknown.

        Otherwise ``(None, key)``, where ``key`` is the valid key of a route that needs one
        and None for a route that does not (AWS then ignores any ``x-api-key`` sent).
        """
        if not route.api_key_required:
            return None, None
        key = request.header("x-api-key")
        if not key or key not in self._plans:
            return forbidden(), None
        return None, key

    def admit(self, route: RouteSpec, api_key: str | None) -> HttpResponse | None:
        """None when the request may go on; otherwise the 429 to send."""
        now = self._now()
        buckets: list[TokenBucket] = []
        with self._lock:
            limits = route.throttle or self._spec.stage_throttle
            if limits is not None:
                bucket = self._method_buckets.get(route.key)
                if bucket is None:
                    bucket = self._method_buckets[route.key] = TokenBucket(limits, now)
                buckets.append(bucket)
            plan = self._plans.get(api_key) if api_key else None
            if plan is not None and api_key is not None and plan.throttle is not None:
                bucket = self._key_buckets.get(api_key)
                if bucket is None:
                    bucket = self._key_buckets[api_key] = TokenBucket(plan.throttle, now)
                buckets.append(bucket)
            for bucket in buckets:
                bucket.refill(now)
            if any(bucket.tokens < 1.0 for bucket in buckets):
                return too_many_requests()
            if plan is not None and api_key is not None and plan.quota_limit is not None:
                window = quota_window(plan.quota_period, self._clock)
                seen_window, used = self._quota.get(api_key, (window, 0))
                if seen_window != window:
                    used = 0
                if used >= plan.quota_limit:
                    return limit_exceeded()
                self._quota[api_key] = (window, used + 1)
            for bucket in buckets:
                bucket.tokens -= 1.0
        return None

    def remaining_quota(self, api_key: str) -> int | None:
        """Requests left in the key's current quota window (None: no quota)."""
        plan = self._plans.get(api_key)
        if plan is None or plan.quota_limit is None:
            return None
        window = quota_window(plan.quota_period, self._clock)
        with self._lock:
            seen_window, used = self._quota.get(api_key, (window, 0))
        return plan.quota_limit - (used if seen_window == window else 0)
