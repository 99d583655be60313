"""Password hashing: scrypt (RFC 7914) with a random 16-byte salt, checked in constant time.

The one implementation of the local user pool (``adapters/local/userpool.py``). The stored
form names its parameters (``scrypt$N$r$p$salt$hash``), so raising the cost later keeps old
hashes verifiable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1  # 16 MiB of memory per hash
_MAX_N = 2**20


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) for ``password``; a fresh random salt unless given."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    enc = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string; False for
    anything that is not such a string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not 1 < int(n) <= _MAX_N:
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r),
            p=int(p), dklen=len(expected), maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@cache
def dummy_hash() -> str:
    """A hash to check against when the user does not exist, so that an unknown email costs
    the same time as a wrong password."""
    return hash_password("stratus-no-such-user", b"\x00" * 16)
