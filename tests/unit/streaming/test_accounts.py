from __future__ import annotations

import json
from datetime import timedelta

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.domain.accounts import Role, require, role_of_groups
from stratus.solutions.streaming.service import AuthError, Caller, Ports
from tests.unit.streaming.conftest import SESSION


def test_register_then_login_gives_a_session_that_authenticates(ports: Ports) -> None:
    user = service.register(ports, " Ann@Example.COM ", "correct horse 1", "Ann")
    assert user.email == "ann@example.com"
    assert user.role is Role.VIEWER
    logged_in, token = service.login(ports, "ann@example.com", "correct horse 1")
    assert logged_in.user_id == user.user_id
    caller = service.authenticate(ports, f"Bearer {token}")
    assert caller == Caller(user.user_id, Role.VIEWER, "Ann")


def test_the_user_pool_keeps_the_password_and_the_table_only_the_profile(ports: Ports) -> None:
    user = service.register(ports, "ann@example.com", "correct horse 1", "Ann")

    assert ports.users.get_user("ann@example.com").sub == user.user_id
    item = ports.store.table.get({"PK": f"USER#{user.user_id}", "SK": "META"})
    assert item is not None
    assert "password_hash" not in item
    assert "correct horse" not in json.dumps(item, default=str)


def test_a_second_registration_with_the_same_email_conflicts(ports: Ports) -> None:
    service.register(ports, "ann@example.com", "correct horse 1", "Ann")
    with pytest.raises(ConflictError):
        service.register(ports, "ANN@example.com", "other password 2", "Other")


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [("not-an-email", "correct horse 1", "email"), ("a@b.co", "short1", "at least 10"),
     ("a@b.co", "onlyletters", "a number")],
)
def test_bad_registrations_are_refused_with_a_reason(
    ports: Ports, email: str, password: str, reason: str
) -> None:
    with pytest.raises(DomainError, match=reason):
        service.register(ports, email, password, "x")
    assert ports.store.users() == []


def test_wrong_password_and_unknown_email_both_say_the_same(ports: Ports) -> None:
    service.register(ports, "ann@example.com", "correct horse 1", "Ann")
    with pytest.raises(AuthError, match="wrong email or password"):
        service.login(ports, "ann@example.com", "wrong password 1")
    with pytest.raises(AuthError, match="wrong email or password"):
        service.login(ports, "bob@example.com", "correct horse 1")


def test_sessions_expire_and_tampered_tokens_are_refused(ports: Ports, clock: FakeClock) -> None:
    service.register(ports, "ann@example.com", "correct horse 1", "Ann")
    _, token = service.login(ports, "ann@example.com", "correct horse 1")
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    with pytest.raises(AuthError):
        service.authenticate(ports, forged)
    with pytest.raises(AuthError):
        service.authenticate(ports, None)
    clock.advance((SESSION - timedelta(seconds=1)).total_seconds())
    service.authenticate(ports, token)
    clock.advance(2)
    with pytest.raises(AuthError, match="expired"):
        service.authenticate(ports, token)


def test_roles_are_ordered_viewer_owner_admin(ports: Ports, viewer: Caller, admin: Caller) -> None:
    require(Role.ADMIN, Role.OWNER)
    with pytest.raises(NotAllowedError):
        require(Role.VIEWER, Role.OWNER)
    with pytest.raises(NotAllowedError):
        service.set_role(ports, viewer, viewer.user_id, Role.ADMIN)
    promoted = service.set_role(ports, admin, viewer.user_id, Role.OWNER)
    assert promoted.role is Role.OWNER
    assert role_of_groups(["device-owner", "admin"]) is Role.ADMIN
    assert role_of_groups(["other"]) is Role.VIEWER


def test_roles_are_the_pool_groups_and_count_from_the_next_request(
    ports: Ports, admin: Caller
) -> None:
    service.register(ports, "vic@example.com", "another pass 2", "Vic")
    user, token = service.login(ports, "vic@example.com", "another pass 2")

    service.set_role(ports, admin, user.user_id, Role.ADMIN)

    assert ports.users.get_user(user.user_id).groups == ("admin",)
    assert service.authenticate(ports, token).role is Role.ADMIN  # at once, same token
    service.set_role(ports, admin, user.user_id, Role.OWNER)
    assert ports.users.get_user(user.user_id).groups == ("device-owner",)
    _, fresh = service.login(ports, "vic@example.com", "another pass 2")
    assert ports.users.verify(fresh).groups == ("device-owner",)
    service.set_role(ports, admin, user.user_id, Role.VIEWER)
    assert ports.users.get_user(user.user_id).groups == ()


def test_a_paid_order_puts_the_buyer_in_the_device_owner_group(
    ports: Ports, owner: Caller
) -> None:
    assert ports.users.get_user(owner.user_id).groups == ("device-owner",)


def test_ensure_admin_creates_or_promotes(ports: Ports) -> None:
    created = service.ensure_admin(ports, "root@example.com", "admin password 3")
    again = service.ensure_admin(ports, "root@example.com", "admin password 3")

    assert created.user_id == again.user_id
    assert again.role is Role.ADMIN
    assert ports.users.get_user("root@example.com").groups == ("admin",)


def test_a_pool_user_made_outside_the_api_gets_a_profile_on_first_login(ports: Ports) -> None:
    sub = ports.users.sign_up("ops@example.com", "operator pass 4")
    ports.users.add_to_group(sub, "device-owner")

    user, token = service.login(ports, "ops@example.com", "operator pass 4")

    assert user.user_id == sub
    assert user.role is Role.OWNER
    assert service.authenticate(ports, token).user_id == sub
    assert ports.store.user_by_email("ops@example.com") == user


def test_account_settings_change(ports: Ports, viewer: Caller) -> None:
    user = service.update_settings(ports, viewer, "Victor", False)
    assert user.settings.display_name == "Victor"
    assert user.settings.email_notifications is False
    with pytest.raises(DomainError):
        service.update_settings(ports, viewer, "   ", None)
