"""The FOCUS row: the one kind of cost row every provider's export becomes.

FOCUS (FinOps Open Cost and Usage Specification) 1.2 names the columns; a :class:`FocusRow`
keeps the subset the reports need, with money as :class:`~decimal.Decimal` (never float),
timestamps tz-aware UTC, the billing currency as given, and tags as a canonical JSON object.

Parsing helpers raise :class:`RowError` with a reason a person can act on; the ETL counts such
rows as rejected and reports them per file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final

#: Money is kept to 12 decimal places everywhere (facts, sums, oracles).
MONEY_PLACES: Final = Decimal("1e-12")

#: Provider families: the ``provider`` of the (client, provider, billing period) key.
PROVIDER_FAMILIES: Final = {
    "aws-cur": "aws",
    "aws-focus": "aws",
    "azure": "azure",
    "gcp": "gcp",
    "oci": "oci",
    "focus": "focus",
}
PROVIDERS: Final = tuple(PROVIDER_FAMILIES)


class RowError(ValueError):
    """A row cannot be normalised; the message is the reason reported for it."""


@dataclass(frozen=True, slots=True)
class FocusRow:
    """One normalised cost row (FOCUS 1.2 column names in snake case)."""

    billing_period: str  # YYYY-MM of BillingPeriodStart
    charge_period_start: datetime
    charge_period_end: datetime | None
    billing_account_id: str
    sub_account_id: str
    provider_name: str
    service_name: str
    service_category: str
    region_id: str
    resource_id: str
    resource_name: str
    resource_type: str
    sku_id: str
    charge_category: str
    consumed_quantity: Decimal | None
    consumed_unit: str
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal | None
    billing_currency: str
    tags: str  # canonical JSON object text, "{}" when none

    @property
    def charge_date(self) -> date:
        """The UTC day of ChargePeriodStart."""
        return self.charge_period_start.date()


#: Column order of facts as stored (FocusRow fields, then charge_date).
FACT_FIELDS: Final = (
    "billing_period",
    "charge_period_start",
    "charge_period_end",
    "billing_account_id",
    "sub_account_id",
    "provider_name",
    "service_name",
    "service_category",
    "region_id",
    "resource_id",
    "resource_name",
    "resource_type",
    "sku_id",
    "charge_category",
    "consumed_quantity",
    "consumed_unit",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "billing_currency",
    "tags",
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not loaded: its 1-based data row number in the file and why."""

    row_number: int
    reason: str


_CURRENCY_SIGNS: Final = frozenset("$€£¥")
_THOUSANDS: Final = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
NULLS: Final = frozenset({"", "NULL", "null", "None", "NaN", "nan"})


def text(value: str | None) -> str:
    """A cell as text: the FOCUS sample's literal ``NULL`` (and blanks) become ``""``."""
    if value is None:
        return ""
    value = value.strip()
    return "" if value in NULLS else value


def money(value: str | None, column: str, *, required: bool = True) -> Decimal | None:
    """A decimal amount (12 places, half up); RowError names the column when it is not one."""
    raw = text(value)
    if not raw:
        if required:
            raise RowError(f"{column} is empty")
        return None
    if raw[0] in _CURRENCY_SIGNS:  # "$10,100.00" in the FOCUS SaaS examples
        raw = raw[1:].strip()
    elif raw[0] == "-" and raw[1:2] in _CURRENCY_SIGNS:
        raw = "-" + raw[2:].strip()
    if "," in raw and _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise RowError(f"{column} is not a number: {raw[:40]!r}") from None
    if not amount.is_finite():
        raise RowError(f"{column} is not a finite number: {raw[:40]!r}")
    try:
        return amount.quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the decimal context holds (|x| >= 1e16)
        raise RowError(f"{column} is out of range: {raw[:40]!r}") from None


def required_money(value: str | None, column: str) -> Decimal:
    """Like :func:`money`, never None."""
    amount = money(value, column, required=True)
    assert amount is not None
    return amount


_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def timestamp(value: str | None, column: str) -> datetime:
    """A tz-aware UTC datetime from ISO 8601 (``Z``, offsets, space separator, date only) or a
    US ``M/D/YYYY`` (or ``M/D/YY``) date as Azure EA exports write it. Naive means UTC."""
    raw = text(value)
    if not raw:
        raise RowError(f"{column} is empty")
    parsed = _parse_timestamp(raw)
    if parsed is None:
        raise RowError(f"{column} is not a timestamp: {raw[:40]!r}")
    return parsed


@lru_cache(maxsize=65_536)  # cost rows repeat the same hours and days many times
def _parse_timestamp(raw: str) -> datetime | None:
    match = _US_DATE.match(raw)
    if match:
        month, day, year = int(match[1]), int(match[2]), int(match[3])
        year = year + 2000 if year < 100 else year
        try:
            return datetime(
                year,
                month,
                day,
                int(match[4] or 0),
                int(match[5] or 0),
                int(match[6] or 0),
                tzinfo=UTC,
            )
        except ValueError:
            return None
    iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_timestamp(value: str | None, column: str) -> datetime | None:
    """:func:`timestamp`, or None for an empty cell."""
    return timestamp(value, column) if text(value) else None


def period_of(moment: datetime) -> str:
    """``YYYY-MM`` of a UTC moment."""
    return f"{moment.year:04d}-{moment.month:02d}"


def tags_json(tags: dict[str, Any]) -> str:
    """Canonical JSON of a tag mapping: keys sorted, values as text, empty values dropped."""
    if not tags:
        return "{}"
    clean = {str(k): str(v) for k, v in tags.items() if k and v not in (None, "")}
    return json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_tags(raw: str | None, column: str = "Tags") -> str:
    """Tags given as a JSON object, or Azure's brace-less ``"k": "v","k2": "v2"`` form, or
    ``k=v;k2=v2``; empty → ``{}``."""
    cell = text(raw)
    if not cell:
        return "{}"
    candidates = [cell] if cell.startswith("{") else [cell, "{" + cell + "}"]
    for candidate in candidates:
        try:
            parsed = json.loads(candidate)
        except RecursionError:  # nested beyond reason
            raise RowError(f"{column} is nested too deeply") from None
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            return tags_json(parsed)
        raise RowError(f"{column} is not an object")
    if "=" in cell:
        pairs = (part.split("=", 1) for part in re.split(r"[;,]", cell) if "=" in part)
        return tags_json({k.strip(): v.strip() for k, v in pairs})
    raise RowError(f"{column} is not a tag object: {cell[:40]!r}")
