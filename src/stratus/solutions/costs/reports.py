"""Report builders: every report is a FactStore query over published facts.

These are the functions the Reporting API, the dashboard and ``stratus costs report`` call.
Each returns a JSON-ready ``dict`` (money as strings, exact decimals). Reports read only
published versions, so a report never mixes two versions of a month.

* :func:`cost_report` — cost by day, month, service, account, region, resource, charge
  category or ``tag:KEY``, billed or effective (amortised).
* :func:`month_to_date` — this month so far against the same days of the previous month.
* :func:`top_resources` — the most expensive resources.
* :func:`billed_vs_effective` — both costs per service, with the difference.
* :func:`resource_details` — one resource's attributes and totals.
* :func:`store_period_reports` — the ETL's "build reports" step: per-period summaries saved to
  the files table (``PK = REPORT#<client>``, ``SK = <YYYY-MM>``).
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from stratus.platform.ports import Clock, TableStore
from stratus.solutions.costs.ports import (
    DIMENSIONS,
    CostKind,
    CurrencyTotal,
    FactStore,
    ReportQuery,
    ReportRow,
)

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_LIMIT = 1000  # the most rows a report request may ask for (API and CLI)


class ReportRequestError(ValueError):
    """A report parameter is invalid; the message says which and why (an API's 400)."""


def validate(by: str, cost: str, month: str | None) -> None:
    """Raise ReportRequestError for an unknown dimension, cost kind or malformed month."""
    if not (by in DIMENSIONS or (by.startswith("tag:") and len(by) > 4)):
        raise ReportRequestError(f"by must be one of {', '.join(DIMENSIONS)} or tag:KEY")
    if cost not in ("billed", "effective"):
        raise ReportRequestError("cost must be billed or effective")
    if month is not None and not _MONTH.match(month):
        raise ReportRequestError("month must be YYYY-MM")


def _money(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _row(row: ReportRow, cost: CostKind) -> dict[str, Any]:
    chosen = row.billed_cost if cost == "billed" else row.effective_cost
    return {
        "key": row.key,
        "currency": row.currency,
        "cost": _money(chosen),
        "billed_cost": _money(row.billed_cost),
        "effective_cost": _money(row.effective_cost),
        "rows": row.rows,
    }


def _totals(rows: list[ReportRow]) -> list[dict[str, Any]]:
    sums: dict[str, list[Decimal]] = {}
    for row in rows:
        acc = sums.setdefault(row.currency, [Decimal(0), Decimal(0), Decimal(0)])
        acc[0] += row.billed_cost
        acc[1] += row.effective_cost
        acc[2] += row.rows
    return [
        {
            "currency": currency,
            "billed_cost": _money(b),
            "effective_cost": _money(e),
            "rows": int(n),
        }
        for currency, (b, e, n) in sorted(sums.items())
    ]


def cost_report(
    facts: FactStore,
    client_id: str,
    by: str,
    *,
    cost: CostKind = "billed",
    month: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Cost of the client grouped by ``by``; rows carry both billed and effective cost and
    ``cost`` is the one asked for. Totals are per currency (never summed across currencies)."""
    validate(by, cost, month)
    rows = facts.report(ReportQuery(client_id, by, month, cost, None))
    shown = rows[:limit] if limit else rows
    return {
        "client_id": client_id,
        "by": by,
        "cost": cost,
        "month": month,
        "rows": [_row(r, cost) for r in shown],
        "totals": _totals(rows),
    }


def _previous(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def month_to_date(
    facts: FactStore,
    client_id: str,
    *,
    month: str | None = None,
    cost: CostKind = "billed",
    today: date | None = None,
) -> dict[str, Any]:
    """This month's cost up to its last day with data (or ``today``) against the same days of
    the previous month and the whole previous month, per currency."""
    validate("day", cost, month)
    months = facts.months(client_id)
    current = month or (months[-1] if months else None)
    if current is None:
        return {"client_id": client_id, "month": None, "cost": cost, "currencies": []}
    previous = _previous(current)
    this_days = facts.report(ReportQuery(client_id, "day", current, cost))
    last_days = facts.report(ReportQuery(client_id, "day", previous, cost))
    in_month = [r for r in this_days if r.key[:7] == current]
    cutoff = today.day if today else max((int(r.key[8:10]) for r in in_month), default=0)
    last_len = calendar.monthrange(int(previous[:4]), int(previous[5:]))[1]
    same_days = min(cutoff, last_len)

    def pick(row: ReportRow) -> Decimal:
        return row.billed_cost if cost == "billed" else row.effective_cost

    currencies = sorted({r.currency for r in this_days} | {r.currency for r in last_days})
    out = []
    for currency in currencies:
        mtd = sum(
            (pick(r) for r in in_month if r.currency == currency and int(r.key[8:10]) <= cutoff),
            Decimal(0),
        )
        prev_same = sum(
            (
                pick(r)
                for r in last_days
                if r.currency == currency
                and r.key[:7] == previous
                and int(r.key[8:10]) <= same_days
            ),
            Decimal(0),
        )
        prev_full = sum((pick(r) for r in last_days if r.currency == currency), Decimal(0))
        change = (
            _money(((mtd - prev_same) / prev_same * 100).quantize(Decimal("0.01")))
            if prev_same
            else None
        )
        out.append(
            {
                "currency": currency,
                "month_to_date": _money(mtd),
                "previous_month_same_days": _money(prev_same),
                "previous_month": _money(prev_full),
                "change_percent": change,
            }
        )
    return {
        "client_id": client_id,
        "month": current,
        "previous_month": previous,
        "through_day": cutoff,
        "cost": cost,
        "currencies": out,
    }


def top_resources(
    facts: FactStore,
    client_id: str,
    *,
    month: str | None = None,
    cost: CostKind = "billed",
    limit: int = 10,
) -> dict[str, Any]:
    """The ``limit`` most expensive resources (rows without a resource id are left out)."""
    validate("resource", cost, month)
    rows = [
        r
        for r in facts.report(ReportQuery(client_id, "resource", month, cost))
        if r.key != "(none)"
    ]
    return {
        "client_id": client_id,
        "month": month,
        "cost": cost,
        "rows": [_row(r, cost) for r in rows[:limit]],
    }


def billed_vs_effective(
    facts: FactStore, client_id: str, *, month: str | None = None, by: str = "service"
) -> dict[str, Any]:
    """Billed and effective (amortised) cost side by side, with their difference."""
    validate(by, "billed", month)
    rows = facts.report(ReportQuery(client_id, by, month, "billed"))
    return {
        "client_id": client_id,
        "month": month,
        "by": by,
        "rows": [
            {
                **_row(r, "billed"),
                "difference": _money(r.billed_cost - r.effective_cost),
            }
            for r in rows
        ],
        "totals": _totals(rows),
    }


def _total_json(totals: list[CurrencyTotal]) -> list[dict[str, Any]]:
    return [
        {
            "currency": t.currency,
            "billed_cost": _money(t.billed_cost),
            "effective_cost": _money(t.effective_cost),
            "rows": t.rows,
        }
        for t in totals
    ]


def resource_details(facts: FactStore, client_id: str, resource_id: str) -> dict[str, Any] | None:
    """One resource's attributes (from its latest row), first/last day and totals; None when
    the client has no such resource."""
    detail = facts.resource(client_id, resource_id)
    if detail is None:
        return None
    return {
        "client_id": client_id,
        "resource_id": detail.resource_id,
        "resource_name": detail.resource_name,
        "resource_type": detail.resource_type,
        "service_name": detail.service_name,
        "region_id": detail.region_id,
        "account_id": detail.account_id,
        "first_seen": detail.first_seen,
        "last_seen": detail.last_seen,
        "tags": json.loads(detail.tags),
        "totals": _total_json(detail.totals),
    }


def store_period_reports(
    client_id: str, periods: list[str], facts: FactStore, files: TableStore, clock: Clock
) -> None:
    """Save each period's summary (totals, top services) as ``REPORT#<client>`` items."""
    for period in periods:
        by_service = facts.report(ReportQuery(client_id, "service", period, "billed"))
        files.put(
            {
                "PK": f"REPORT#{client_id}",
                "SK": period,
                "BuiltAt": clock.now().isoformat(),
                "Totals": json.dumps(_totals(by_service)),
                "TopServices": json.dumps([_row(r, "billed") for r in by_service[:10]]),
            }
        )
