"""EventBridge schedule expressions: known next firing times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stratus.platform.runtime.schedule import RateSchedule, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_rate_one_minute_fires_on_the_next_whole_minute_by_default() -> None:
    assert parse_schedule("rate(1 minute)").next_after(at("2026-01-01T10:00:30")) == at(
        "2026-01-01T10:01:00"
    )


def test_rate_counts_from_the_given_anchor() -> None:
    schedule = parse_schedule("rate(5 minutes)", anchor=at("2026-01-01T10:02:00"))
    assert schedule.next_after(at("2026-01-01T10:02:00")) == at("2026-01-01T10:07:00")
    assert schedule.next_after(at("2026-01-01T09:00:00")) == at("2026-01-01T10:02:00")


def test_rate_can_be_re_anchored() -> None:
    schedule = parse_schedule("rate(2 hours)")
    assert isinstance(schedule, RateSchedule)
    anchored = schedule.with_anchor(at("2026-03-01T00:30:00"))
    assert anchored.next_after(at("2026-03-01T01:00:00")) == at("2026-03-01T02:30:00")
    assert anchored.period == timedelta(hours=2)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "positive"),
        ("rate(3 weeks)", "unit"),
        ("rate(five minutes)", "rate must look like"),
        ("every 5 minutes", "rate(...) or cron(...)"),
        ("cron(0 12 * * * *)", "day-of-month and day-of-week cannot both be specified"),
        ("cron(0 12 ? * ? *)", "day-of-month and day-of-week cannot both be specified"),
        ("cron(0 12 * *)", "6 fields"),
        ("cron(60 12 * * ? *)", "minutes: 60 is outside 0-59"),
        ("cron(0 12 ? FOO MON *)", "month: 'FOO'"),
        ("cron(0 12 ? * 3#6 *)", "#1 to #5"),
        ("cron(0 12 5-1 * ? *)", "runs backwards"),
        ("cron(0/0 12 * * ? *)", "step"),
    ],
)
def test_bad_expressions_are_refused_with_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_schedule(expression)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # every day at 12:00
        ("cron(0 12 * * ? *)", "2026-01-01T12:00:00", "2026-01-02T12:00:00"),
        ("cron(0 12 * * ? *)", "2026-01-01T11:59:59", "2026-01-01T12:00:00"),
        # every 15 minutes
        ("cron(0/15 * * * ? *)", "2026-01-01T10:16:00", "2026-01-01T10:30:00"),
        # 10:15 Monday to Friday (2026-01-03 is a Saturday)
        ("cron(15 10 ? * MON-FRI *)", "2026-01-02T11:00:00", "2026-01-05T10:15:00"),
        ("cron(15 10 ? * 2-6 *)", "2026-01-02T11:00:00", "2026-01-05T10:15:00"),
        # 18:00 on the last day of the month (February 2028 is a leap month)
        ("cron(0 18 L * ? *)", "2028-02-10T00:00:00", "2028-02-29T18:00:00"),
        ("cron(0 18 L-2 * ? *)", "2026-04-01T00:00:00", "2026-04-28T18:00:00"),
        # weekday nearest the 1st: 2026-08-01 is a Saturday -> Monday the 3rd
        ("cron(0 9 1W * ? *)", "2026-07-31T00:00:00", "2026-08-03T09:00:00"),
        # weekday nearest the 15th: 2026-03-15 is a Sunday -> Monday the 16th
        ("cron(0 9 15W * ? *)", "2026-03-01T00:00:00", "2026-03-16T09:00:00"),
        # last weekday of the month: 2026-05-31 is a Sunday -> Friday the 29th
        ("cron(0 9 LW * ? *)", "2026-05-01T00:00:00", "2026-05-29T09:00:00"),
        # second Tuesday of the month
        ("cron(0 8 ? * 3#2 *)", "2026-01-01T00:00:00", "2026-01-13T08:00:00"),
        ("cron(0 8 ? * TUE#2 *)", "2026-01-14T00:00:00", "2026-02-10T08:00:00"),
        # last Friday of the month
        ("cron(30 17 ? * 6L *)", "2026-01-01T00:00:00", "2026-01-30T17:30:00"),
        # L in day-of-week alone is Saturday
        ("cron(0 0 ? * L *)", "2026-01-01T00:00:00", "2026-01-03T00:00:00"),
        # lists, month names, a year
        ("cron(0 6,18 1 JAN,JUL ? 2027)", "2026-01-01T00:00:00", "2027-01-01T06:00:00"),
        ("cron(0 6,18 1 JAN,JUL ? 2027)", "2027-01-01T06:00:00", "2027-01-01T18:00:00"),
        ("cron(0 6,18 1 JAN,JUL ? 2027)", "2027-01-01T18:00:00", "2027-07-01T06:00:00"),
        # the 31st only in months that have one
        ("cron(0 0 31 * ? *)", "2026-04-01T00:00:00", "2026-05-31T00:00:00"),
    ],
)
def test_cron_next_times_are_known(expression: str, after: str, expected: str) -> None:
    assert parse_schedule(expression).next_after(at(after)) == at(expected)


def test_a_cron_whose_years_are_over_never_fires_again() -> None:
    with pytest.raises(ValueError, match="never fires"):
        parse_schedule("cron(0 0 1 1 ? 2020)").next_after(at("2026-01-01T00:00:00"))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        parse_schedule("rate(1 day)").next_after(datetime(2026, 1, 1))
