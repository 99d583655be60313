"""Google Cloud billing export (the BigQuery standard export, as CSV with dotted column names
such as ``service.description``), mapped as focus_converters does
(``mappings/focus_converters_gcp.csv``): BilledCost = cost; EffectiveCost = cost + the sum of
``credits`` amounts, floored at 0; the billing period is ``invoice.month`` (``YYYYMM``); the
region is ``location.region`` else ``location.location``; tags are the ``labels``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from stratus.solutions.costs.domain.focus import (
    MONEY_PLACES,
    FocusRow,
    RowError,
    money,
    optional_timestamp,
    period_of,
    required_money,
    tags_json,
    text,
    timestamp,
)
from stratus.solutions.costs.domain.normalise._columns import Columns

CHARGE_CATEGORY = {
    "tax": "Tax",
    "regular": "Usage",
    "adjustment": "Adjustment",
    "credit": "Adjustment",
    "rounding_error": "Adjustment",
}


def _json_list(raw: str, column: str) -> list[object]:
    cell = text(raw)
    if not cell:
        return []
    try:
        parsed = json.loads(cell)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested beyond reason
        raise RowError(f"{column} is not JSON") from None
    if isinstance(parsed, dict):
        return [parsed]
    if not isinstance(parsed, list):
        raise RowError(f"{column} is not a JSON list")
    return parsed


class GcpNormaliser:
    """Normalises GCP billing export rows."""

    def __init__(self, header: Sequence[str]) -> None:
        c = Columns(header, key=str.lower)
        self.cost = c.get("cost")
        self.cost_at_list = c.opt("cost_at_list")
        self.credits = c.opt("credits")
        self.currency = c.get("currency")
        self.invoice_month = c.opt("invoice.month", "invoice_month")
        self.start = c.get("usage_start_time")
        self.end = c.opt("usage_end_time")
        self.account = c.opt("billing_account_id")
        self.project = c.opt("project.id", "project_id")
        self.service = c.opt("service.description", "service_description")
        self.sku = c.opt("sku.id", "sku_id")
        self.region = c.opt("location.region", "location_region")
        self.location = c.opt("location.location", "location_location")
        self.resource = c.opt("resource.global_name", "resource_global_name")
        self.resource_name = c.opt("resource.name", "resource_name")
        self.cost_type = c.opt("cost_type")
        self.amount = c.opt("usage.amount", "usage_amount")
        self.unit = c.opt("usage.unit", "usage_unit")
        self.labels = c.opt("labels")

    def _credits(self, cells: Sequence[str]) -> Decimal:
        total = Decimal(0)
        for credit in _json_list(self.credits(cells), "credits"):
            if isinstance(credit, dict):
                total += money(str(credit.get("amount", "")), "credits.amount", required=False) or 0
        return total

    def _labels(self, cells: Sequence[str]) -> str:
        labels: dict[str, str] = {}
        for label in _json_list(self.labels(cells), "labels"):
            if isinstance(label, dict) and "key" in label:
                labels[str(label["key"])] = str(label.get("value", ""))
            elif isinstance(label, dict):
                labels.update({str(k): str(v) for k, v in label.items()})
        return tags_json(labels)

    def __call__(self, cells: Sequence[str]) -> FocusRow:
        cost = required_money(self.cost(cells), "cost")
        currency = text(self.currency(cells))
        if not currency:
            raise RowError("currency is empty")
        start = timestamp(self.start(cells), "usage_start_time")
        month = text(self.invoice_month(cells))
        if month and (len(month) != 6 or not month.isdigit()):
            raise RowError(f"invoice.month is not YYYYMM: {month[:20]!r}")
        try:
            effective = max(cost + self._credits(cells), Decimal(0)).quantize(MONEY_PLACES)
        except InvalidOperation:  # more digits than the decimal context holds (>= 1e16)
            raise RowError("cost plus credits is out of range") from None
        return FocusRow(
            billing_period=f"{month[:4]}-{month[4:]}" if month else period_of(start),
            charge_period_start=start,
            charge_period_end=optional_timestamp(self.end(cells), "usage_end_time"),
            billing_account_id=text(self.account(cells)),
            sub_account_id=text(self.project(cells)),
            provider_name="Google Cloud",
            service_name=text(self.service(cells)),
            service_category="",
            region_id=text(self.region(cells)) or text(self.location(cells)),
            resource_id=text(self.resource(cells)),
            resource_name=text(self.resource_name(cells)),
            resource_type="",
            sku_id=text(self.sku(cells)),
            charge_category=CHARGE_CATEGORY.get(text(self.cost_type(cells)).lower(), "Usage"),
            consumed_quantity=money(self.amount(cells), "usage.amount", required=False),
            consumed_unit=text(self.unit(cells)),
            billed_cost=cost,
            effective_cost=effective,
            list_cost=money(self.cost_at_list(cells), "cost_at_list", required=False),
            billing_currency=currency,
            tags=self._labels(cells),
        )
