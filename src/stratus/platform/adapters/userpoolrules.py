"""Rules both UserPool adapters apply to a token whose signature and issuer they checked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stratus.platform.ports.errors import AuthenticationError
from stratus.platform.ports.identity import Claims


def _at(seconds: Any) -> datetime:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise AuthenticationError("token times must be numbers")
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def check_claims(claims: Mapping[str, Any], client_id: str, now: datetime) -> Claims:
    """The :class:`Claims` of signature-checked Cognito-shaped ``claims`` for ``client_id``,
    valid at ``now``; AuthenticationError otherwise."""
    use = claims.get("token_use")
    if use == "id":
        audience = claims.get("aud")
    elif use == "access":
        audience = claims.get("client_id")
    else:
        raise AuthenticationError(f"token_use {use!r} is neither id nor access")
    if audience != client_id:
        raise AuthenticationError("token issued to another app client")
    expires = _at(claims["exp"])
    if expires <= now:
        raise AuthenticationError("token expired")
    groups = claims.get("cognito:groups") or []
    return Claims(
        sub=str(claims["sub"]),
        email=str(claims.get("email", "")),
        groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        token_use=str(use),
        issued_at=_at(claims["iat"]),
        expires_at=expires,
    )
