"""Device catalogue and orders: prices in cents, an order's status lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from stratus.solutions.streaming.domain import ConflictError, DomainError


class OrderStatus(StrEnum):
    """placed -> paid -> shipped -> delivered; placed/paid -> cancelled; placed -> failed."""

    PLACED = "placed"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset(
        {OrderStatus.PAID, OrderStatus.PAYMENT_FAILED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAYMENT_FAILED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class Product:
    """A catalogue entry; the admin manages the price."""

    product_id: str
    name: str
    price_cents: int
    currency: str = "EUR"
    active: bool = True


@dataclass(frozen=True)
class Shipping:
    """Where the device goes."""

    name: str
    address: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class Order:
    """An order of ``quantity`` devices at the price of the day."""

    order_id: str
    user_id: str
    product_id: str
    quantity: int
    amount_cents: int
    currency: str
    shipping: Shipping
    status: OrderStatus
    created_at: datetime
    payment_reference: str = ""
    history: tuple[tuple[str, str], ...] = ()

    def move_to(self, status: OrderStatus, at: datetime) -> Order:
        """The order in ``status``; ConflictError when the lifecycle does not allow it."""
        if status not in TRANSITIONS[self.status]:
            raise ConflictError(f"order {self.order_id} cannot go from {self.status} to {status}")
        return replace(self, status=status, history=(*self.history, (status.value, at.isoformat())))


def price_order(product: Product, quantity: int) -> int:
    """The amount in cents; DomainError for a bad quantity or an inactive product."""
    if not product.active:
        raise DomainError(f"product {product.product_id} is not for sale")
    if not 1 <= quantity <= 10:
        raise DomainError("quantity: between 1 and 10")
    return product.price_cents * quantity
