"""AWS Cost and Usage Reports: legacy CUR (``lineItem/UnblendedCost``) and CUR 2.0
(``line_item_unblended_cost``), mapped to FOCUS as the FinOps Foundation's focus_converters do
(``mappings/focus_converters_aws-cur.csv``): BilledCost is NetUnblendedCost when present, else
UnblendedCost; EffectiveCost follows the line item type (reservation and Savings Plans
amortisation); tags come from ``resourceTags/*`` columns (legacy) or the ``resource_tags`` map.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal

from stratus.solutions.costs.domain.focus import (
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
from stratus.solutions.costs.domain.normalise._columns import Columns, Getter

_ZERO = Decimal(0).quantize(Decimal("1e-12"))


def cur_key(name: str) -> str:
    """One spelling for legacy and CUR 2.0 names: ``lineItem/UnblendedCost`` and
    ``line_item_unblended_cost`` both become ``line_item_unblended_cost``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).replace("/", "_")
    return snake.lower()


CHARGE_CATEGORY = {
    "Tax": "Tax",
    "Fee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Usage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "DiscountedUsage": "Usage",
    "BundledDiscount": "Usage",
    "Discount": "Usage",
    "PrivateRateDiscount": "Usage",
    "EdpDiscount": "Usage",
    "Credit": "Adjustment",
    "Refund": "Adjustment",
}


class CurNormaliser:
    """Normalises legacy CUR and CUR 2.0 rows."""

    def __init__(self, header: Sequence[str]) -> None:
        c = Columns(header, key=cur_key)
        self.unblended = c.get("lineItem/UnblendedCost")
        self.net_unblended = c.opt("lineItem/NetUnblendedCost")
        self.type = c.opt("lineItem/LineItemType")
        self.billing_start = c.get("bill/BillingPeriodStartDate")
        self.usage_start = c.get("lineItem/UsageStartDate")
        self.usage_end = c.opt("lineItem/UsageEndDate")
        self.payer = c.opt("bill/PayerAccountId")
        self.account = c.opt("lineItem/UsageAccountId")
        self.product = c.opt("lineItem/ProductCode")
        self.product_name = c.opt("product/ProductName")
        self.family = c.opt("product/productFamily")
        self.region = c.opt("product/regionCode", "product/region")
        self.resource = c.opt("lineItem/ResourceId")
        self.sku = c.opt("product/sku")
        self.amount = c.opt("lineItem/UsageAmount")
        self.unit = c.opt("pricing/unit")
        self.currency = c.get("lineItem/CurrencyCode")
        self.od_cost = c.opt("pricing/publicOnDemandCost")
        self.sp_effective = c.opt("savingsPlan/SavingsPlanEffectiveCost")
        self.sp_total = c.opt("savingsPlan/TotalCommitmentToDate")
        self.sp_used = c.opt("savingsPlan/UsedCommitment")
        self.ri_effective = c.opt("reservation/EffectiveCost")
        self.ri_unused_upfront = c.opt("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod")
        self.ri_unused_recurring = c.opt("reservation/UnusedRecurringFee")
        self.ri_arn = c.opt("reservation/ReservationARN")
        self.tag_columns: list[tuple[str, Getter]] = []
        for name in header:
            if name.startswith("resourceTags/"):
                self.tag_columns.append((name.removeprefix("resourceTags/"), c.get(name)))
        self.tag_map = c.opt("resource_tags")

    def _effective(self, kind: str, cells: Sequence[str], unblended: Decimal) -> Decimal:
        def amount(get: Getter, column: str) -> Decimal:
            return money(get(cells), column, required=False) or _ZERO

        if kind == "SavingsPlanCoveredUsage":
            return amount(self.sp_effective, "savingsPlan/SavingsPlanEffectiveCost")
        if kind == "SavingsPlanRecurringFee":
            return amount(self.sp_total, "savingsPlan/TotalCommitmentToDate") - amount(
                self.sp_used, "savingsPlan/UsedCommitment"
            )
        if kind in ("SavingsPlanNegation", "SavingsPlanUpfrontFee"):
            return _ZERO
        if kind == "DiscountedUsage":
            return amount(self.ri_effective, "reservation/EffectiveCost")
        if kind == "RIFee":
            return amount(
                self.ri_unused_upfront, "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"
            ) + amount(self.ri_unused_recurring, "reservation/UnusedRecurringFee")
        if kind == "Fee" and text(self.ri_arn(cells)):
            return _ZERO
        return unblended

    def _tags(self, cells: Sequence[str]) -> str:
        tags: dict[str, str] = {}
        for key, get in self.tag_columns:
            value = text(get(cells))
            if value:
                tags[key] = value
        raw = text(self.tag_map(cells))
        if raw:
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                raise RowError("resource_tags is not a JSON object") from None
            if not isinstance(parsed, dict):
                raise RowError("resource_tags is not a JSON object")
            tags.update({str(k): str(v) for k, v in parsed.items()})
        return tags_json(tags)

    def __call__(self, cells: Sequence[str]) -> FocusRow:
        unblended = required_money(self.unblended(cells), "lineItem/UnblendedCost")
        net = money(self.net_unblended(cells), "lineItem/NetUnblendedCost", required=False)
        kind = text(self.type(cells))
        currency = text(self.currency(cells))
        if not currency:
            raise RowError("lineItem/CurrencyCode is empty")
        product = text(self.product(cells))
        return FocusRow(
            billing_period=period_of(
                timestamp(self.billing_start(cells), "bill/BillingPeriodStartDate")
            ),
            charge_period_start=timestamp(self.usage_start(cells), "lineItem/UsageStartDate"),
            charge_period_end=optional_timestamp(self.usage_end(cells), "lineItem/UsageEndDate"),
            billing_account_id=text(self.payer(cells)),
            sub_account_id=text(self.account(cells)),
            provider_name="AWS",
            service_name=text(self.product_name(cells)) or product,
            service_category=text(self.family(cells)),
            region_id=text(self.region(cells)),
            resource_id=text(self.resource(cells)),
            resource_name="",
            resource_type="",
            sku_id=text(self.sku(cells)),
            charge_category=CHARGE_CATEGORY.get(kind, kind),
            consumed_quantity=money(self.amount(cells), "lineItem/UsageAmount", required=False),
            consumed_unit=text(self.unit(cells)),
            billed_cost=unblended if net is None else net,
            effective_cost=self._effective(kind, cells, unblended),
            list_cost=money(self.od_cost(cells), "pricing/publicOnDemandCost", required=False),
            billing_currency=currency,
            tags=self._tags(cells),
        )
