"""TOKEN authorizer: the legacy bearer token, verified against the database.

``Authorization: Bearer <token>``. Unknown or expired token: ``Unauthorized`` (401).
Revoked: an explicit Deny (403). Valid: a policy allowing exactly the user's routes and a
context (userId, username, permissions) passed to the facade. The database being down is
an authorizer error, which the template's gateway response turns into 503 + Retry-After.
"""

from __future__ import annotations

from typing import Any

from stratus.solutions.facade import bootstrap, service


class AuthorizerUnavailableError(Exception):
    """The token cannot be checked now (the database is down)."""


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The authorizer's answer for ``event["authorizationToken"]``."""
    scheme, _, token = str(event.get("authorizationToken") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Exception("Unauthorized")
    try:
        return service.authorize(token, str(event["methodArn"]), bootstrap.from_env())
    except service.UnauthorizedError:
        raise Exception("Unauthorized") from None
    except service.DatabaseUnavailableError as exc:
        raise AuthorizerUnavailableError("database unavailable") from exc
