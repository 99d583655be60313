"""UserPool contract: one suite, every adapter (SQLite file + scrypt + RS256 on tmp_path,
Cognito on moto with its published test keys)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.ports.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendUnavailableError,
    ConditionFailedError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.identity import PasswordPolicy, UserPool

PASSWORD = "correct horse 1"
# The streaming template's policy: 10 characters, a number and a lower-case letter.
POLICY = {"MinimumLength": 10, "RequireNumbers": True, "RequireLowercase": True,
          "RequireUppercase": False, "RequireSymbols": False}
GROUPS = ("admin", "device-owner")


def _tamper(token: str) -> str:
    """Change one character of the payload (the signature no longer matches)."""
    head, payload, signature = token.split(".")
    middle = len(payload) // 2
    swapped = "A" if payload[middle] != "A" else "B"
    return f"{head}.{payload[:middle]}{swapped}{payload[middle + 1:]}.{signature}"


class UserPoolContract:
    """What every UserPool adapter must do. Subclasses provide ``pool`` (empty, with the
    groups ``admin`` and ``device-owner`` and :data:`POLICY`), ``other_client`` (the same
    pool through another app client) and ``clock`` (the adapter's clock)."""

    # -- sign-up and sign-in --

    def test_a_signed_up_user_signs_in_and_the_id_token_verifies(self, pool: UserPool) -> None:
        sub = pool.sign_up("ann@example.com", PASSWORD)

        tokens = pool.authenticate("ann@example.com", PASSWORD)
        claims = pool.verify(tokens.id_token)

        assert claims.sub == sub
        assert claims.email == "ann@example.com"
        assert claims.token_use == "id"
        assert claims.groups == ()
        assert claims.issued_at < tokens.expires_at
        assert abs((claims.expires_at - tokens.expires_at).total_seconds()) < 2

    def test_the_access_token_verifies_too_and_names_the_same_user(self, pool: UserPool) -> None:
        sub = pool.sign_up("ann@example.com", PASSWORD)

        claims = pool.verify(pool.authenticate("ann@example.com", PASSWORD).access_token)

        assert claims.sub == sub
        assert claims.token_use == "access"

    def test_emails_are_case_insensitive(self, pool: UserPool) -> None:
        sub = pool.sign_up("  Ann@Example.COM ", PASSWORD)

        tokens = pool.authenticate("ANN@example.com", PASSWORD)

        assert pool.verify(tokens.id_token).sub == sub
        assert pool.get_user("ann@EXAMPLE.com").email == "ann@example.com"

    def test_a_user_is_found_by_email_or_sub_with_its_attributes(self, pool: UserPool) -> None:
        sub = pool.sign_up("ann@example.com", PASSWORD, {"name": "Ann Example"})

        by_email, by_sub = pool.get_user("ann@example.com"), pool.get_user(sub)

        assert by_email == by_sub
        assert by_sub.sub == sub
        assert by_sub.email == "ann@example.com"
        assert by_sub.enabled
        assert by_sub.attributes["name"] == "Ann Example"
        assert PASSWORD not in repr(by_sub)

    def test_a_second_sign_up_with_the_same_email_conflicts(self, pool: UserPool) -> None:
        pool.sign_up("ann@example.com", PASSWORD)

        with pytest.raises(AlreadyExistsError) as raised:
            pool.sign_up("ANN@example.com", "other password 2")

        assert isinstance(raised.value, ConditionFailedError)
        pool.authenticate("ann@example.com", PASSWORD)  # the first password still works

    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("short 1", "at least 10 characters"),
            ("only letters here", "a number"),
            ("1234567890", "a lower-case letter"),
            (" leading space 1", "no space at the start"),
        ],
    )
    def test_a_weak_password_is_refused_with_the_reason_and_no_user_is_made(
        self, pool: UserPool, password: str, reason: str
    ) -> None:
        with pytest.raises(InvalidRequestError, match=reason):
            pool.sign_up("ann@example.com", password)

        with pytest.raises(NotFoundError):
            pool.get_user("ann@example.com")
        pool.sign_up("ann@example.com", PASSWORD)  # the email is still free

    def test_a_malformed_email_is_an_invalid_request(self, pool: UserPool) -> None:
        with pytest.raises(InvalidRequestError, match="email"):
            pool.sign_up("not-an-email", PASSWORD)

    def test_wrong_password_and_unknown_email_are_refused_alike(self, pool: UserPool) -> None:
        pool.sign_up("ann@example.com", PASSWORD)

        with pytest.raises(AuthenticationError) as wrong:
            pool.authenticate("ann@example.com", "wrong password 1")
        with pytest.raises(AuthenticationError) as unknown:
            pool.authenticate("bob@example.com", PASSWORD)
        with pytest.raises(AuthenticationError):
            pool.authenticate("not-an-email", PASSWORD)

        assert str(wrong.value) == str(unknown.value) == "wrong email or password"

    # -- tokens --

    def test_a_tampered_token_is_refused(self, pool: UserPool) -> None:
        pool.sign_up("ann@example.com", PASSWORD)
        tokens = pool.authenticate("ann@example.com", PASSWORD)

        for bad in (_tamper(tokens.id_token), _tamper(tokens.access_token),
                    tokens.id_token[:-3], "not-a-jwt", ""):
            with pytest.raises(AuthenticationError):
                pool.verify(bad)

    def test_a_token_signed_by_another_key_is_refused(self, pool: UserPool) -> None:
        pool.sign_up("ann@example.com", PASSWORD)
        genuine = pool.authenticate("ann@example.com", PASSWORD).id_token
        claims = jwt.decode(genuine, options={"verify_signature": False})
        header = jwt.get_unverified_header(genuine)
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        forged = jwt.encode({**claims, "cognito:groups": ["admin"]}, stranger,
                            algorithm="RS256", headers={"kid": header["kid"]})
        unsigned = jwt.encode(claims, key=None, algorithm="none")

        for bad in (forged, unsigned):
            with pytest.raises(AuthenticationError):
                pool.verify(bad)

    def test_a_token_of_another_app_client_is_refused(
        self, pool: UserPool, other_client: UserPool
    ) -> None:
        pool.sign_up("ann@example.com", PASSWORD)
        theirs = other_client.authenticate("ann@example.com", PASSWORD)

        assert other_client.verify(theirs.id_token).email == "ann@example.com"
        for token in (theirs.id_token, theirs.access_token):
            with pytest.raises(AuthenticationError, match="another app client"):
                pool.verify(token)

    def test_a_token_expires_at_its_expiry_by_the_adapters_clock(
        self, pool: UserPool, clock: FakeClock
    ) -> None:
        pool.sign_up("ann@example.com", PASSWORD)
        tokens = pool.authenticate("ann@example.com", PASSWORD)
        left = (tokens.expires_at - clock.now()).total_seconds()
        assert left > 60

        clock.advance(left - 30)
        assert pool.verify(tokens.id_token).email == "ann@example.com"
        clock.advance(31)
        for token in (tokens.id_token, tokens.access_token):
            with pytest.raises(AuthenticationError, match="expired"):
                pool.verify(token)

    # -- groups --

    def test_groups_are_kept_and_appear_in_the_next_tokens(self, pool: UserPool) -> None:
        sub = pool.sign_up("ann@example.com", PASSWORD)
        before = pool.authenticate("ann@example.com", PASSWORD)

        pool.add_to_group(sub, "device-owner")
        pool.add_to_group("ann@example.com", "admin")
        pool.add_to_group(sub, "admin")  # idempotent

        assert pool.get_user(sub).groups == ("admin", "device-owner")
        after = pool.authenticate("ann@example.com", PASSWORD)
        assert sorted(pool.verify(after.id_token).groups) == ["admin", "device-owner"]
        assert sorted(pool.verify(after.access_token).groups) == ["admin", "device-owner"]
        assert pool.verify(before.id_token).groups == ()  # as issued

        pool.remove_from_group(sub, "admin")
        pool.remove_from_group(sub, "admin")  # idempotent

        assert pool.get_user(sub).groups == ("device-owner",)
        renewed = pool.authenticate("ann@example.com", PASSWORD)
        assert pool.verify(renewed.id_token).groups == ("device-owner",)

    def test_an_unknown_group_is_not_found(self, pool: UserPool) -> None:
        sub = pool.sign_up("ann@example.com", PASSWORD)

        with pytest.raises(NotFoundError):
            pool.add_to_group(sub, "superusers")
        assert pool.get_user(sub).groups == ()

    # -- administration --

    def test_an_unknown_user_is_not_found(self, pool: UserPool) -> None:
        missing = "00000000-0000-4000-8000-000000000000"
        calls: list[Callable[[], Any]] = [
            lambda: pool.get_user("bob@example.com"),
            lambda: pool.get_user(missing),
            lambda: pool.add_to_group("bob@example.com", "admin"),
            lambda: pool.add_to_group(missing, "admin"),
            lambda: pool.remove_from_group(missing, "admin"),
            lambda: pool.set_password(missing, "new password 2"),
            lambda: pool.delete_user("bob@example.com"),
        ]
        for call in calls:
            with pytest.raises(NotFoundError):
                call()

    def test_a_new_password_replaces_the_old_one_under_the_same_policy(
        self, pool: UserPool
    ) -> None:
        sub = pool.sign_up("ann@example.com", PASSWORD)

        with pytest.raises(InvalidRequestError, match="a number"):
            pool.set_password(sub, "no digits at all")
        pool.set_password("ann@example.com", "new password 2")

        with pytest.raises(AuthenticationError):
            pool.authenticate("ann@example.com", PASSWORD)
        assert pool.verify(pool.authenticate("ann@example.com", "new password 2").id_token).sub \
            == sub

    def test_a_deleted_user_cannot_sign_in_and_the_email_is_free_again(
        self, pool: UserPool
    ) -> None:
        first = pool.sign_up("ann@example.com", PASSWORD)
        pool.add_to_group(first, "admin")

        pool.delete_user(first)

        with pytest.raises(AuthenticationError):
            pool.authenticate("ann@example.com", PASSWORD)
        second = pool.sign_up("ann@example.com", "other password 2")
        assert second != first
        assert pool.get_user(second).groups == ()


