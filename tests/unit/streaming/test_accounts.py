from __future__ import annotations

from datetime import timedelta

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.domain.accounts import (
    Role,
    hash_password,
    require,
    verify_password,
)
from stratus.solutions.streaming.service import AuthError, Caller, Ports


def test_passwords_are_stored_as_salted_scrypt_hashes() -> None:
    first = hash_password("correct horse 1", b"a" * 16)
    second = hash_password("correct horse 1", b"b" * 16)
    assert first.startswith("scrypt$16384$8$1$")
    assert first != second
    assert "correct horse" not in first
    assert verify_password("correct horse 1", first)
    assert not verify_password("correct horse 2", first)
    assert not verify_password("x", "not-a-hash")


def test_register_then_login_gives_a_session_that_authenticates(ports: Ports) -> None:
    user = service.register(ports, " Ann@Example.COM ", "correct horse 1", "Ann")
    assert user.email == "ann@example.com"
    assert user.role is Role.VIEWER
    logged_in, token = service.login(ports, "ann@example.com", "correct horse 1")
    assert logged_in.user_id == user.user_id
    caller = service.authenticate(ports, f"Bearer {token}")
    assert caller == Caller(user.user_id, Role.VIEWER, "Ann")


def test_a_second_registration_with_the_same_email_conflicts(ports: Ports) -> None:
    service.register(ports, "ann@example.com", "correct horse 1", "Ann")
    with pytest.raises(ConflictError):
        service.register(ports, "ANN@example.com", "other password 2", "Other")


@pytest.mark.parametrize(
    ("email", "password"),
    [("not-an-email", "correct horse 1"), ("a@b.co", "short1"), ("a@b.co", "onlyletters")],
)
def test_bad_registrations_are_refused_with_a_reason(
    ports: Ports, email: str, password: str
) -> None:
    with pytest.raises(DomainError):
        service.register(ports, email, password, "x")
    assert ports.store.users() == []


def test_wrong_password_and_unknown_email_both_say_the_same(ports: Ports) -> None:
    service.register(ports, "ann@example.com", "correct horse 1", "Ann")
    with pytest.raises(AuthError, match="wrong email or password"):
        service.login(ports, "ann@example.com", "wrong password 1")
    with pytest.raises(AuthError, match="wrong email or password"):
        service.login(ports, "bob@example.com", "correct horse 1")


def test_sessions_expire_and_tampered_tokens_are_refused(ports: Ports, clock: FakeClock) -> None:
    user = service.register(ports, "ann@example.com", "correct horse 1", "Ann")
    token = service.issue_token(ports, user)
    with pytest.raises(AuthError):
        service.authenticate(ports, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(AuthError):
        service.authenticate(ports, None)
    clock.advance((service.SESSION_TTL + timedelta(seconds=1)).total_seconds())
    with pytest.raises(AuthError):
        service.authenticate(ports, token)


def test_roles_are_ordered_viewer_owner_admin(ports: Ports, viewer: Caller, admin: Caller) -> None:
    require(Role.ADMIN, Role.OWNER)
    with pytest.raises(NotAllowedError):
        require(Role.VIEWER, Role.OWNER)
    with pytest.raises(NotAllowedError):
        service.set_role(ports, viewer, viewer.user_id, Role.ADMIN)
    promoted = service.set_role(ports, admin, viewer.user_id, Role.OWNER)
    assert promoted.role is Role.OWNER


def test_account_settings_change(ports: Ports, viewer: Caller) -> None:
    user = service.update_settings(ports, viewer, "Victor", False)
    assert user.settings.display_name == "Victor"
    assert user.settings.email_notifications is False
    with pytest.raises(DomainError):
        service.update_settings(ports, viewer, "   ", None)
