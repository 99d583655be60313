from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.domain.accounts import Role
from stratus.solutions.streaming.domain.orders import (
    Order,
    OrderStatus,
    Product,
    price_order,
)
from stratus.solutions.streaming.service import Caller, Ports

from .conftest import SHIPPING, as_caller

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _order(status: OrderStatus) -> Order:
    return Order("o1", "u1", "box", 1, 100, "EUR", SHIPPING, status, NOW)


def test_the_lifecycle_goes_placed_paid_shipped_delivered() -> None:
    order = _order(OrderStatus.PLACED)
    for status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        order = order.move_to(status, NOW)
    assert order.status is OrderStatus.DELIVERED
    assert [h[0] for h in order.history] == ["paid", "shipped", "delivered"]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (OrderStatus.PLACED, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.CANCELLED),
        (OrderStatus.DELIVERED, OrderStatus.PAID),
        (OrderStatus.CANCELLED, OrderStatus.PAID),
    ],
)
def test_illegal_moves_conflict(start: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(ConflictError):
        _order(start).move_to(target, NOW)


def test_price_is_quantity_times_price_and_bounded() -> None:
    box = Product("box", "Box", 29900)
    assert price_order(box, 2) == 59800
    with pytest.raises(DomainError):
        price_order(box, 0)
    with pytest.raises(DomainError):
        price_order(Product("old", "Old", 100, active=False), 1)


def test_a_paid_order_makes_a_viewer_a_device_owner(ports: Ports, viewer: Caller) -> None:
    order = service.place_order(ports, viewer, "box", 2, SHIPPING, "tok_ok")
    assert order.status is OrderStatus.PAID
    assert order.amount_cents == 59800
    assert order.payment_reference.startswith("test_")
    assert as_caller(ports, "viewer@example.com").role is Role.OWNER


def test_a_declined_payment_keeps_the_order_and_can_be_retried(
    ports: Ports, viewer: Caller
) -> None:
    order = service.place_order(ports, viewer, "box", 1, SHIPPING, "tok_declined")
    assert order.status is OrderStatus.PAYMENT_FAILED
    assert as_caller(ports, "viewer@example.com").role is Role.VIEWER
    paid = service.pay_order(ports, viewer, order.order_id, "tok_ok")
    assert paid.status is OrderStatus.PAID
    assert [o.order_id for o in ports.store.orders_of(viewer.user_id)] == [order.order_id]


def test_admin_ships_and_owners_cannot(ports: Ports, owner: Caller, admin: Caller) -> None:
    order = ports.store.orders_of(owner.user_id)[0]
    with pytest.raises(NotAllowedError):
        service.move_order(ports, owner, order.order_id, OrderStatus.SHIPPED)
    shipped = service.move_order(ports, admin, order.order_id, OrderStatus.SHIPPED)
    assert shipped.status is OrderStatus.SHIPPED
    with pytest.raises(ConflictError):
        service.move_order(ports, admin, order.order_id, OrderStatus.CANCELLED)


def test_admin_manages_prices(ports: Ports, admin: Caller, viewer: Caller) -> None:
    service.put_product(ports, admin, "box", "Stratus Box", 19900, True)
    assert ports.store.product("box").price_cents == 19900
    with pytest.raises(NotAllowedError):
        service.put_product(ports, viewer, "box", "Cheap", 1, True)
    with pytest.raises(DomainError):
        service.put_product(ports, admin, "box", "Box", -1, True)
