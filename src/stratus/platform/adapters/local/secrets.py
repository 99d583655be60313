"""FileSecretStore: the SecretStore port as a SQLite file of Fernet-encrypted values.

The key lives in a separate file (mode 0600), generated on first use; losing it loses the
secrets, as losing a KMS key does. The store remembers an encrypted canary written with its
key, so a wrong or missing key file is reported as such (BackendUnavailableError) instead
of surfacing as a decryption error on some later ``get``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
)

_CANARY = b"stratus secret store canary"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS secrets ("
    " name TEXT PRIMARY KEY, token BLOB NOT NULL, version INTEGER NOT NULL,"
    " created TEXT NOT NULL, updated TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL)",
)
# Secrets Manager: 1-512 characters of ASCII letters, digits and /_+=.@-
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")


class FileSecretStore:
    """A SecretStore in the SQLite file ``path``, encrypted with the Fernet key ``key_path``.

    Only ``get`` decrypts; ``names`` and ``delete`` work without the key. Each ``put`` of
    an existing name replaces its value and bumps its version (Secrets Manager keeps the
    previous versions; this store does not).
    """

    def __init__(self, path: Path, key_path: Path) -> None:
        self.path = Path(path)
        self.key_path = Path(key_path)
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                for statement in _SCHEMA:
                    db.execute(statement)
            os.chmod(self.path, 0o600)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create secret store {self.path}: {exc}") from exc

    # -- plumbing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"secret store {self.path}: {exc}") from exc

    def _read_key(self) -> bytes | None:
        try:
            return self.key_path.read_bytes().strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BackendUnavailableError(f"cannot read key file {self.key_path}: {exc}") from exc

    def _create_key(self) -> bytes:
        key = Fernet.generate_key()
        try:
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            existing = self._read_key()  # another process won the race
            if existing is None:
                raise BackendUnavailableError(f"key file {self.key_path} vanished") from None
            return existing
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create key file {self.key_path}: {exc}") from exc
        with os.fdopen(fd, "wb") as out:
            out.write(key + b"\n")
        return key

    def _cipher(self) -> Fernet:
        """The validated Fernet of this store: key loaded (or created) and canary checked."""
        with self._lock:
            if self._fernet is not None:
                return self._fernet
            with self._db() as db:
                row = db.execute("SELECT v FROM meta WHERE k = 'canary'").fetchone()
                key = self._read_key()
                if key is None:
                    if row is not None:
                        raise BackendUnavailableError(
                            f"key file {self.key_path} is missing: the secrets in "
                            f"{self.path} cannot be decrypted without it"
                        )
                    key = self._create_key()
                try:
                    fernet = Fernet(key)
                except ValueError as exc:
                    raise BackendUnavailableError(
                        f"key file {self.key_path} does not hold a valid Fernet key"
                    ) from exc
                if row is None:
                    db.execute("INSERT INTO meta VALUES ('canary', ?)", (fernet.encrypt(_CANARY),))
                else:
                    try:
                        ok = fernet.decrypt(bytes(row[0])) == _CANARY
                    except InvalidToken:
                        ok = False
                    if not ok:
                        raise BackendUnavailableError(
                            f"key file {self.key_path} is not the key of secret store "
                            f"{self.path} (wrong key: the secrets cannot be decrypted)"
                        )
            self._fernet = fernet
            return fernet

    @staticmethod
    def _check_name(name: str) -> None:
        # The same rule as Secrets Manager, so a name that works locally works on AWS.
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidRequestError(
                f"invalid secret name {name!r}: 1-512 of A-Z a-z 0-9 / _ + = . @ -"
            )

    # -- the port -----------------------------------------------------------------------

    def put(self, name: str, value: str) -> None:
        """Create the secret or replace its value (a new version)."""
        self._check_name(name)
        token = self._cipher().encrypt(value.encode("utf-8"))
        now = datetime.now(UTC).isoformat()
        with self._db() as db:
            db.execute(
                "INSERT INTO secrets VALUES (?, ?, 1, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "token = excluded.token, version = version + 1, updated = excluded.updated",
                (name, token, now, now),
            )

    def get(self, name: str) -> str:
        """The current value, decrypted; NotFoundError when missing."""
        self._check_name(name)
        cipher = self._cipher()
        with self._db() as db:
            row = db.execute("SELECT token FROM secrets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no secret {name!r}")
        try:
            return cipher.decrypt(bytes(row[0])).decode("utf-8")
        except InvalidToken as exc:
            raise BackendUnavailableError(
                f"secret {name!r} in {self.path} cannot be decrypted with {self.key_path}"
            ) from exc

    def delete(self, name: str) -> None:
        """Delete at once (no recovery window); NotFoundError when missing."""
        self._check_name(name)
        with self._db() as db:
            deleted = db.execute("DELETE FROM secrets WHERE name = ?", (name,)).rowcount
        if not deleted:
            raise NotFoundError(f"no secret {name!r}")

    def names(self, prefix: str = "") -> list[str]:
        """Sorted names starting with ``prefix``; reads no value and needs no key."""
        with self._db() as db:
            rows = db.execute("SELECT name FROM secrets ORDER BY name").fetchall()
        return [str(r[0]) for r in rows if str(r[0]).startswith(prefix)]
