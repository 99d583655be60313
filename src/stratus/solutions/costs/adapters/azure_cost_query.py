"""The abstracted cost API on Azure Cost Management ``Query`` (REST, no SDK).

``POST https://management.azure.com/{scope}/providers/Microsoft.CostManagement/query
?api-version=2023-03-01`` with a bearer token from the Microsoft identity platform (client
credentials flow: the credential's tenant id, client id and client secret). The answer is
``{"properties": {"columns": [{"name", "type"}], "rows": [[...]], "nextLink": ...}}``; rows are
read by column name, so column order does not matter, and ``nextLink`` pages are followed.

The HTTP call goes through an injectable ``transport`` so tests replay a recorded answer
(``tests/events/costs_azure_query_*.json``) without a network.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from stratus.solutions.costs.costapi import CostQuery, CostRow, ProviderError, months_between

#: (method, url, headers, body) -> (status, body)
Transport = Callable[[str, str, Mapping[str, str], bytes | None], tuple[int, bytes]]

API_VERSION = "2023-03-01"
MANAGEMENT = "https://management.azure.com"
LOGIN = "https://login.microsoftonline.com"

#: our dimension -> Cost Management grouping column
DIMENSION_COLUMNS = {
    "service": "ServiceName",
    "account": "SubscriptionId",
    "region": "ResourceLocation",
}
#: our cost kind -> query type
QUERY_TYPES = {"billed": "ActualCost", "effective": "AmortizedCost"}
_COST_COLUMNS = ("totalCost", "PreTaxCost", "Cost", "CostUSD")


def urllib_transport(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None
) -> tuple[int, bytes]:
    """The real transport (HTTPS with urllib)."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read() or b"")
    except (urllib.error.URLError, OSError) as exc:
        raise ProviderError(f"Azure unreachable: {exc}") from exc


def request_body(query: CostQuery) -> dict[str, Any]:
    """The Query request for our query (the end date is exclusive here, inclusive in Azure)."""
    last = date.fromordinal(query.end.toordinal() - 1)
    dataset: dict[str, Any] = {
        "granularity": "Daily" if query.granularity == "DAILY" else "Monthly",
        "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
    }
    if query.group_by:
        dataset["grouping"] = [
            {"type": "Dimension", "name": DIMENSION_COLUMNS[d]} for d in query.group_by
        ]
    return {
        "type": QUERY_TYPES[query.cost],
        "timeframe": "Custom",
        "timePeriod": {
            "from": f"{query.start.isoformat()}T00:00:00+00:00",
            "to": f"{last.isoformat()}T23:59:59+00:00",
        },
        "dataset": dataset,
    }


def _usage_date(value: Any) -> date:
    text = str(value)
    if text.isdigit() and len(text) == 8:  # Daily: 20260115 as a number
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


def parse_rows(answer: Mapping[str, Any], query: CostQuery) -> tuple[list[CostRow], str | None]:
    """Rows of one Query answer page and the next page's URL (None on the last page)."""
    props = answer.get("properties")
    if not isinstance(props, Mapping):
        raise ProviderError("Azure answered without properties")
    names = [str(c.get("name")) for c in props.get("columns", [])]
    index = {name: i for i, name in enumerate(names)}
    cost_col = next((index[n] for n in _COST_COLUMNS if n in index), None)
    date_col = next((index[n] for n in ("UsageDate", "BillingMonth") if n in index), None)
    currency_col = index.get("Currency")
    if cost_col is None or date_col is None:
        raise ProviderError(f"Azure answer lacks a cost or date column: {names}")
    wanted = [(d, index.get(DIMENSION_COLUMNS[d])) for d in query.group_by]
    rows = []
    for raw in props.get("rows", []):
        day = _usage_date(raw[date_col])
        if query.granularity == "DAILY":
            start, end = day, date.fromordinal(day.toordinal() + 1)
        else:
            start = max(day.replace(day=1), query.start)
            end = next(
                (e for s, e in months_between(query.start, query.end) if s == start), query.end
            )
        try:
            amount = Decimal(str(raw[cost_col]))
        except InvalidOperation as exc:
            raise ProviderError(f"Azure answered a non-number cost {raw[cost_col]!r}") from exc
        group = tuple((d, "" if i is None else str(raw[i])) for d, i in wanted)
        currency = str(raw[currency_col]) if currency_col is not None else "USD"
        rows.append(CostRow(start, end, group, amount, currency))
    next_link = props.get("nextLink")
    return rows, (str(next_link) if next_link else None)


class AzureCostQueryApi:
    """``CostApi`` over Azure Cost Management Query for one scope."""

    provider = "azure"

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        transport: Transport = urllib_transport,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope.strip("/")
        self._transport = transport

    def _token(self) -> str:
        url = f"{LOGIN}/{urllib.parse.quote(self.tenant_id)}/oauth2/v2.0/token"
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "scope": f"{MANAGEMENT}/.default",
            }
        ).encode()
        status, body = self._transport(
            "POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, form
        )
        if status != 200:
            raise ProviderError(f"Azure sign-in refused (HTTP {status})")
        try:
            return str(json.loads(body)["access_token"])
        except (ValueError, KeyError) as exc:
            raise ProviderError("Azure sign-in answered no access_token") from exc

    def query(self, query: CostQuery) -> list[CostRow]:
        headers = {"Authorization": f"Bearer {self._token()}", "Content-Type": "application/json"}
        url: str | None = (
            f"{MANAGEMENT}/{self.scope}/providers/Microsoft.CostManagement/query"
            f"?api-version={API_VERSION}"
        )
        payload = json.dumps(request_body(query)).encode()
        rows: list[CostRow] = []
        while url is not None:
            status, body = self._transport("POST", url, headers, payload)
            if status != 200:
                raise ProviderError(f"Azure Cost Management answered HTTP {status}: {body[:300]!r}")
            try:
                answer = json.loads(body)
            except ValueError as exc:
                raise ProviderError("Azure Cost Management answered non-JSON") from exc
            page, url = parse_rows(answer, query)
            rows.extend(page)
        return rows
