"""The abstracted cost API: one query shape over the providers' own cost APIs.

``GET /clients/{clientId}/costs?credential=ID&start=YYYY-MM-DD&end=YYYY-MM-DD
&granularity=DAILY|MONTHLY&groupBy=service,account,region&cost=billed|effective``
answers the same JSON whatever the provider behind the credential:

* ``aws`` → AWS Cost Explorer ``GetCostAndUsage`` (UnblendedCost = billed, AmortizedCost =
  effective; dimensions SERVICE, LINKED_ACCOUNT, REGION), adapter in
  :mod:`stratus.solutions.costs.adapters.aws_cost_explorer` over the boto3 code in
  ``platform/adapters/aws/costexplorer.py``;
* ``azure`` → Azure Cost Management ``Query`` (ActualCost = billed, AmortizedCost =
  effective; dimensions ServiceName, SubscriptionId, ResourceLocation), adapter in
  :mod:`stratus.solutions.costs.adapters.azure_cost_query`.

Adding a provider is one class implementing :class:`CostApi` plus one entry in the
bootstrap's factory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, Protocol

Granularity = Literal["DAILY", "MONTHLY"]
CostKind = Literal["billed", "effective"]
DIMENSIONS = ("service", "account", "region")
MAX_DAYS = 366


class CostQueryError(Exception):
    """The query is not acceptable (400) — ``reasons`` say why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class ProviderError(Exception):
    """The provider's API refused or failed (502): the message says what it answered."""


@dataclass(frozen=True)
class CostQuery:
    """A period ``[start, end)``, a granularity, up to two dimensions and the cost kind."""

    start: date
    end: date
    granularity: Granularity = "DAILY"
    group_by: tuple[str, ...] = ()
    cost: CostKind = "billed"


@dataclass(frozen=True)
class CostRow:
    """The cost of one period for one combination of the grouped dimensions."""

    start: date
    end: date
    group: tuple[tuple[str, str], ...]
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class CostResult:
    """What a provider answered, in the common shape."""

    provider: str
    query: CostQuery
    rows: tuple[CostRow, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        totals: dict[str, Decimal] = {}
        for row in self.rows:
            totals[row.currency] = totals.get(row.currency, Decimal(0)) + row.amount
        return {
            "Provider": self.provider,
            "Start": self.query.start.isoformat(),
            "End": self.query.end.isoformat(),
            "Granularity": self.query.granularity,
            "GroupBy": list(self.query.group_by),
            "Cost": self.query.cost,
            "Rows": [
                {
                    "Start": r.start.isoformat(),
                    "End": r.end.isoformat(),
                    "Group": dict(r.group),
                    "Amount": str(r.amount),
                    "Currency": r.currency,
                }
                for r in self.rows
            ],
            "Totals": {currency: str(amount) for currency, amount in sorted(totals.items())},
        }


class CostApi(Protocol):
    """A provider's cost API."""

    provider: str

    def query(self, query: CostQuery) -> list[CostRow]:
        """Rows for the query; ProviderError when the provider fails."""
        ...


def parse_query(
    start: str | None,
    end: str | None,
    granularity: str | None,
    group_by: str | None,
    cost: str | None,
) -> CostQuery:
    """A CostQuery from query-string values; CostQueryError with every reason otherwise."""
    reasons: list[str] = []
    parsed: dict[str, date] = {}
    for name, value in (("start", start), ("end", end)):
        if not value:
            reasons.append(f"{name}: required (YYYY-MM-DD)")
            continue
        try:
            parsed[name] = date.fromisoformat(value)
        except ValueError:
            reasons.append(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
    gran = (granularity or "DAILY").upper()
    if gran not in ("DAILY", "MONTHLY"):
        reasons.append("granularity: must be DAILY or MONTHLY")
    dims = tuple(d.strip().lower() for d in (group_by or "").split(",") if d.strip())
    for dim in dims:
        if dim not in DIMENSIONS:
            reasons.append(f"groupBy: {dim!r} is not one of {', '.join(DIMENSIONS)}")
    if len(dims) > 2:
        reasons.append("groupBy: at most two dimensions (a Cost Explorer limit)")
    if len(set(dims)) != len(dims):
        reasons.append("groupBy: a dimension is repeated")
    kind = (cost or "billed").lower()
    if kind not in ("billed", "effective"):
        reasons.append("cost: must be billed or effective")
    if "start" in parsed and "end" in parsed:
        if parsed["end"] <= parsed["start"]:
            reasons.append("end: must be after start (the end date is exclusive)")
        elif parsed["end"] - parsed["start"] > timedelta(days=MAX_DAYS):
            reasons.append(f"end: the period is limited to {MAX_DAYS} days")
    if reasons:
        raise CostQueryError(reasons)
    return CostQuery(
        start=parsed["start"],
        end=parsed["end"],
        granularity=gran,  # type: ignore[arg-type]
        group_by=dims,
        cost=kind,  # type: ignore[arg-type]
    )


def query_costs(api: CostApi, query: CostQuery) -> CostResult:
    """Ask the provider and return its rows in the common shape, in a stable order."""
    rows = sorted(api.query(query), key=lambda r: (r.start, r.group, r.currency))
    return CostResult(api.provider, query, tuple(rows))


def months_between(start: date, end: date) -> Sequence[tuple[date, date]]:
    """Calendar-month periods covering ``[start, end)`` (clipped to it)."""
    periods = []
    current = start
    while current < end:
        nxt = date(current.year + current.month // 12, current.month % 12 + 1, 1)
        periods.append((current, min(nxt, end)))
        current = nxt
    return periods
