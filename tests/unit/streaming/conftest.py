"""Use-case tests run on the real local adapters (SQLite table, files, outbox) and a fake clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.ports import IndexSpec, PasswordPolicy, TableSpec, UserPool
from stratus.platform.runtime.resources import LocalResources
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain.accounts import Role
from stratus.solutions.streaming.domain.orders import Product, Shipping
from stratus.solutions.streaming.service import Caller, Ports, TestPaymentProvider
from stratus.solutions.streaming.store import Store
from stratus.solutions.streaming.uploads import LocalUploadSigner
from stratus.solutions.streaming.warehouse import SqliteWarehouse

SPEC = TableSpec(
    name="streaming",
    indexes={"GSI1": IndexSpec("Data1", "Sort1"), "GSI2": IndexSpec("Data2", "Sort2")},
)
SENDER = "noreply@streaming.example.com"
SHIPPING = Shipping("Ann Example", "1 Main St", "Berlin", "10115", "DE")
# The template's user pool: its password policy, groups and 12-hour sessions.
POLICY = PasswordPolicy(10, require_lowercase=True, require_uppercase=False,
                        require_numbers=True, require_symbols=False)
SESSION = timedelta(hours=12)


def user_pool(resources: LocalResources) -> UserPool:
    pools = resources.user_pools
    pools.create_pool("us-east-1_streaming", POLICY)
    for group in ("admin", "device-owner"):
        pools.create_group("us-east-1_streaming", group)
    pools.create_client("us-east-1_streaming", "web", id_token_validity=SESSION,
                        access_token_validity=SESSION)
    return resources.user_pool("us-east-1_streaming", "web")


@pytest.fixture
def ports(tmp_path: Path, clock: FakeClock) -> Ports:
    resources = LocalResources(tmp_path, clock=clock, verified_senders=[SENDER])
    table = resources.create_table(SPEC)
    store = Store(table)
    store.put_product(Product("box", "Stratus Box", 29900))
    return Ports(
        store=store, recordings=resources.bucket("recordings"), mailer=resources.mailer(),
        clock=clock, secrets=resources.secrets(), payments=TestPaymentProvider(),
        warehouse=SqliteWarehouse(tmp_path / "warehouse.sqlite3"), users=user_pool(resources),
        uploads=LocalUploadSigner(resources.secrets(), "http://127.0.0.1:9",
                                  now=lambda: clock.now().timestamp()),
        sender=SENDER, reconnect_window_s=10, ingest_url="rtmp://127.0.0.1:1935/live",
    )


def as_caller(ports: Ports, email: str) -> Caller:
    user = ports.store.user_by_email(email)
    assert user is not None
    return Caller(user.user_id, user.role, user.settings.display_name)


@pytest.fixture
def owner(ports: Ports) -> Caller:
    """A registered user who paid for a device (so a device owner)."""
    service.register(ports, "owner@example.com", "correct horse 1", "Owner")
    viewer = as_caller(ports, "owner@example.com")
    service.place_order(ports, viewer, "box", 1, SHIPPING, "tok_ok")
    caller = as_caller(ports, "owner@example.com")
    assert caller.role is Role.OWNER
    return caller


@pytest.fixture
def viewer(ports: Ports) -> Caller:
    service.register(ports, "viewer@example.com", "another pass 2", "Vic")
    return as_caller(ports, "viewer@example.com")


@pytest.fixture
def admin(ports: Ports) -> Caller:
    user = service.ensure_admin(ports, "admin@example.com", "admin password 3")
    return Caller(user.user_id, Role.ADMIN, "admin")
