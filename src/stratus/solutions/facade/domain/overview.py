"""The combined answers of the facade: sources, partial answers and the legacy shapes.

The legacy API speaks in upper-case columns (``CUST_NAME``) and returns only part of what
the new frontend needs; these pure functions translate and combine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """One source that could not answer: which, why (``timeout``, ``circuit_open``...)."""

    source: str
    kind: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form in a partial answer."""
        return {"source": self.source, "error": self.kind, "message": self.message}


class LegacyShapeError(ValueError):
    """The legacy API answered JSON of an unexpected shape."""


def profile_from_legacy(raw: Any) -> dict[str, Any]:
    """``{"CUST_ID", "CUST_NAME", "EMAIL", "PHONE", "CTRY"}`` → the facade's profile."""
    if not isinstance(raw, Mapping):
        raise LegacyShapeError("customer: not an object")
    try:
        return {
            "id": str(raw["CUST_ID"]),
            "name": str(raw["CUST_NAME"]),
            "email": str(raw["EMAIL"]),
            "phone": str(raw["PHONE"]),
            "countryCode": str(raw["CTRY"]),
        }
    except KeyError as exc:
        raise LegacyShapeError(f"customer: missing {exc.args[0]}") from exc


def orders_from_legacy(raw: Any) -> list[dict[str, Any]]:
    """``{"ORDERS": [{"ORDER_NO", "ORDER_DATE", "STATUS", "TOTAL"}]}`` → orders, newest first."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("ORDERS"), list):
        raise LegacyShapeError("orders: no ORDERS list")
    out: list[dict[str, Any]] = []
    for row in raw["ORDERS"]:
        if not isinstance(row, Mapping):
            raise LegacyShapeError("orders: an order is not an object")
        try:
            out.append(
                {
                    "id": str(row["ORDER_NO"]),
                    "placedAt": str(row["ORDER_DATE"]),
                    "status": str(row["STATUS"]).lower(),
                    "totalCents": round(float(row["TOTAL"]) * 100),
                }
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LegacyShapeError(f"orders: bad order {row!r}") from exc
    out.sort(key=lambda o: str(o["placedAt"]), reverse=True)
    return out


def products_from_legacy(raw: Any) -> list[dict[str, Any]]:
    """``[{"SKU", "DESCR", "PRICE"}]`` → products."""
    if not isinstance(raw, list):
        raise LegacyShapeError("products: not a list")
    try:
        return [
            {
                "sku": str(p["SKU"]),
                "description": str(p["DESCR"]),
                "priceCents": round(float(p["PRICE"]) * 100),
            }
            for p in raw
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise LegacyShapeError("products: bad product") from exc


def overview(
    customer_id: str,
    *,
    profile: dict[str, Any] | None,
    orders: list[dict[str, Any]] | None,
    loyalty: dict[str, Any] | None,
    failures: Sequence[SourceFailure],
) -> dict[str, Any]:
    """The one-response overview; ``partial`` is true when any source failed."""
    summary = None
    if orders is not None:
        summary = {
            "count": len(orders),
            "totalCents": sum(o["totalCents"] for o in orders),
            "lastOrderAt": orders[0]["placedAt"] if orders else None,
        }
    return {
        "customerId": customer_id,
        "profile": profile,
        "orders": orders,
        "orderSummary": summary,
        "loyalty": loyalty,
        "partial": bool(failures),
        "errors": [f.as_dict() for f in failures],
    }
