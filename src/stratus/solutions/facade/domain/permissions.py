"""Who may call which route: permissions, the route table and the authorizer's policy.

API Gateway caches an authorizer's policy per token (``ReauthorizeEvery``) and evaluates the
cached policy against every later request's method ARN. A policy that allowed "the whole
API" for the first route would then grant every route; a policy for the first route only
would deny the next one. So the policy lists EXACTLY the routes the user's permissions
allow, and nothing else: whichever route comes first, the cached policy never grants more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Permission(StrEnum):
    """What a user may do; stored per user in the database."""

    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CATALOG_READ = "catalog:read"


@dataclass(frozen=True, slots=True)
class Route:
    """One facade route: method, API Gateway resource path, permission, static data or not."""

    method: str
    path: str
    permission: Permission | None
    static: bool = False

    def arn_suffix(self) -> str:
        """``GET/customers/*/overview``: the method ARN tail, path parameters as ``*``."""
        parts = ["*" if p.startswith("{") else p for p in self.path.strip("/").split("/")]
        return f"{self.method}/" + "/".join(parts)


#: Every route of the facade API (the template declares the same ones; a test checks it).
ROUTES: tuple[Route, ...] = (
    Route("GET", "/customers/{customerId}/overview", Permission.CUSTOMERS_READ),
    Route("GET", "/customers/{customerId}/notes", Permission.CUSTOMERS_READ),
    Route("POST", "/customers/{customerId}/notes", Permission.CUSTOMERS_WRITE),
    Route("GET", "/catalog/products", Permission.CATALOG_READ, static=True),
    Route("GET", "/reference/countries", Permission.CATALOG_READ, static=True),
    Route("GET", "/openapi.json", None),
)


def parse_permissions(values: Iterable[str]) -> frozenset[Permission]:
    """Known permissions among ``values``; unknown strings are ignored (never granted)."""
    known = {p.value: p for p in Permission}
    return frozenset(known[v] for v in values if v in known)


def allowed_routes(permissions: Iterable[Permission]) -> list[Route]:
    """The routes these permissions allow (routes without a permission need no authorizer)."""
    granted = set(permissions)
    return [r for r in ROUTES if r.permission is not None and r.permission in granted]


class TokenVerdict(StrEnum):
    """What the token table says about a presented token."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored legacy bearer token (its hash is the key; the token itself is not stored)."""

    user_id: int
    username: str
    expires_at: datetime
    revoked_at: datetime | None
    permissions: frozenset[Permission]


def judge_token(record: TokenRecord | None, now: datetime) -> TokenVerdict:
    """Unknown, revoked (wins over expired), expired at or after ``expires_at``, else valid."""
    if now.tzinfo is None:
        raise ValueError("now must be tz-aware")
    if record is None:
        return TokenVerdict.UNKNOWN
    if record.revoked_at is not None and record.revoked_at <= now:
        return TokenVerdict.REVOKED
    if now >= record.expires_at:
        return TokenVerdict.EXPIRED
    return TokenVerdict.VALID


def api_prefix(method_arn: str) -> str:
    """``arn:aws:execute-api:r:a:api/stage`` from a method ARN ``.../stage/GET/path``."""
    head, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    if not head.startswith("arn:aws:execute-api:") or not stage:
        raise ValueError(f"not an execute-api method ARN: {method_arn!r}")
    return f"{head}/{stage}"


def policy(method_arn: str, permissions: Iterable[Permission]) -> dict[str, Any]:
    """An IAM policy allowing exactly the routes of ``permissions`` on this API stage.

    No permission at all gives an explicit Deny of everything (403 on every route)."""
    prefix = api_prefix(method_arn)
    resources = [f"{prefix}/{r.arn_suffix()}" for r in allowed_routes(permissions)]
    if not resources:
        return deny_all(method_arn)
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}],
    }


def deny_all(method_arn: str) -> dict[str, Any]:
    """An explicit Deny of every route of this API stage (a revoked token)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Deny",
                "Resource": f"{api_prefix(method_arn)}/*",
            }
        ],
    }
