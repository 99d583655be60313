"""AWS Cost Explorer ``GetCostAndUsage`` (boto3): every page, flattened to plain rows.

Solutions map their own query shape onto this; errors become port errors. Cost Explorer is a
global service answered in us-east-1, so the client is made there unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stratus.platform.ports.errors import BackendUnavailableError, InvalidRequestError


@dataclass(frozen=True)
class CostAndUsageRow:
    """One ``ResultsByTime`` entry for one group (or the total when there are no groups)."""

    start: str
    end: str
    keys: tuple[str, ...]
    metrics: dict[str, tuple[str, str]]  # metric -> (amount, unit)
    estimated: bool


def get_cost_and_usage(
    session: Any,
    *,
    start: str,
    end: str,
    granularity: str,
    metrics: Sequence[str],
    group_by: Sequence[str] = (),
    endpoint_url: str | None = None,
) -> list[CostAndUsageRow]:
    """GetCostAndUsage over ``[start, end)`` grouped by the given DIMENSION keys."""
    client = session.client("ce", region_name="us-east-1", endpoint_url=endpoint_url or None)
    params: dict[str, Any] = {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": granularity,
        "Metrics": list(metrics),
    }
    if group_by:
        params["GroupBy"] = [{"Type": "DIMENSION", "Key": key} for key in group_by]
    rows: list[CostAndUsageRow] = []
    while True:
        try:
            answer = client.get_cost_and_usage(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if code in ("ValidationException", "DataUnavailableException"):
                raise InvalidRequestError(f"Cost Explorer: {code}: {message}") from exc
            raise BackendUnavailableError(f"Cost Explorer: {code}: {message}") from exc
        except BotoCoreError as exc:
            raise BackendUnavailableError(f"Cost Explorer: {exc}") from exc
        for period in answer.get("ResultsByTime", []):
            when = period.get("TimePeriod", {})
            estimated = bool(period.get("Estimated", False))
            groups = period.get("Groups") or []
            if not groups and not group_by:
                groups = [{"Keys": [], "Metrics": period.get("Total", {})}]
            for group in groups:
                rows.append(
                    CostAndUsageRow(
                        start=str(when.get("Start", start)),
                        end=str(when.get("End", end)),
                        keys=tuple(str(k) for k in group.get("Keys", [])),
                        metrics={
                            name: (str(value.get("Amount", "0")), str(value.get("Unit", "USD")))
                            for name, value in (group.get("Metrics") or {}).items()
                        },
                        estimated=estimated,
                    )
                )
        token = answer.get("NextPageToken")
        if not token:
            return rows
        params["NextPageToken"] = token