def test_the_policy_names_everything_a_password_lacks() -> None:
    strict = PasswordPolicy()  # Cognito's defaults

    assert strict.problems("Aa1!aaaa") == []
    assert strict.problems("abc") == [
        "at least 8 characters", "an upper-case letter", "a number", "a symbol"
    ]
    assert PasswordPolicy.from_cognito(POLICY) == PasswordPolicy(
        10, require_lowercase=True, require_uppercase=False, require_numbers=True,
        require_symbols=False,
    )
    assert PasswordPolicy.from_cognito({"RequireSymbols": "false"}).require_symbols is False
    assert strict.problems("inner space A1") == []  # a space inside counts as a symbol


# -- the SQLite adapter ----------------------------------------------------------------


class TestLocalUserPool(UserPoolContract):
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def pools(self, tmp_path: Path, clock: FakeClock) -> Any:
        from stratus.platform.adapters.local.secrets import FileSecretStore
        from stratus.platform.adapters.local.userpool import LocalUserPools

        secrets = FileSecretStore(tmp_path / "secrets.sqlite3", tmp_path / "secrets.key")
        pools = LocalUserPools(tmp_path / "userpools.sqlite3", secrets=secrets, clock=clock)
        pools.create_pool("us-east-1_local", PasswordPolicy.from_cognito(POLICY))
        for group in GROUPS:
            pools.create_group("us-east-1_local", group)
        pools.create_client("us-east-1_local", "web", id_token_validity=timedelta(hours=12))
        pools.create_client("us-east-1_local", "other")
        return pools

    @pytest.fixture
    def pool(self, pools: Any) -> UserPool:
        result: UserPool = pools.pool("us-east-1_local", "web")
        return result

    @pytest.fixture
    def other_client(self, pools: Any) -> UserPool:
        result: UserPool = pools.pool("us-east-1_local", "other")
        return result

    def test_the_client_decides_how_long_tokens_last(self, pool: UserPool, clock: FakeClock,
                                                     other_client: UserPool) -> None:
        pool.sign_up("ann@example.com", PASSWORD)

        assert pool.authenticate("ann@example.com", PASSWORD).expires_at == clock.now() + \
            timedelta(hours=12)
        assert other_client.authenticate("ann@example.com", PASSWORD).expires_at == \
            clock.now() + timedelta(hours=1)

    def test_users_and_the_signing_key_survive_reopening(
        self, tmp_path: Path, pool: UserPool, clock: FakeClock
    ) -> None:
        from stratus.platform.adapters.local.secrets import FileSecretStore
        from stratus.platform.adapters.local.userpool import LocalUserPools

        sub = pool.sign_up("ann@example.com", PASSWORD)
        pool.add_to_group(sub, "admin")
        token = pool.authenticate("ann@example.com", PASSWORD).id_token

        secrets = FileSecretStore(tmp_path / "secrets.sqlite3", tmp_path / "secrets.key")
        reopened = LocalUserPools(tmp_path / "userpools.sqlite3", secrets=secrets,
                                  clock=clock).pool("us-east-1_local", "web")

        assert reopened.verify(token).sub == sub
        assert reopened.get_user(sub).groups == ("admin",)
        reopened.authenticate("ann@example.com", PASSWORD)

    def test_no_file_holds_the_password_or_the_private_key_in_clear(
        self, tmp_path: Path, pool: UserPool
    ) -> None:
        pool.sign_up("ann@example.com", PASSWORD)
        pool.authenticate("ann@example.com", PASSWORD)

        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert files
        for path in files:
            data = path.read_bytes()
            assert PASSWORD.encode() not in data, path
            assert b"PRIVATE KEY" not in data, path

    def test_the_published_jwks_verifies_the_tokens(self, pools: Any, pool: UserPool) -> None:
        pool.sign_up("ann@example.com", PASSWORD)
        token = pool.authenticate("ann@example.com", PASSWORD).id_token

        keys = jwt.PyJWKSet.from_dict(pools.jwks("us-east-1_local"))
        key = keys[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(token, key, algorithms=["RS256"], audience="web",
                            options={"verify_exp": False, "verify_iat": False})

        assert claims["iss"] == "stratus-local://cognito-idp/us-east-1_local"
        assert "private" not in json.dumps(pools.jwks("us-east-1_local"))

    def test_an_undeclared_pool_or_client_is_not_found(self, pools: Any) -> None:
        with pytest.raises(NotFoundError):
            pools.pool("us-east-1_nope", "web")
        with pytest.raises(NotFoundError):
            pools.pool("us-east-1_local", "nope")
        with pytest.raises(NotFoundError):
            pools.create_group("us-east-1_nope", "admin")

    def test_a_corrupt_file_is_a_backend_error(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.secrets import FileSecretStore
        from stratus.platform.adapters.local.userpool import LocalUserPools

        (tmp_path / "bad.sqlite3").write_bytes(b"this is not a database" * 100)
        secrets = FileSecretStore(tmp_path / "s.sqlite3", tmp_path / "s.key")

        with pytest.raises(BackendUnavailableError):
            LocalUserPools(tmp_path / "bad.sqlite3", secrets=secrets)


# -- the Cognito adapter on moto -------------------------------------------------------


def moto_jwks() -> dict[str, Any]:
    """The public keys moto signs its Cognito tokens with (bundled with moto)."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"
    keys: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return keys


class TestCognitoUserPool(UserPoolContract):
    @pytest.fixture
    def clock(self) -> FakeClock:
        # moto stamps tokens with the system time; the adapter's clock starts there.
        return FakeClock(datetime.now(UTC))

    @pytest.fixture
    def cognito(self, moto_aws: None) -> tuple[Any, str, str, str]:
        import boto3

        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = idp.create_user_pool(
            PoolName="users", UsernameAttributes=["email"],
            Policies={"PasswordPolicy": POLICY},
        )["UserPool"]["Id"]
        for group in GROUPS:
            idp.create_group(UserPoolId=pool_id, GroupName=group)
        flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        web, other = (
            idp.create_user_pool_client(UserPoolId=pool_id, ClientName=name,
                                        ExplicitAuthFlows=flows)["UserPoolClient"]["ClientId"]
            for name in ("web", "other")
        )
        return idp, pool_id, web, other

    @pytest.fixture
    def pool(self, cognito: tuple[Any, str, str, str], clock: FakeClock) -> UserPool:
        from stratus.platform.adapters.aws.userpool import CognitoUserPool

        idp, pool_id, web, _ = cognito
        return CognitoUserPool(pool_id, web, client=idp, clock=clock, jwks=moto_jwks)

    @pytest.fixture
    def other_client(self, cognito: tuple[Any, str, str, str], clock: FakeClock) -> UserPool:
        from stratus.platform.adapters.aws.userpool import CognitoUserPool

        idp, pool_id, _, other = cognito
        return CognitoUserPool(pool_id, other, client=idp, clock=clock, jwks=moto_jwks)

    def test_tokens_have_cognitos_issuer_and_the_keys_are_read_once(
        self, cognito: tuple[Any, str, str, str], clock: FakeClock
    ) -> None:
        from stratus.platform.adapters.aws.userpool import CognitoUserPool

        idp, pool_id, web, _ = cognito
        reads: list[int] = []

        def counted() -> dict[str, Any]:
            reads.append(1)
            return moto_jwks()

        pool = CognitoUserPool(pool_id, web, client=idp, clock=clock, jwks=counted)
        pool.sign_up("ann@example.com", PASSWORD)
        for _ in range(3):
            pool.verify(pool.authenticate("ann@example.com", PASSWORD).id_token)

        token = pool.authenticate("ann@example.com", PASSWORD).id_token
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
        assert len(reads) == 1

    def test_a_token_naming_an_unknown_key_is_refused(self, pool: UserPool) -> None:
        pool.sign_up("ann@example.com", PASSWORD)
        genuine = pool.authenticate("ann@example.com", PASSWORD).id_token
        claims = jwt.decode(genuine, options={"verify_signature": False})
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "other"})

        with pytest.raises(AuthenticationError, match="key"):
            pool.verify(forged)

    def test_an_unreachable_endpoint_is_a_backend_outage(
        self, unreachable_client: Callable[[str], Any]
    ) -> None:
        from stratus.platform.adapters.aws.userpool import CognitoUserPool

        pool = CognitoUserPool("us-east-1_x", "web", client=unreachable_client("cognito-idp"),
                               jwks=moto_jwks)

        with pytest.raises(BackendUnavailableError):
            pool.sign_up("ann@example.com", PASSWORD)
        with pytest.raises(BackendUnavailableError):
            pool.authenticate("ann@example.com", PASSWORD)
        with pytest.raises(BackendUnavailableError):
            pool.get_user("ann@example.com")

    def test_unreachable_keys_are_a_backend_outage(self) -> None:
        from stratus.platform.adapters.aws.userpool import fetch_jwks

        with pytest.raises(BackendUnavailableError):
            fetch_jwks("https://127.0.0.1:9/.well-known/jwks.json", timeout_s=2)
