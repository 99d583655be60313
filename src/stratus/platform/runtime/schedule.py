"""EventBridge schedule expressions: ``rate(...)`` and six-field ``cron(...)``.

Copies the EventBridge (CloudWatch Events) rules, all in UTC:

* ``rate(1 minute)``, ``rate(5 minutes)``, ``hour(s)``, ``day(s)``: the unit is singular for 1
  and plural otherwise, as EventBridge insists. EventBridge starts a rate schedule when the rule
  is created; here it starts from an explicit ``anchor`` (default: the Unix epoch, so
  ``rate(1 minute)`` fires on every whole minute).
* ``cron(minutes hours day-of-month month day-of-week year)`` with ``*``, ``?``, ranges,
  lists, steps, month and weekday names, ``L`` (last day of month / last weekday of month),
  ``W`` (nearest weekday) and ``#`` (n-th weekday). Day-of-week runs 1-7 = SUN-SAT. One of
  day-of-month and day-of-week must be ``?``.
"""

from __future__ import annotations

import calendar
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["CronSchedule", "RateSchedule", "Schedule", "parse_schedule"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MAX_YEAR = 2199


class Schedule(ABC):
    """A parsed schedule expression that can say when it fires next."""

    expression: str

    @abstractmethod
    def next_after(self, t: datetime) -> datetime:
        """The first firing time strictly after ``t`` (tz-aware; the result is UTC)."""


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("schedule times must be tz-aware")
    return t.astimezone(UTC)


@dataclass(frozen=True)
class RateSchedule(Schedule):
    """``rate(N unit)``: fires every ``period`` counted from ``anchor``."""

    expression: str
    period: timedelta
    anchor: datetime = EPOCH

    def with_anchor(self, anchor: datetime) -> RateSchedule:
        """The same rate, counted from ``anchor`` (for example the time the runtime started)."""
        return RateSchedule(self.expression, self.period, _utc(anchor))

    def next_after(self, t: datetime) -> datetime:
        t = _utc(t)
        if t < self.anchor:
            return self.anchor
        periods = (t - self.anchor) // self.period + 1
        return self.anchor + periods * self.period


@dataclass(frozen=True)
class _DayOfMonth:
    days: frozenset[int] = frozenset()
    last: bool = False  # L
    last_offset: int = 0  # L-3
    last_weekday: bool = False  # LW
    nearest_weekday: int | None = None  # 15W

    def matches(self, year: int, month: int, day: int) -> bool:
        n_days = calendar.monthrange(year, month)[1]
        if self.last:
            return day == n_days - self.last_offset
        if self.last_weekday:
            return day == _nearest_weekday(year, month, n_days)
        if self.nearest_weekday is not None:
            return day == _nearest_weekday(year, month, min(self.nearest_weekday, n_days))
        return day in self.days


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """Quartz/EventBridge ``W``: the weekday nearest to ``day`` within the same month."""
    n_days = calendar.monthrange(year, month)[1]
    weekday = calendar.weekday(year, month, day)  # Mon=0 .. Sun=6
    if weekday == 5:  # Saturday -> Friday, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday -> Monday, unless that leaves the month
        return day + 1 if day < n_days else day - 2
    return day


def _aws_weekday(year: int, month: int, day: int) -> int:
    """1 = Sunday .. 7 = Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


@dataclass(frozen=True)
class _DayOfWeek:
    days: frozenset[int] = frozenset()
    last_of: int | None = None  # 6L: last Friday of the month
    nth: tuple[int, int] | None = None  # 3#2: second Tuesday

    def matches(self, year: int, month: int, day: int) -> bool:
        weekday = _aws_weekday(year, month, day)
        if self.last_of is not None:
            return weekday == self.last_of and day + 7 > calendar.monthrange(year, month)[1]
        if self.nth is not None:
            wanted, n = self.nth
            return weekday == wanted and (day - 1) // 7 + 1 == n
        return weekday in self.days


@dataclass(frozen=True)
class CronSchedule(Schedule):
    """``cron(...)``: fires at every minute matching all six fields."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: _DayOfMonth | None
    months: frozenset[int]
    day_of_week: _DayOfWeek | None
    years: frozenset[int]

    def _day_matches(self, t: datetime) -> bool:
        if self.day_of_month is not None:
            return self.day_of_month.matches(t.year, t.month, t.day)
        assert self.day_of_week is not None
        return self.day_of_week.matches(t.year, t.month, t.day)

    def next_after(self, t: datetime) -> datetime:
        t = _utc(t).replace(second=0, microsecond=0) + timedelta(minutes=1)
        while t.year <= _MAX_YEAR:
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise ValueError(f"{self.expression} never fires after {t.isoformat()}")


def parse_schedule(expression: str, *, anchor: datetime | None = None) -> Schedule:
    """Parse an EventBridge schedule expression; ValueError says what is wrong with it."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        return _parse_rate(text, int(rate.group(1)), rate.group(2), anchor)
    if text.startswith("rate("):
        raise ValueError(f"{expression!r}: rate must look like 'rate(5 minutes)'")
    cron = _CRON.match(text)
    if cron:
        return _parse_cron(text, cron.group(1).split())
    raise ValueError(f"{expression!r}: a schedule expression is rate(...) or cron(...)")


def _parse_rate(text: str, value: int, unit: str, anchor: datetime | None) -> RateSchedule:
    base = unit[:-1] if unit.endswith("s") else unit
    if base not in _UNITS:
        raise ValueError(f"{text!r}: rate unit must be minute(s), hour(s) or day(s), not {unit!r}")
    if value <= 0:
        raise ValueError(f"{text!r}: rate value must be a positive integer")
    if value == 1 and unit != base:
        raise ValueError(f"{text!r}: rate of 1 takes the singular unit ({base})")
    if value > 1 and unit == base:
        raise ValueError(f"{text!r}: rate of {value} takes the plural unit ({base}s)")
    return RateSchedule(
        text, timedelta(seconds=value * _UNITS[base]), EPOCH if anchor is None else _utc(anchor)
    )


def _parse_cron(text: str, fields: list[str]) -> CronSchedule:
    if len(fields) != 6:
        raise ValueError(
            f"{text!r}: cron needs 6 fields (minutes hours day-of-month month day-of-week year),"
            f" got {len(fields)}"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ValueError(
            f"{text!r}: cron: day-of-month and day-of-week cannot both be specified;"
            " use ? in one (and only one) of them"
        )
    try:
        return CronSchedule(
            expression=text,
            minutes=_values(minute, 0, 59, "minutes"),
            hours=_values(hour, 0, 23, "hours"),
            day_of_month=None if dom == "?" else _parse_dom(dom),
            months=_values(month, 1, 12, "month", MONTHS),
            day_of_week=None if dow == "?" else _parse_dow(dow),
            years=_values(year, 1970, _MAX_YEAR, "year"),
        )
    except ValueError as error:
        raise ValueError(f"{text!r}: cron: {error}") from None


def _number(token: str, low: int, high: int, field: str, names: dict[str, int] | None) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit():
        raise ValueError(f"{field}: {token!r} is not a number or name")
    value = int(token)
    if not low <= value <= high:
        raise ValueError(f"{field}: {value} is outside {low}-{high}")
    return value


def _values(
    spec: str, low: int, high: int, field: str, names: dict[str, int] | None = None
) -> frozenset[int]:
    out: set[int] = set()
    for part in spec.split(","):
        if not part:
            raise ValueError(f"{field}: empty list item in {spec!r}")
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{field}: step {step_text!r} must be a positive integer")
            step = int(step_text)
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _number(a, low, high, field, names), _number(b, low, high, field, names)
            if first > last:
                raise ValueError(f"{field}: range {body!r} runs backwards")
        else:
            first = _number(body, low, high, field, names)
            last = high if step_text else first
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _parse_dom(spec: str) -> _DayOfMonth:
    if spec == "L":
        return _DayOfMonth(last=True)
    if spec == "LW":
        return _DayOfMonth(last_weekday=True)
    if re.fullmatch(r"L-\d+", spec):
        offset = int(spec[2:])
        if offset > 30:
            raise ValueError(f"day-of-month: {spec!r} offset must be at most 30")
        return _DayOfMonth(last=True, last_offset=offset)
    if spec.endswith("W"):
        return _DayOfMonth(nearest_weekday=_number(spec[:-1], 1, 31, "day-of-month", None))
    if "L" in spec or "W" in spec or "#" in spec:
        raise ValueError(f"day-of-month: {spec!r} is not a valid L/W expression")
    return _DayOfMonth(days=_values(spec, 1, 31, "day-of-month"))


def _parse_dow(spec: str) -> _DayOfWeek:
    if spec == "L":
        return _DayOfWeek(days=frozenset({7}))
    if "#" in spec:
        day, _, n = spec.partition("#")
        weekday = _number(day, 1, 7, "day-of-week", DAYS)
        if not n.isdigit() or not 1 <= int(n) <= 5:
            raise ValueError(f"day-of-week: {spec!r} needs #1 to #5")
        return _DayOfWeek(nth=(weekday, int(n)))
    if spec.endswith("L"):
        return _DayOfWeek(last_of=_number(spec[:-1], 1, 7, "day-of-week", DAYS))
    return _DayOfWeek(days=_values(spec, 1, 7, "day-of-week", DAYS))
