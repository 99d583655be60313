"""Demo data of the facade: users and tokens, legacy customers, orders, products, and the
facade's loyalty and reference data. Loading twice changes nothing.

Tokens (``Authorization: Bearer <token>``):

* ``alice-demo-token``: customers:read, customers:write, catalog:read
* ``bob-demo-token``: catalog:read only (403 on customer routes)
* ``carol-demo-token``: revoked (403 everywhere)
* ``dave-demo-token``: expired (401)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from stratus.solutions.facade import db

USERS = [
    (
        1,
        "alice",
        "alice@example.com",
        "Alice Adams",
        ["customers:read", "customers:write", "catalog:read"],
    ),
    (2, "bob", "bob@example.com", "Bob Brown", ["catalog:read"]),
    (3, "carol", "carol@example.com", "Carol Clark", ["customers:read", "catalog:read"]),
    (4, "dave", "dave@example.com", "Dave Davis", ["customers:read"]),
]
COUNTRIES = [
    ("DE", "Germany", "EUR"),
    ("FR", "France", "EUR"),
    ("GB", "United Kingdom", "GBP"),
    ("PL", "Poland", "PLN"),
    ("US", "United States", "USD"),
]
PRODUCTS = [
    ("SKU-1", "WIDGET, STANDARD", 1250),
    ("SKU-2", "GADGET, DELUXE", 4999),
    ("SKU-3", "SPROCKET 12MM", 199),
]
TOKENS = {
    "alice": "alice-demo-token",
    "bob": "bob-demo-token",
    "carol": "carol-demo-token",
    "dave": "dave-demo-token",
}


def seed(
    engine: Engine, *, now: datetime | None = None, customers: int = 50, extra_tokens: int = 0
) -> dict[str, str]:
    """Insert the demo rows that are missing; return the demo tokens by user name.

    ``extra_tokens`` adds load-test users ``load<n>`` (customers:read, catalog:read) with
    tokens ``load-token-<n>``."""
    now = now or datetime.now(UTC)
    out = dict(TOKENS)
    with engine.begin() as conn:
        if conn.execute(select(db.users.c.id).where(db.users.c.id == 1)).first() is None:
            for uid, name, email, full, perms in USERS:
                conn.execute(
                    insert(db.users).values(
                        id=uid, username=name, email=email, full_name=full, created_at=now
                    )
                )
                for perm in perms:
                    conn.execute(insert(db.permissions).values(user_id=uid, permission=perm))
            life = timedelta(days=365)
            for name, token in TOKENS.items():
                uid = next(u[0] for u in USERS if u[1] == name)
                expires = now - timedelta(days=1) if name == "dave" else now + life
                revoked = now - timedelta(hours=1) if name == "carol" else None
                conn.execute(
                    insert(db.tokens).values(
                        token_hash=db.token_hash(token),
                        user_id=uid,
                        issued_at=now - timedelta(days=30),
                        expires_at=expires,
                        revoked_at=revoked,
                    )
                )
            for code, cname, currency in COUNTRIES:
                conn.execute(insert(db.countries).values(code=code, name=cname, currency=currency))
            for sku, descr, price in PRODUCTS:
                conn.execute(
                    insert(db.products).values(sku=sku, description=descr, price_cents=price)
                )
        have = {r for (r,) in conn.execute(select(db.customers.c.id))}
        for n in range(1, customers + 1):
            cid = f"C{n}"
            if cid in have:
                continue
            country = COUNTRIES[n % len(COUNTRIES)][0]
            conn.execute(
                insert(db.customers).values(
                    id=cid,
                    name=f"Customer {n}",
                    email=f"customer{n}@example.com",
                    phone=f"+1 (555) {n % 1000:03d}-{(n * 37) % 10000:04d}",
                    country_code=country,
                    created_at=now - timedelta(days=n),
                )
            )
            for k in range(1, 1 + n % 4):
                conn.execute(
                    insert(db.orders).values(
                        id=f"O{n}-{k}",
                        customer_id=cid,
                        placed_at=now - timedelta(days=k * 3, hours=n % 24),
                        status=("shipped", "new", "cancelled")[k % 3],
                        total_cents=1000 * k + n,
                    )
                )
            if n % 2:
                conn.execute(
                    insert(db.loyalty).values(
                        customer_id=cid,
                        tier=("bronze", "silver", "gold")[n % 3],
                        points=n * 10,
                        updated_at=now,
                    )
                )
        for n in range(1, extra_tokens + 1):
            token = f"load-token-{n}"
            out[f"load{n}"] = token
            uid = 1000 + n
            if conn.execute(select(db.users.c.id).where(db.users.c.id == uid)).first():
                continue
            conn.execute(
                insert(db.users).values(
                    id=uid,
                    username=f"load{n}",
                    email=f"load{n}@example.com",
                    full_name=f"Load {n}",
                    created_at=now,
                )
            )
            for perm in ("customers:read", "catalog:read"):
                conn.execute(insert(db.permissions).values(user_id=uid, permission=perm))
            conn.execute(
                insert(db.tokens).values(
                    token_hash=db.token_hash(token),
                    user_id=uid,
                    issued_at=now,
                    expires_at=now + timedelta(days=365),
                    revoked_at=None,
                )
            )
    return out


def load(runtime: Any) -> list[str]:
    """``stratus up --demo``: seed the facade database; say how to try it."""
    from stratus.platform.runtime.apibuild import app_slug
    from stratus.solutions.facade.bootstrap import database

    writer = None
    for app in runtime.apps:
        if app_slug(app) == "facade":
            writer = str(app.parameters.get("WriterUrl") or "") or None
    engines = database(writer, None, Path(runtime.home))
    tokens = seed(engines.writer, now=runtime.clock.now())
    base = f"{runtime.url}/facade"
    return [
        f"facade: {len(USERS)} users, 50 customers; tokens: "
        + ", ".join(f"{u}={t}" for u, t in TOKENS.items()),
        f"try: curl -H 'Authorization: Bearer {tokens['alice']}' {base}/customers/C1/overview",
        f"legacy: curl -H 'Authorization: Bearer {tokens['alice']}' "
        f"{base}/legacy/api/v1/customer?id=C1",
        f"OpenAPI: {base}/openapi.json",
    ]
