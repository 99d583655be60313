"""Users, roles and passwords. Passwords are hashed with scrypt (RFC 7914) and a random salt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stratus.solutions.streaming.domain import DomainError, NotAllowedError

MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class Role(StrEnum):
    """Viewer < device owner < admin."""

    VIEWER = "viewer"
    OWNER = "owner"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.OWNER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Settings:
    """Account settings a user may change."""

    display_name: str
    email_notifications: bool = True


@dataclass(frozen=True)
class User:
    """A registered account."""

    user_id: str
    email: str
    password_hash: str
    role: Role
    created_at: datetime
    settings: Settings = field(default_factory=lambda: Settings(display_name=""))

    def has_role(self, needed: Role) -> bool:
        """True when this user's role is ``needed`` or above it."""
        return _RANK[self.role] >= _RANK[needed]


def require(role: Role, needed: Role) -> None:
    """NotAllowedError unless ``role`` is at least ``needed``."""
    if _RANK[role] < _RANK[needed]:
        raise NotAllowedError(f"this needs the {needed.value} role")


def normalise_email(email: str) -> str:
    """Lower-cased, stripped; DomainError when it is not an address."""
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 254:
        raise DomainError("email: not a valid address")
    return cleaned


def check_password_policy(password: str) -> None:
    """At least 10 characters, not all of one kind."""
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"password: at least {MIN_PASSWORD} characters")
    if password.isdigit() or password.isalpha():
        raise DomainError("password: mix letters with digits or symbols")


def hash_password(password: str, salt: bytes) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) for ``password`` with a 16-byte random ``salt``."""
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    enc = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
