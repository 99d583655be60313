"""UserPool port: Cognito-shaped user accounts, passwords, groups and signed tokens.

Semantics (tests/contract/test_userpool.py):

- A user is named by email (case-insensitive: adapters lower-case and strip it) and has a
  ``sub``, a stable id given at sign-up. Every call that takes ``user`` accepts either.
- ``sign_up`` checks the password against the pool's :class:`PasswordPolicy` (Cognito's rules;
  InvalidRequestError naming what is missing), creates a confirmed, enabled user and returns
  its ``sub``; an email already registered is AlreadyExistsError.
- ``authenticate`` returns :class:`Tokens` (an id token and an access token, RS256 JWTs of
  the pool); a wrong password and an unknown email both raise AuthenticationError with the
  same message, so callers cannot tell which.
- ``verify`` checks signature, issuer (the pool), audience (the client), ``token_use`` and
  expiry (against the adapter's Clock) and returns :class:`Claims`; anything else is
  AuthenticationError. Groups in the claims are those at the time the token was issued.
- Groups are the pool's roles; they exist before users are added to them (the template
  declares them); adding a user to an unknown group is NotFoundError.
- Unknown users in ``get_user``, ``add_to_group``, ``remove_from_group``, ``set_password``
  and ``delete_user`` are NotFoundError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from stratus.platform.ports.errors import InvalidRequestError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Cognito's special characters (a space inside the password counts too).
SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
MAX_PASSWORD = 256


def normalise_email(email: str) -> str:
    """Lower-cased and stripped; InvalidRequestError when it is not an address."""
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 254:
        raise InvalidRequestError("email: not a valid address")
    return cleaned


@dataclass(frozen=True)
class PasswordPolicy:
    """Cognito's ``Policies.PasswordPolicy``; the defaults are Cognito's."""

    min_length: int = 8
    require_lowercase: bool = True
    require_uppercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True

    @classmethod
    def from_cognito(cls, policy: Mapping[str, Any] | None) -> PasswordPolicy:
        """From a template's or DescribeUserPool's ``PasswordPolicy`` mapping."""
        policy = policy or {}

        def flag(name: str) -> bool:
            value = policy.get(name, True)
            return value.strip().lower() == "true" if isinstance(value, str) else bool(value)

        return cls(
            min_length=int(policy.get("MinimumLength", 8)),
            require_lowercase=flag("RequireLowercase"),
            require_uppercase=flag("RequireUppercase"),
            require_numbers=flag("RequireNumbers"),
            require_symbols=flag("RequireSymbols"),
        )

    def problems(self, password: str) -> list[str]:
        """What ``password`` lacks, in words; empty when it is acceptable."""
        found = []
        if len(password) < self.min_length:
            found.append(f"at least {self.min_length} characters")
        if len(password) > MAX_PASSWORD:
            found.append(f"at most {MAX_PASSWORD} characters")
        if password != password.strip():
            found.append("no space at the start or the end")
        if self.require_lowercase and not re.search(r"[a-z]", password):
            found.append("a lower-case letter")
        if self.require_uppercase and not re.search(r"[A-Z]", password):
            found.append("an upper-case letter")
        if self.require_numbers and not re.search(r"[0-9]", password):
            found.append("a number")
        if self.require_symbols and not SYMBOLS.intersection(password.strip()):
            found.append("a symbol")
        return found

    def check(self, password: str) -> None:
        """InvalidRequestError saying what is missing, when ``password`` breaks the policy."""
        missing = self.problems(password)
        if missing:
            raise InvalidRequestError("password: needs " + ", ".join(missing))


@dataclass(frozen=True)
class Tokens:
    """What a successful sign-in gives: send ``id_token`` as ``Authorization: Bearer``."""

    id_token: str
    access_token: str
    expires_at: datetime
    refresh_token: str = ""


@dataclass(frozen=True)
class Claims:
    """A verified token's claims. ``email`` is empty for an access token (as on Cognito)."""

    sub: str
    email: str
    groups: tuple[str, ...]
    token_use: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class PoolUser:
    """A user as the pool knows it (never the password)."""

    sub: str
    email: str
    groups: tuple[str, ...]
    created_at: datetime
    enabled: bool = True
    attributes: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class UserPool(Protocol):
    """A user pool with one app client (Cognito user pool + client; a SQLite file locally)."""

    def sign_up(
        self, email: str, password: str, attributes: Mapping[str, str] | None = None
    ) -> str:
        """A new confirmed user; its ``sub``. ``attributes``: standard ones, e.g. ``name``."""
        ...

    def authenticate(self, email: str, password: str) -> Tokens:
        """Sign in with email and password (USER_PASSWORD_AUTH)."""
        ...

    def verify(self, token: str) -> Claims:
        """The claims of an id or access token of this pool and client, valid now."""
        ...

    def get_user(self, user: str) -> PoolUser:
        """The user with this email or sub."""
        ...

    def add_to_group(self, user: str, group: str) -> None:
        """Make the user a member of ``group`` (idempotent)."""
        ...

    def remove_from_group(self, user: str, group: str) -> None:
        """End the membership (idempotent for a user not in the group)."""
        ...

    def set_password(self, user: str, password: str) -> None:
        """Replace the password (permanent; the policy applies)."""
        ...

    def delete_user(self, user: str) -> None:
        """Delete the user; its email can sign up again."""
        ...
