"""The abstracted cost API on AWS Cost Explorer (GetCostAndUsage)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from stratus.platform.ports import PortError
from stratus.solutions.costs.costapi import CostQuery, CostRow, ProviderError

#: our dimension -> Cost Explorer DIMENSION key
DIMENSION_KEYS = {"service": "SERVICE", "account": "LINKED_ACCOUNT", "region": "REGION"}
#: our cost kind -> Cost Explorer metric
METRICS = {"billed": "UnblendedCost", "effective": "AmortizedCost"}


class CostExplorerCostApi:
    """``CostApi`` over Cost Explorer, through a boto3 session into the client's account."""

    provider = "aws"

    def __init__(self, session: Any, *, endpoint_url: str | None = None) -> None:
        self._session = session
        self._endpoint_url = endpoint_url

    def query(self, query: CostQuery) -> list[CostRow]:
        from stratus.platform.adapters.aws.costexplorer import get_cost_and_usage

        metric = METRICS[query.cost]
        try:
            raw = get_cost_and_usage(
                self._session,
                start=query.start.isoformat(),
                end=query.end.isoformat(),
                granularity=query.granularity,
                metrics=[metric],
                group_by=[DIMENSION_KEYS[d] for d in query.group_by],
                endpoint_url=self._endpoint_url,
            )
        except PortError as exc:
            raise ProviderError(str(exc)) from exc
        rows = []
        for row in raw:
            amount, unit = row.metrics.get(metric, ("0", "USD"))
            try:
                value = Decimal(amount)
            except InvalidOperation as exc:
                raise ProviderError(f"Cost Explorer answered a non-number {amount!r}") from exc
            rows.append(
                CostRow(
                    start=date.fromisoformat(row.start[:10]),
                    end=date.fromisoformat(row.end[:10]),
                    group=tuple(zip(query.group_by, row.keys, strict=False)),
                    amount=value,
                    currency=unit,
                )
            )
        return rows
