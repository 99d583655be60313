"""LocalUserPool: the UserPool port on a SQLite file, with scrypt hashes and RS256 tokens.

:class:`LocalUserPools` is the file (``userpools.sqlite3`` under STRATUS_HOME): the runtime
creates the pools, groups and app clients a template declares (``AWS::Cognito::UserPool``,
``UserPoolGroup``, ``UserPoolClient``), and :meth:`LocalUserPools.pool` gives the port for one
pool and client, as ``connect.user_pool`` does on AWS.

Passwords are hashed with :mod:`stratus.platform.passwords` (scrypt). Each pool signs its
tokens with its own RSA key, generated on first use and kept in the SecretStore (encrypted
at rest); :meth:`LocalUserPools.jwks` gives the public half in JWKS form, as Cognito's
``/.well-known/jwks.json`` does. Token claims have Cognito's names (``cognito:groups``,
``token_use``, ``aud`` on id tokens, ``client_id`` on access tokens). Times come from the
injected Clock, so expiry can be tested with a FakeClock.

Local departures from Cognito: the issuer is ``stratus-local://cognito-idp/<pool id>``
(nothing is served there); no refresh tokens, email confirmation, password reset, MFA or
hosted UI; sign-up creates a confirmed user at once (as AdminCreateUser +
AdminSetUserPassword do on AWS).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.adapters.userpoolrules import check_claims
from stratus.platform.passwords import dummy_hash, hash_password, verify_password
from stratus.platform.ports import Clock, SecretStore
from stratus.platform.ports.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.identity import (
    Claims,
    PasswordPolicy,
    PoolUser,
    Tokens,
    normalise_email,
)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pools (pool_id TEXT PRIMARY KEY, policy TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS clients (pool_id TEXT NOT NULL, client_id TEXT NOT NULL,"
    " id_validity_s INTEGER NOT NULL, access_validity_s INTEGER NOT NULL,"
    " password_auth INTEGER NOT NULL, PRIMARY KEY (pool_id, client_id))",
    "CREATE TABLE IF NOT EXISTS groups (pool_id TEXT NOT NULL, name TEXT NOT NULL,"
    " PRIMARY KEY (pool_id, name))",
    "CREATE TABLE IF NOT EXISTS users (pool_id TEXT NOT NULL, sub TEXT NOT NULL,"
    " email TEXT NOT NULL, password_hash TEXT NOT NULL, attributes TEXT NOT NULL,"
    " created TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,"
    " PRIMARY KEY (pool_id, sub), UNIQUE (pool_id, email))",
    "CREATE TABLE IF NOT EXISTS members (pool_id TEXT NOT NULL, sub TEXT NOT NULL,"
    " name TEXT NOT NULL, PRIMARY KEY (pool_id, sub, name))",
)
# Cognito: pool ids are <region>_<id>; locally any name of letters, digits, '_' and '-'.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# Cognito group names: 1-128 characters without control characters.
_GROUP = re.compile(r"^[\w\s+=,.@-]{1,128}$")
_ATTRIBUTE = re.compile(r"^(custom:)?[A-Za-z_][A-Za-z0-9_:-]{0,31}$")
_RESERVED = {"sub", "email", "cognito:groups", "cognito:username"}
ISSUER_PREFIX = "stratus-local://cognito-idp/"


def _check_id(kind: str, value: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidRequestError(f"{kind} {value!r}: 1-128 letters, digits, '_' or '-'")


class LocalUserPools:
    """Every local user pool, in the SQLite file ``path`` (shared by threads and processes)."""

    def __init__(self, path: Path, *, secrets: SecretStore, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.secrets = secrets
        self.clock: Clock = clock or SystemClock()
        self._keys: dict[str, tuple[str, rsa.RSAPrivateKey]] = {}
        self._keys_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create {self.path.parent}: {exc}") from exc
        with self.db() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    @contextlib.contextmanager
    def db(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction (``BEGIN IMMEDIATE`` when writing)."""
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailableError(f"user pool file {self.path}: {exc}") from exc

    # -- what a template declares -----------------------------------------------------------

    def create_pool(self, pool_id: str, policy: PasswordPolicy | None = None) -> None:
        """Create the pool, or replace its password policy (as a stack update does)."""
        _check_id("user pool id", pool_id)
        text = json.dumps((policy or PasswordPolicy()).__dict__, sort_keys=True)
        with self.db() as conn:
            conn.execute(
                "INSERT INTO pools VALUES (?, ?) ON CONFLICT(pool_id) DO UPDATE SET "
                "policy = excluded.policy",
                (pool_id, text),
            )

    def create_group(self, pool_id: str, name: str) -> None:
        """Declare a group of the pool (idempotent)."""
        if not isinstance(name, str) or not _GROUP.match(name):
            raise InvalidRequestError(f"group name {name!r}: 1-128 characters")
        with self.db() as conn:
            self._need_pool(conn, pool_id)
            conn.execute("INSERT OR IGNORE INTO groups VALUES (?, ?)", (pool_id, name))

    def create_client(
        self,
        pool_id: str,
        client_id: str,
        *,
        id_token_validity: timedelta = timedelta(hours=1),
        access_token_validity: timedelta = timedelta(hours=1),
        password_auth: bool = True,
    ) -> None:
        """Declare an app client (Cognito's default token validity is one hour).

        ``password_auth``: its ExplicitAuthFlows allow USER_PASSWORD_AUTH, the flow of
        :meth:`LocalUserPool.authenticate` (Cognito refuses it otherwise, so do we)."""
        _check_id("client id", client_id)
        for what, value in (("id", id_token_validity), ("access", access_token_validity)):
            if not timedelta(minutes=5) <= value <= timedelta(days=1):
                raise InvalidRequestError(f"{what} token validity: 5 minutes to 1 day")
        with self.db() as conn:
            self._need_pool(conn, pool_id)
            conn.execute(
                "INSERT INTO clients VALUES (?, ?, ?, ?, ?) ON CONFLICT(pool_id, client_id) DO "
                "UPDATE SET id_validity_s = excluded.id_validity_s, "
                "access_validity_s = excluded.access_validity_s, "
                "password_auth = excluded.password_auth",
                (pool_id, client_id, int(id_token_validity.total_seconds()),
                 int(access_token_validity.total_seconds()), int(password_auth)),
            )

    def pool(self, pool_id: str, client_id: str) -> LocalUserPool:
        """The port for one pool and app client; NotFoundError when either is not declared."""
        with self.db(write=False) as conn:
            self._need_pool(conn, pool_id)
            row = conn.execute(
                "SELECT 1 FROM clients WHERE pool_id = ? AND client_id = ?", (pool_id, client_id)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"user pool {pool_id!r} has no app client {client_id!r}")
        return LocalUserPool(self, pool_id, client_id)

    def pool_ids(self) -> list[str]:
        with self.db(write=False) as conn:
            return [str(r[0]) for r in conn.execute("SELECT pool_id FROM pools ORDER BY 1")]

    @staticmethod
    def _need_pool(conn: sqlite3.Connection, pool_id: str) -> None:
        if conn.execute("SELECT 1 FROM pools WHERE pool_id = ?", (pool_id,)).fetchone() is None:
            raise NotFoundError(f"no user pool {pool_id!r}")

    # -- signing keys -----------------------------------------------------------------------

    def signing_key(self, pool_id: str) -> tuple[str, rsa.RSAPrivateKey]:
        """``(kid, private key)`` of the pool, created on first use.

        Creation holds the pool file's write lock, so two processes never make two keys."""
        with self._keys_lock:
            cached = self._keys.get(pool_id)
            if cached is not None:
                return cached
            name = f"stratus/userpools/{pool_id}/signing-key"
            with self.db():  # the lock, across processes
                try:
                    pem = self.secrets.get(name)
                except NotFoundError:
                    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                    pem = key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    ).decode()
                    self.secrets.put(name, pem)
            loaded = serialization.load_pem_private_key(pem.encode(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise BackendUnavailableError(f"secret {name} is not an RSA private key")
            der = loaded.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            kid = hashlib.sha256(der).hexdigest()[:32]
            self._keys[pool_id] = (kid, loaded)
            return kid, loaded

    def jwks(self, pool_id: str) -> dict[str, Any]:
        """The pool's public keys, as Cognito serves them at ``/.well-known/jwks.json``."""
        kid, key = self.signing_key(pool_id)
        public: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        return {"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class LocalUserPool:
    """The UserPool port for one pool and app client of a :class:`LocalUserPools` file."""

    def __init__(self, pools: LocalUserPools, pool_id: str, client_id: str) -> None:
        self.pools = pools
        self.pool_id = pool_id
        self.client_id = client_id
        self.issuer = ISSUER_PREFIX + pool_id

    # -- helpers ----------------------------------------------------------------------------

    def _policy(self, conn: sqlite3.Connection) -> PasswordPolicy:
        row = conn.execute("SELECT policy FROM pools WHERE pool_id = ?", (self.pool_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no user pool {self.pool_id!r}")
        return PasswordPolicy(**json.loads(row[0]))

    def _row(self, conn: sqlite3.Connection, user: str) -> tuple[Any, ...]:
        if "@" in user:
            column, value = "email", normalise_email(user)
        else:
            column, value = "sub", user.strip()
        row = conn.execute(
            # ``column`` is one of two names chosen above, never input.
            "SELECT sub, email, password_hash, attributes, created, enabled FROM users "
            f"WHERE pool_id = ? AND {column} = ?",
            (self.pool_id, value),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no user {user!r} in user pool {self.pool_id}")
        return tuple(row)

    def _groups(self, conn: sqlite3.Connection, sub: str) -> tuple[str, ...]:
        rows = conn.execute(
            "SELECT name FROM members WHERE pool_id = ? AND sub = ? ORDER BY name",
            (self.pool_id, sub),
        ).fetchall()
        return tuple(str(r[0]) for r in rows)

    @staticmethod
    def _attributes(attributes: Mapping[str, str] | None) -> dict[str, str]:
        checked: dict[str, str] = {}
        for name, value in (attributes or {}).items():
            if not isinstance(name, str) or not _ATTRIBUTE.match(name) or name in _RESERVED:
                raise InvalidRequestError(f"attribute {name!r}: not an attribute you can set")
            if not isinstance(value, str) or len(value) > 2048:
                raise InvalidRequestError(f"attribute {name}: a string of at most 2048 characters")
            checked[name] = value
        return checked

    # -- the port ---------------------------------------------------------------------------

    def sign_up(
        self, email: str, password: str, attributes: Mapping[str, str] | None = None
    ) -> str:
        address = normalise_email(email)
        extra = self._attributes(attributes)
        with self.pools.db(write=False) as conn:
            self._policy(conn).check(password)
        hashed = hash_password(password)  # outside the write lock: scrypt takes a while
        sub = str(uuid.uuid4())
        with self.pools.db() as conn:
            self._policy(conn)
            try:
                conn.execute(
                    "INSERT INTO users (pool_id, sub, email, password_hash, attributes, created)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (self.pool_id, sub, address, hashed, json.dumps(extra),
                     _iso(self.pools.clock.now())),
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExistsError(f"a user with email {address} exists") from exc
        return sub

    def authenticate(self, email: str, password: str) -> Tokens:
        refused = AuthenticationError("wrong email or password")
        try:
            address = normalise_email(email)
        except InvalidRequestError:
            verify_password(password, dummy_hash())
            raise refused from None
        with self.pools.db(write=False) as conn:
            row = conn.execute(
                "SELECT sub, password_hash, enabled FROM users WHERE pool_id = ? AND email = ?",
                (self.pool_id, address),
            ).fetchone()
            client = conn.execute(
                "SELECT id_validity_s, access_validity_s, password_auth FROM clients "
                "WHERE pool_id = ? AND client_id = ?",
                (self.pool_id, self.client_id),
            ).fetchone()
            groups = self._groups(conn, str(row[0])) if row is not None else ()
        if client is None:
            raise NotFoundError(f"user pool {self.pool_id} has no app client {self.client_id}")
        if not client[2]:
            raise InvalidRequestError(
                f"app client {self.client_id} does not allow USER_PASSWORD_AUTH "
                "(add ALLOW_USER_PASSWORD_AUTH to its ExplicitAuthFlows)"
            )
        if row is None:
            verify_password(password, dummy_hash())  # the same time as a wrong password
            raise refused
        if not verify_password(password, str(row[1])):
            raise refused
        if not row[2]:
            raise AuthenticationError("user is disabled")
        return self._issue(str(row[0]), address, groups, int(client[0]), int(client[1]))

    def _issue(
        self, sub: str, email: str, groups: tuple[str, ...], id_s: int, access_s: int
    ) -> Tokens:
        kid, key = self.pools.signing_key(self.pool_id)
        now = self.pools.clock.now()
        iat = int(now.timestamp())
        common: dict[str, Any] = {
            "sub": sub, "iss": self.issuer, "iat": iat, "auth_time": iat,
            "origin_jti": str(uuid.uuid4()),
        }
        if groups:
            common["cognito:groups"] = list(groups)
        id_claims = {
            **common, "aud": self.client_id, "token_use": "id", "email": email,
            "cognito:username": sub, "exp": iat + id_s, "jti": str(uuid.uuid4()),
        }
        access_claims = {
            **common, "client_id": self.client_id, "token_use": "access", "username": sub,
            "scope": "aws.cognito.signin.user.admin", "exp": iat + access_s,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": kid}
        return Tokens(
            id_token=jwt.encode(id_claims, key, algorithm="RS256", headers=headers),
            access_token=jwt.encode(access_claims, key, algorithm="RS256", headers=headers),
            expires_at=now + timedelta(seconds=id_s),
        )

    def verify(self, token: str) -> Claims:
        kid, key = self.pools.signing_key(self.pool_id)
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") != kid:
                raise AuthenticationError("token not signed by this user pool")
            claims = jwt.decode(
                token, key.public_key(), algorithms=["RS256"], issuer=self.issuer,
                # Times are checked below against the injected clock (PyJWT reads the system's).
                options={"require": ["sub", "exp", "iat", "token_use"], "verify_exp": False,
                         "verify_iat": False, "verify_nbf": False, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"token not valid: {exc}") from exc
        return check_claims(claims, self.client_id, self.pools.clock.now())

    def get_user(self, user: str) -> PoolUser:
        with self.pools.db(write=False) as conn:
            sub, email, _hash, attributes, created, enabled = self._row(conn, user)
            groups = self._groups(conn, str(sub))
        return PoolUser(
            sub=str(sub), email=str(email), groups=groups,
            created_at=datetime.fromisoformat(str(created)), enabled=bool(enabled),
            attributes=json.loads(attributes),
        )

    def add_to_group(self, user: str, group: str) -> None:
        with self.pools.db() as conn:
            sub = self._row(conn, user)[0]
            known = conn.execute(
                "SELECT 1 FROM groups WHERE pool_id = ? AND name = ?", (self.pool_id, group)
            ).fetchone()
            if known is None:
                raise NotFoundError(f"no group {group!r} in user pool {self.pool_id}")
            conn.execute("INSERT OR IGNORE INTO members VALUES (?, ?, ?)",
                         (self.pool_id, sub, group))

    def remove_from_group(self, user: str, group: str) -> None:
        with self.pools.db() as conn:
            sub = self._row(conn, user)[0]
            conn.execute("DELETE FROM members WHERE pool_id = ? AND sub = ? AND name = ?",
                         (self.pool_id, sub, group))

    def set_password(self, user: str, password: str) -> None:
        with self.pools.db(write=False) as conn:
            self._row(conn, user)
            self._policy(conn).check(password)
        hashed = hash_password(password)
        with self.pools.db() as conn:
            sub = self._row(conn, user)[0]
            conn.execute("UPDATE users SET password_hash = ? WHERE pool_id = ? AND sub = ?",
                         (hashed, self.pool_id, sub))

    def delete_user(self, user: str) -> None:
        with self.pools.db() as conn:
            sub = self._row(conn, user)[0]
            conn.execute("DELETE FROM members WHERE pool_id = ? AND sub = ?", (self.pool_id, sub))
            conn.execute("DELETE FROM users WHERE pool_id = ? AND sub = ?", (self.pool_id, sub))

