"""Users and roles. Passwords are not here: the user pool (Cognito on AWS, the local pool
with scrypt hashes) keeps them, checks them and issues the session tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stratus.solutions.streaming.domain import DomainError, NotAllowedError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(StrEnum):
    """Viewer < device owner < admin."""

    VIEWER = "viewer"
    OWNER = "owner"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.OWNER: 1, Role.ADMIN: 2}
#: The user pool group of each role above viewer (every user is a viewer).
ROLE_GROUPS = {Role.OWNER: "device-owner", Role.ADMIN: "admin"}


def role_of_groups(groups: Iterable[str]) -> Role:
    """The highest role whose group is among ``groups`` (viewer when none)."""
    found = set(groups)
    best = Role.VIEWER
    for role, group in ROLE_GROUPS.items():
        if group in found and _RANK[role] > _RANK[best]:
            best = role
    return best


@dataclass(frozen=True)
class Settings:
    """Account settings a user may change."""

    display_name: str
    email_notifications: bool = True


@dataclass(frozen=True)
class User:
    """A registered account."""

    user_id: str  # the user pool's ``sub``
    email: str
    role: Role  # kept equal to the user's pool groups (see service.change_role)
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
