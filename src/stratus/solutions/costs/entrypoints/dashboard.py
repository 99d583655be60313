"""``GET /dashboard``: the dashboard page (text/html). It needs no API key itself; the data
it fetches from the Reporting API does."""

from __future__ import annotations

from typing import Any

from stratus.solutions.costs.dashboard.page import PAGE


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The page, never cached by browsers for long (it is small and changes with releases)."""
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "max-age=60",
            "X-Content-Type-Options": "nosniff",
        },
        "body": PAGE,
    }
