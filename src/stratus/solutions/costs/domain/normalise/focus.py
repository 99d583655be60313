"""FOCUS files (1.0, 1.1, 1.2, 1.3), AWS CUR 2.0 FOCUS exports and OCI FOCUS reports.

The columns are FOCUS's own, so normalising is parsing: money to Decimal, timestamps to UTC,
the literal ``NULL`` of some exports to empty, tags to canonical JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

from stratus.solutions.costs.domain.focus import (
    FocusRow,
    RowError,
    money,
    optional_timestamp,
    parse_tags,
    period_of,
    required_money,
    text,
    timestamp,
)
from stratus.solutions.costs.domain.normalise._columns import Columns

_DEFAULT_PROVIDER = {"aws-focus": "AWS", "oci": "Oracle Cloud Infrastructure"}


class FocusNormaliser:
    """Normalises rows of a FOCUS-format file."""

    def __init__(self, header: Sequence[str], provider: str = "focus") -> None:
        c = Columns(header)
        self._default_provider = _DEFAULT_PROVIDER.get(provider, "")
        self.billed = c.get("BilledCost")
        self.effective = c.opt("EffectiveCost")
        self.list_cost = c.opt("ListCost")
        self.billing_start = c.get("BillingPeriodStart")
        self.charge_start = c.get("ChargePeriodStart")
        self.charge_end = c.opt("ChargePeriodEnd")
        self.account = c.opt("BillingAccountId")
        self.sub_account = c.opt("SubAccountId")
        self.provider = c.opt("ProviderName", "ServiceProviderName", "Provider")
        self.service = c.opt("ServiceName")
        self.category = c.opt("ServiceCategory")
        self.region = c.opt("RegionId", "Region")
        self.resource = c.opt("ResourceId")
        self.resource_name = c.opt("ResourceName")
        self.resource_type = c.opt("ResourceType")
        self.sku = c.opt("SkuId")
        self.charge_category = c.opt("ChargeCategory")
        self.quantity = c.opt("ConsumedQuantity")
        self.unit = c.opt("ConsumedUnit")
        self.currency = c.opt("BillingCurrency")
        # FOCUS requires BillingCurrency; the spec's worked examples leave the column out.
        # Without the column the currency is kept unknown (""); an empty cell is an error.
        self.currency_required = c.has("BillingCurrency")
        self.tags = c.opt("Tags")

    def __call__(self, cells: Sequence[str]) -> FocusRow:
        billed = required_money(self.billed(cells), "BilledCost")
        effective = money(self.effective(cells), "EffectiveCost", required=False)
        currency = text(self.currency(cells))
        if not currency and self.currency_required:
            raise RowError("BillingCurrency is empty")
        return FocusRow(
            billing_period=period_of(timestamp(self.billing_start(cells), "BillingPeriodStart")),
            charge_period_start=timestamp(self.charge_start(cells), "ChargePeriodStart"),
            charge_period_end=optional_timestamp(self.charge_end(cells), "ChargePeriodEnd"),
            billing_account_id=text(self.account(cells)),
            sub_account_id=text(self.sub_account(cells)),
            provider_name=text(self.provider(cells)) or self._default_provider,
            service_name=text(self.service(cells)),
            service_category=text(self.category(cells)),
            region_id=text(self.region(cells)),
            resource_id=text(self.resource(cells)),
            resource_name=text(self.resource_name(cells)),
            resource_type=text(self.resource_type(cells)),
            sku_id=text(self.sku(cells)),
            charge_category=text(self.charge_category(cells)),
            consumed_quantity=money(self.quantity(cells), "ConsumedQuantity", required=False),
            consumed_unit=text(self.unit(cells)),
            billed_cost=billed,
            effective_cost=billed if effective is None else effective,
            list_cost=money(self.list_cost(cells), "ListCost", required=False),
            billing_currency=currency,
            tags=parse_tags(self.tags(cells)),
        )
