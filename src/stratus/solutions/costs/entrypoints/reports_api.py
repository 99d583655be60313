"""Reporting API (GET, API key required, cached by API Gateway for 60 s per query).

Routes (``{clientId}`` is the client; query ``cost=billed|effective``, ``month=YYYY-MM``,
``limit=N``; ``by=day|month|service|account|region|resource|category|tag:KEY``)::

    GET /reports/{clientId}?by=...                cost grouped by a dimension
    GET /reports/{clientId}/summary               month to date against the previous month
    GET /reports/{clientId}/top-resources         the most expensive resources
    GET /reports/{clientId}/billed-vs-effective   billed and amortised cost side by side
    GET /reports/{clientId}/resources/{resourceId}
    GET /reports/{clientId}/months                billing periods with data

Bodies are exactly what :mod:`stratus.solutions.costs.reports` builds (the same JSON
``stratus costs report --json`` prints). Bad parameters are 400 with the reason.
"""

from __future__ import annotations

from typing import Any

from stratus.platform.restapi import (
    BadRequestError,
    error,
    path_param,
    query_param,
    respond,
    route_of,
)
from stratus.solutions.costs import reports
from stratus.solutions.costs.bootstrap import facts

BASE = "/reports/{clientId}"
MAX_LIMIT = reports.MAX_LIMIT


def _limit(event: dict[str, Any], default: int | None) -> int | None:
    raw = query_param(event, "limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequestError([f"limit: must be a whole number from 1 to {MAX_LIMIT}"])
    return int(raw)


def _cost(event: dict[str, Any]) -> Any:
    cost = query_param(event, "cost") or "billed"
    if cost not in ("billed", "effective"):
        raise BadRequestError(["cost: must be billed or effective"])
    return cost


def _month(event: dict[str, Any]) -> str | None:
    return query_param(event, "month") or None


def _serve(event: dict[str, Any]) -> dict[str, Any]:
    method, resource = route_of(event)
    client = path_param(event, "clientId")
    store = facts()
    if resource == BASE:
        by = query_param(event, "by")
        if not by:
            raise BadRequestError(["by: required (day, service, account, region, tag:KEY, ...)"])
        body = reports.cost_report(
            store, client, by, cost=_cost(event), month=_month(event), limit=_limit(event, None)
        )
    elif resource == f"{BASE}/summary":
        body = reports.month_to_date(store, client, month=_month(event), cost=_cost(event))
    elif resource == f"{BASE}/top-resources":
        body = reports.top_resources(
            store, client, month=_month(event), cost=_cost(event), limit=_limit(event, 10) or 10
        )
    elif resource == f"{BASE}/billed-vs-effective":
        body = reports.billed_vs_effective(
            store, client, month=_month(event), by=query_param(event, "by") or "service"
        )
    elif resource == f"{BASE}/resources/{{resourceId}}":
        detail = reports.resource_details(store, client, path_param(event, "resourceId"))
        if detail is None:
            return error(404, f"client {client} has no resource {path_param(event, 'resourceId')}")
        body = detail
    elif resource == f"{BASE}/months":
        body = {"client_id": client, "months": store.months(client)}
    else:
        return error(404, f"no route {method} {resource}")
    return respond(200, body)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Every Reporting API route."""
    try:
        return _serve(event)
    except BadRequestError as exc:
        return error(400, "invalid request", exc.reasons)
    except reports.ReportRequestError as exc:
        return error(400, "invalid request", [str(exc)])
