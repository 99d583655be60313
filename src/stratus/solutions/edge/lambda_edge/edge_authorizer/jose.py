"""JWS signature verification for RS256 and ES256 from JWKS keys, in pure Python.

* RS256 (RFC 7518 §3.3): RSASSA-PKCS1-v1_5 with SHA-256. ``pow(signature, e, n)`` is compared,
  whole, with the one valid encoding ``00 01 FF..FF 00 DigestInfo(SHA-256) digest`` (built, not
  parsed, so there is no lenient padding parser to fool; compared with
  :func:`hmac.compare_digest`). The signature must be exactly the modulus length and smaller
  than ``n``; keys below 2048 bits are refused.
* ES256 (RFC 7518 §3.4): ECDSA on NIST P-256 with SHA-256; the JWS signature is the raw
  ``r || s`` (32 bytes each, not DER). ``1 <= r, s < n`` is required; high-S signatures are
  valid ECDSA and accepted (as OpenSSL does: JWS has no low-S rule, and a malleated signature
  over the same claims grants nothing new). The public key must be a point on the curve.
  ``u1·G + u2·Q`` is computed with Shamir's trick in Jacobian coordinates (``a = -3``
  doubling); inverses are ``pow(x, -1, m)``.

Only verification, only public keys: no secret is handled, so timing does not leak one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "UnusableKeyError",
    "b64url_decode",
    "es256_verify",
    "rs256_verify",
    "verify",
]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class UnusableKeyError(ValueError):
    """A JWK that cannot be used (missing or malformed members, a weak or invalid key)."""


def b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url (RFC 7515 §2): only ``A-Z a-z 0-9 - _``; ValueError else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(jwk: Mapping[str, Any], name: str) -> tuple[int, int]:
    """A JWK integer member: (value, its byte length)."""
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise UnusableKeyError(f"the key has no {name!r}")
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise UnusableKeyError(f"the key's {name!r} is not base64url") from None
    return int.from_bytes(raw, "big"), len(raw)


# ---- RS256 ----------------------------------------------------------------------------------

#: DER of DigestInfo { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING (32 bytes) }.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
MIN_RSA_BITS = 2048


def rs256_verify(n: int, e: int, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5-VERIFY with SHA-256 (RFC 8017 §8.2.2)."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    encoded = pow(s, e, n).to_bytes(k, "big")
    t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(encoded, expected)


def _rsa_key(jwk: Mapping[str, Any]) -> tuple[int, int]:
    n, _ = _uint(jwk, "n")
    e, _ = _uint(jwk, "e")
    if n.bit_length() < MIN_RSA_BITS:
        raise UnusableKeyError(f"RSA keys under {MIN_RSA_BITS} bits are refused")
    if e < 3 or e % 2 == 0 or e >= n or n % 2 == 0:
        raise UnusableKeyError("not an RSA public key")
    return n, e


# ---- ES256 ----------------------------------------------------------------------------------

# NIST P-256 (FIPS 186-4 D.1.2.3 / SEC 2 secp256r1): y² = x³ - 3x + b over GF(p), order n.
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5

Jacobian = tuple[int, int, int]  # (X, Y, Z): x = X/Z², y = Y/Z³; Z == 0 is the infinity
Affine = tuple[int, int]
_INFINITY: Jacobian = (1, 1, 0)


def on_curve(x: int, y: int) -> bool:
    """Whether (x, y) is an affine point of P-256 (coordinates reduced)."""
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x - 3 * x + B)) % P == 0


def _double(point: Jacobian) -> Jacobian:
    """2·P ("dbl-2001-b", a = -3)."""
    x1, y1, z1 = point
    if z1 == 0 or y1 == 0:
        return _INFINITY
    delta = z1 * z1 % P
    gamma = y1 * y1 % P
    beta = x1 * gamma % P
    alpha = 3 * (x1 - delta) * (x1 + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y1 + z1) * (y1 + z1) - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return x3, y3, z3


def _add_affine(point: Jacobian, other: Affine) -> Jacobian:
    """P + Q with Q affine ("madd"); handles P = ∞, P = Q and P = -Q."""
    x1, y1, z1 = point
    x2, y2 = other
    if z1 == 0:
        return x2, y2, 1
    z1z1 = z1 * z1 % P
    u2 = x2 * z1z1 % P
    s2 = y2 * z1 * z1z1 % P
    h = (u2 - x1) % P
    r = (s2 - y1) % P
    if h == 0:
        return _double(point) if r == 0 else _INFINITY
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - y1 * hhh) % P
    z3 = z1 * h % P
    return x3, y3, z3


def _to_affine(point: Jacobian) -> Affine | None:
    x, y, z = point
    if z == 0:
        return None
    z_inv = pow(z, -1, P)
    z_inv2 = z_inv * z_inv % P
    return x * z_inv2 % P, y * z_inv2 * z_inv % P


def _shamir(u1: int, g: Affine, u2: int, q: Affine) -> Jacobian:
    """u1·G + u2·Q, one doubling per bit (Shamir's trick with G + Q precomputed)."""
    sum_gq = _to_affine(_add_affine((g[0], g[1], 1), q))
    if sum_gq is None:  # Q = -G: u1·G + u2·Q = (u1 - u2)·G
        u1, u2 = (u1 - u2) % N, 0
    table: dict[tuple[int, int], Affine | None] = {(1, 0): g, (0, 1): q, (1, 1): sum_gq}
    acc = _INFINITY
    for i in range(max(u1.bit_length(), u2.bit_length()) - 1, -1, -1):
        acc = _double(acc)
        addend = table.get(((u1 >> i) & 1, (u2 >> i) & 1))
        if addend is not None:
            acc = _add_affine(acc, addend)
    return acc


def es256_verify(x: int, y: int, message: bytes, signature: bytes) -> bool:
    """ECDSA P-256 / SHA-256 verification (SEC 1 §4.1.4) of a raw ``r || s`` signature."""
    if len(signature) != 64 or not on_curve(x, y):
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")  # 256 bits: no truncation
    w = pow(s, -1, N)
    point = _to_affine(_shamir(e * w % N, (GX, GY), r * w % N, (x, y)))
    if point is None:
        return False
    return point[0] % N == r


def _ec_key(jwk: Mapping[str, Any]) -> tuple[int, int]:
    if jwk.get("crv") != "P-256":
        raise UnusableKeyError("ES256 needs a P-256 key")
    x, x_len = _uint(jwk, "x")
    y, y_len = _uint(jwk, "y")
    if x_len != 32 or y_len != 32 or not on_curve(x, y):
        raise UnusableKeyError("not a P-256 public key")
    return x, y


# ---- the JWS check --------------------------------------------------------------------------


def verify(alg: str, jwk: Mapping[str, Any], signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``alg``'s signature of ``signing_input`` by ``jwk``.

    ``alg`` is pinned by the caller (RS256 or ES256); UnusableKeyError when the key is unusable,
    ValueError for another algorithm."""
    if alg == "RS256":
        n, e = _rsa_key(jwk)
        return rs256_verify(n, e, signing_input, signature)
    if alg == "ES256":
        x, y = _ec_key(jwk)
        return es256_verify(x, y, signing_input, signature)
    raise ValueError(f"algorithm {alg!r} is not supported")
