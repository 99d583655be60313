"""CognitoUserPool: the UserPool port on an Amazon Cognito user pool and app client.

- ``sign_up``: the pool's password policy (DescribeUserPool, read once) is checked first, so
  a weak password is refused with the same words as locally; then AdminCreateUser (no
  invitation message) and AdminSetUserPassword (permanent): the user is confirmed at once,
  and no verification email is sent.
- ``authenticate``: InitiateAuth with USER_PASSWORD_AUTH (the client allows it).
- ``verify``: offline, against the pool's JWKS (RS256): ``kid``, signature, issuer
  ``https://cognito-idp.<region>.amazonaws.com/<pool id>``, ``token_use``, the client id
  (``aud`` of id tokens, ``client_id`` of access tokens) and expiry against the Clock.
  The JWKS is fetched once from ``<issuer>/.well-known/jwks.json`` and again when a token
  names an unknown key (at most once a minute); tests give ``jwks`` (moto's public keys).
- groups: AdminAddUserToGroup / AdminRemoveUserFromGroup / AdminListGroupsForUser; tokens
  carry them as ``cognito:groups``.

Users are addressed by email (the pool's username attribute) or by sub (their username).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import jwt
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.adapters.userpoolrules import check_claims
from stratus.platform.ports import Clock
from stratus.platform.ports.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
    PortError,
)
from stratus.platform.ports.identity import (
    Claims,
    PasswordPolicy,
    PoolUser,
    Tokens,
    normalise_email,
)

Jwks = Mapping[str, Any]
_INVALID = {
    "InvalidParameterException", "InvalidPasswordException", "ValidationException",
    "CodeMismatchException", "InvalidEmailRoleAccessPolicyException",
}
_REFUSED = {
    "NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException",
    "PasswordResetRequiredException",
}
_JWKS_RETRY_S = 60.0


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or _code(exc)


def _translate(exc: Exception, what: str) -> PortError:
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code in ("UserNotFoundException", "ResourceNotFoundException"):
            return NotFoundError(f"{what}: {_message(exc)}")
        if code in ("UsernameExistsException", "AliasExistsException"):
            return AlreadyExistsError(f"{what}: a user with this email exists")
        if code in _INVALID:
            return InvalidRequestError(f"{what}: {_message(exc)}")
        return BackendUnavailableError(f"{what}: {code}: {exc}")
    if isinstance(exc, ParamValidationError):  # refused by botocore before sending
        return InvalidRequestError(f"{what}: {exc}")
    return BackendUnavailableError(f"{what}: {exc}")


def region_of(pool_id: str) -> str:
    """``us-east-1`` of ``us-east-1_AbCdEf123``."""
    region, sep, rest = pool_id.partition("_")
    if not sep or not region or not rest:
        raise InvalidRequestError(f"user pool id {pool_id!r} is not <region>_<id>")
    return region


def fetch_jwks(url: str, timeout_s: float = 5.0) -> Jwks:
    """GET a JWKS document (Cognito's ``/.well-known/jwks.json``)."""
    if not url.startswith("https://"):
        raise InvalidRequestError(f"JWKS URL {url!r} must be https")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # noqa: S310 - https only
            document: Jwks = json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise BackendUnavailableError(f"cannot read the user pool keys at {url}: {exc}") from exc
    return document


class CognitoUserPool:
    """The UserPool port on one Cognito user pool (``pool_id``) and app client (``client_id``).

    ``jwks`` returns the pool's public keys (default: fetched from the pool's issuer URL);
    ``clock`` decides whether a token has expired (default: the system clock).
    """

    def __init__(
        self,
        pool_id: str,
        client_id: str,
        *,
        client: Any = None,
        clock: Clock | None = None,
        jwks: Callable[[], Jwks] | None = None,
    ) -> None:
        self.pool_id = pool_id
        self.client_id = client_id
        self.region = region_of(pool_id)
        self.issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"
        self.clock: Clock = clock or SystemClock()
        self._idp: Any = client if client is not None else boto3.client(
            "cognito-idp", region_name=self.region
        )
        self._jwks_source = jwks or (lambda: fetch_jwks(self.issuer + "/.well-known/jwks.json"))
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_read_at = 0.0
        self._lock = threading.Lock()
        self._policy: PasswordPolicy | None = None

    # -- helpers ----------------------------------------------------------------------------

    def _call(self, what: str, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._idp, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, what) from exc

    def _username(self, user: str) -> str:
        return normalise_email(user) if "@" in user else user.strip()

    def password_policy(self) -> PasswordPolicy:
        """The pool's policy (DescribeUserPool, once per adapter)."""
        if self._policy is None:
            pool = self._call(f"describe user pool {self.pool_id}", "describe_user_pool",
                              UserPoolId=self.pool_id)["UserPool"]
            self._policy = PasswordPolicy.from_cognito(
                pool.get("Policies", {}).get("PasswordPolicy")
            )
        return self._policy

    def _key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            key = self._keys.get(kid)
            stale = time.monotonic() - self._keys_read_at > _JWKS_RETRY_S
            if key is None and (not self._keys or stale):
                document = self._jwks_source()
                try:
                    keys = jwt.PyJWKSet.from_dict(dict(document)).keys
                except jwt.PyJWTError as exc:
                    raise BackendUnavailableError(f"the user pool keys are not a JWKS: {exc}") \
                        from exc
                self._keys = {str(k.key_id): k for k in keys}
                self._keys_read_at = time.monotonic()
                key = self._keys.get(kid)
        if key is None:
            raise AuthenticationError("token not signed by a key of this user pool")
        return key

    # -- the port ---------------------------------------------------------------------------

    def sign_up(
        self, email: str, password: str, attributes: Mapping[str, str] | None = None
    ) -> str:
        address = normalise_email(email)
        self.password_policy().check(password)
        extra = [{"Name": k, "Value": v} for k, v in (attributes or {}).items()
                 if k not in ("email", "sub")]
        what = f"sign up {address}"
        created = self._call(
            what, "admin_create_user", UserPoolId=self.pool_id, Username=address,
            UserAttributes=[{"Name": "email", "Value": address}, *extra],
            MessageAction="SUPPRESS",
        )["User"]
        found = {a["Name"]: a["Value"] for a in created.get("Attributes", [])}
        sub = str(found.get("sub") or created["Username"])
        try:
            self._call(what, "admin_set_user_password", UserPoolId=self.pool_id, Username=sub,
                       Password=password, Permanent=True)
        except PortError:
            with contextlib.suppress(PortError):  # leave no user without a usable password
                self._call(what, "admin_delete_user", UserPoolId=self.pool_id, Username=sub)
            raise
        return sub

    def authenticate(self, email: str, password: str) -> Tokens:
        refused = AuthenticationError("wrong email or password")
        try:
            address = normalise_email(email)
        except InvalidRequestError:
            raise refused from None
        try:
            answer = self._idp.initiate_auth(
                ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": address, "PASSWORD": password},
            )
        except ClientError as exc:
            code = _code(exc)
            if code in ("NotAuthorizedException", "UserNotFoundException"):
                if "disabled" in _message(exc).lower():
                    raise AuthenticationError("user is disabled") from exc
                raise refused from exc
            if code in _REFUSED:
                raise AuthenticationError(f"sign-in refused: {_message(exc)}") from exc
            raise _translate(exc, f"sign in {address}") from exc
        except BotoCoreError as exc:
            raise _translate(exc, f"sign in {address}") from exc
        result = answer.get("AuthenticationResult")
        if not result:
            challenge = answer.get("ChallengeName", "a challenge")
            raise AuthenticationError(f"sign-in needs {challenge}, which is not supported")
        return Tokens(
            id_token=str(result["IdToken"]),
            access_token=str(result["AccessToken"]),
            expires_at=self.clock.now() + timedelta(seconds=int(result.get("ExpiresIn", 3600))),
            refresh_token=str(result.get("RefreshToken", "")),
        )

    def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"token not valid: {exc}") from exc
        if header.get("alg") != "RS256":
            raise AuthenticationError("token not signed with RS256")
        key = self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token, key, algorithms=["RS256"], issuer=self.issuer,
                # Times are checked against the injected clock (PyJWT reads the system's).
                options={"require": ["sub", "exp", "iat", "token_use"], "verify_exp": False,
                         "verify_iat": False, "verify_nbf": False, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"token not valid: {exc}") from exc
        return check_claims(claims, self.client_id, self.clock.now())

    def get_user(self, user: str) -> PoolUser:
        username = self._username(user)
        what = f"get user {username}"
        found = self._call(what, "admin_get_user", UserPoolId=self.pool_id, Username=username)
        attributes = {a["Name"]: a["Value"] for a in found.get("UserAttributes", [])}
        groups = self._call(what, "admin_list_groups_for_user", UserPoolId=self.pool_id,
                            Username=username)["Groups"]
        created = found.get("UserCreateDate")
        return PoolUser(
            sub=attributes.pop("sub", found["Username"]),
            email=attributes.pop("email", ""),
            groups=tuple(sorted(str(g["GroupName"]) for g in groups)),
            created_at=created if isinstance(created, datetime) else datetime.now(UTC),
            enabled=bool(found.get("Enabled", True)),
            attributes={k: v for k, v in attributes.items() if k != "email_verified"},
        )

    def add_to_group(self, user: str, group: str) -> None:
        username = self._username(user)
        what = f"add {username} to group {group}"
        # AdminAddUserToGroup says ResourceNotFound for an unknown user or group alike.
        self._call(what, "admin_get_user", UserPoolId=self.pool_id, Username=username)
        self._call(what, "admin_add_user_to_group", UserPoolId=self.pool_id,
                   Username=username, GroupName=group)

    def remove_from_group(self, user: str, group: str) -> None:
        username = self._username(user)
        self._call(f"remove {username} from group {group}", "admin_remove_user_from_group",
                   UserPoolId=self.pool_id, Username=username, GroupName=group)

    def set_password(self, user: str, password: str) -> None:
        username = self._username(user)
        what = f"set the password of {username}"
        self._call(what, "admin_get_user", UserPoolId=self.pool_id, Username=username)
        self.password_policy().check(password)
        self._call(what, "admin_set_user_password", UserPoolId=self.pool_id,
                   Username=username, Password=password, Permanent=True)

    def delete_user(self, user: str) -> None:
        username = self._username(user)
        self._call(f"delete user {username}", "admin_delete_user", UserPoolId=self.pool_id,
                   Username=username)
