"""Azure cost exports: EA and MCA, actual or amortised (Cost Management exports / usage
details). Mapped as focus_converters does (``mappings/focus_converters_azure.csv``):
BilledCost = EffectiveCost = the cost in billing currency (an amortised export's Cost *is* the
amortised cost), the charge day is ``Date``; US ``MM/DD/YYYY`` and ISO dates both parse; tags
may lack their braces (``"k": "v","k2": "v2"``), as older EA exports write them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from stratus.solutions.costs.domain.focus import (
    FocusRow,
    RowError,
    money,
    parse_tags,
    period_of,
    required_money,
    text,
    timestamp,
)
from stratus.solutions.costs.domain.normalise._columns import Columns

CHARGE_CATEGORY = {
    "Usage": "Usage",
    "Purchase": "Purchase",
    "Tax": "Tax",
    "UnusedReservation": "Usage",
    "UnusedSavingsPlan": "Usage",
}


class AzureNormaliser:
    """Normalises Azure EA/MCA cost export rows."""

    def __init__(self, header: Sequence[str]) -> None:
        c = Columns(header, key=str.lower)
        self.cost = c.get("CostInBillingCurrency", "Cost", "PreTaxCost")
        self.payg = c.opt("PayGPrice")
        self.quantity = c.opt("Quantity", "UsageQuantity")
        self.date = c.get("Date", "UsageDate")
        self.billing_start = c.opt("BillingPeriodStartDate")
        self.account = c.opt("BillingAccountId")
        self.subscription = c.opt("SubscriptionId", "SubscriptionGuid")
        self.service = c.opt("MeterCategory", "ConsumedService")
        self.family = c.opt("ServiceFamily")
        self.region = c.opt("ResourceLocation")
        self.resource = c.opt("ResourceId", "InstanceId")
        self.resource_name = c.opt("ResourceName")
        self.resource_type = c.opt("ConsumedService")
        self.sku = c.opt("MeterId", "PartNumber")
        self.charge_type = c.opt("ChargeType")
        self.unit = c.opt("UnitOfMeasure")
        self.currency = c.get("BillingCurrencyCode", "BillingCurrency", "Currency")
        self.tags = c.opt("Tags")

    def __call__(self, cells: Sequence[str]) -> FocusRow:
        cost = required_money(self.cost(cells), "Cost")
        currency = text(self.currency(cells))
        if not currency:
            raise RowError("BillingCurrency is empty")
        day = timestamp(self.date(cells), "Date")
        start_cell = self.billing_start(cells)
        billing_start = timestamp(start_cell, "BillingPeriodStartDate") if text(start_cell) else day
        kind = text(self.charge_type(cells))
        quantity = money(self.quantity(cells), "Quantity", required=False)
        payg = money(self.payg(cells), "PayGPrice", required=False)
        return FocusRow(
            billing_period=period_of(billing_start),
            charge_period_start=day,
            charge_period_end=day + timedelta(days=1),
            billing_account_id=text(self.account(cells)),
            sub_account_id=text(self.subscription(cells)),
            provider_name="Microsoft",
            service_name=text(self.service(cells)),
            service_category=text(self.family(cells)),
            region_id=text(self.region(cells)).lower(),
            resource_id=text(self.resource(cells)),
            resource_name=text(self.resource_name(cells)),
            resource_type=text(self.resource_type(cells)),
            sku_id=text(self.sku(cells)),
            charge_category=CHARGE_CATEGORY.get(kind, "Adjustment" if kind else "Usage"),
            consumed_quantity=quantity,
            consumed_unit=text(self.unit(cells)),
            billed_cost=cost,
            effective_cost=cost,
            list_cost=(payg * quantity).quantize(cost) if payg is not None and quantity else None,
            billing_currency=currency,
            tags=parse_tags(self.tags(cells)),
        )
