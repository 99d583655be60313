"""Pure-Python RS256/ES256 (the Lambda@Edge bundle's verifier) against tokens and signatures
made by ``cryptography`` (OpenSSL)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from hypothesis import given, settings
from hypothesis import strategies as st

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.edge.lambda_edge.edge_authorizer import jose
from stratus.solutions.edge.lambda_edge.edge_authorizer.rules import (
    JwksCache,
    JwtPolicy,
    validate,
)

ISSUER = "https://idp.example"
POLICY = JwtPolicy(issuer=ISSUER, audiences=("web",), leeway_s=30)
CODE_URI = Path(jose.__file__).resolve().parents[1]

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key: Any, kid: str, alg: str) -> dict[str, Any]:
    cls = pyjwt.algorithms.RSAAlgorithm if alg == "RS256" else pyjwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(cls.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg=alg)
    return jwk


JWKS = {
    "keys": [
        jwk_of(RSA_KEY, "rsa-1", "RS256"),
        jwk_of(OTHER_RSA_KEY, "rsa-2", "RS256"),
        jwk_of(EC_KEY, "ec-1", "ES256"),
        jwk_of(OTHER_EC_KEY, "ec-2", "ES256"),
    ]
}


@pytest.fixture
def keys(clock: FakeClock) -> JwksCache:
    return JwksCache(lambda: JWKS, clock)


def claims(clock: FakeClock, **extra: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    return {"iss": ISSUER, "aud": "web", "sub": "u1", "iat": now, "exp": now + 600, **extra}


def sign(key: Any, payload: dict[str, Any], alg: str, kid: str) -> str:
    return pyjwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def es_raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def rs_public(key: rsa.RSAPrivateKey) -> tuple[int, int]:
    numbers = key.public_key().public_numbers()
    return numbers.n, numbers.e


def ec_public(key: ec.EllipticCurvePrivateKey) -> tuple[int, int]:
    numbers = key.public_key().public_numbers()
    return numbers.x, numbers.y


# ---- whole tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "alg", "kid"), [(RSA_KEY, "RS256", "rsa-1"), (EC_KEY, "ES256", "ec-1")]
)
def test_valid_tokens_pass_and_tampering_fails(keys, clock, key, alg, kid):
    token = sign(key, claims(clock), alg, kid)
    assert validate(token, POLICY, keys, clock).ok
    header, payload, signature = token.split(".")
    forged = b64(json.dumps(claims(clock, sub="admin")).encode())
    assert validate(f"{header}.{forged}.{signature}", POLICY, keys, clock).reason == "bad-signature"
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[len(raw) // 2] ^= 0x01
    tampered = f"{header}.{payload}.{b64(bytes(raw))}"
    assert validate(tampered, POLICY, keys, clock).reason == "bad-signature"
    assert validate(f"{header}.{payload}.", POLICY, keys, clock).reason == "bad-signature"


@pytest.mark.parametrize(
    ("key", "alg", "kid"), [(RSA_KEY, "RS256", "rsa-2"), (EC_KEY, "ES256", "ec-2")]
)
def test_a_token_naming_another_published_key_fails_the_signature(keys, clock, key, alg, kid):
    assert validate(sign(key, claims(clock), alg, kid), POLICY, keys, clock).reason == (
        "bad-signature"
    )


def test_the_algorithm_must_match_the_key_and_be_allowed(keys, clock):
    on_rsa = sign(EC_KEY, claims(clock), "ES256", "rsa-1")
    assert validate(on_rsa, POLICY, keys, clock).reason == "key-algorithm-mismatch"
    on_ec = sign(RSA_KEY, claims(clock), "RS256", "ec-1")
    assert validate(on_ec, POLICY, keys, clock).reason == "key-algorithm-mismatch"
    signers: dict[str, Any] = {
        "PS256": RSA_KEY,
        "RS384": RSA_KEY,
        "ES384": ec.generate_private_key(ec.SECP384R1()),
        "HS256": b"k" * 32,
    }
    for alg, key in signers.items():
        token = sign(key, claims(clock), alg, "rsa-1")
        assert validate(token, POLICY, keys, clock).reason == "algorithm-not-allowed", alg


def test_alg_none_is_refused_with_or_without_a_signature(keys, clock):
    header = b64(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims(clock)).encode())
    good = sign(RSA_KEY, claims(clock), "RS256", "rsa-1").split(".")[2]
    for token in (f"{header}.{body}.", f"{header}.{body}.{good}"):
        assert validate(token, POLICY, keys, clock).reason == "algorithm-not-allowed"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h, p, s: f"{h}.{p}.{s}=",  # padding is not base64url
        lambda h, p, s: f"{h}.{p}.{s[:-2]}+/",  # the standard alphabet is not either
        lambda h, p, s: f"{h}.{p}.{s[:-1]}",  # a length no base64 has (4k + 1)
        lambda h, p, s: f"{h}.{p}.{s[:10]} {s[10:]}",
        lambda h, p, s: f"{h}=.{p}.{s}",
        lambda h, p, s: f"{h}.{p[:-1]}*.{s}",
        lambda h, p, s: f"{h}.{p}.{s}é",
    ],
)
def test_malformed_base64url_is_malformed(keys, clock, mangle):
    header, payload, signature = sign(RSA_KEY, claims(clock), "RS256", "rsa-1").split(".")
    assert validate(mangle(header, payload, signature), POLICY, keys, clock).reason == "malformed"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_unusable_published_keys_are_refused(clock):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    bad_point = dict(jwk_of(EC_KEY, "ec-bad", "ES256"), y=b64((1).to_bytes(32, "big")))
    wrong_curve = dict(jwk_of(EC_KEY, "ec-384", "ES256"), crv="P-384")
    no_n = {k: v for k, v in jwk_of(RSA_KEY, "no-n", "RS256").items() if k != "n"}
    encryption = dict(jwk_of(RSA_KEY, "enc", "RS256"), use="enc")
    published = [jwk_of(weak, "weak", "RS256"), bad_point, wrong_curve, no_n, encryption]
    keys = JwksCache(lambda: {"keys": published}, clock)
    cases = [
        (sign(weak, claims(clock), "RS256", "weak"), "malformed"),
        (sign(EC_KEY, claims(clock), "ES256", "ec-bad"), "malformed"),
        (sign(EC_KEY, claims(clock), "ES256", "ec-384"), "malformed"),
        (sign(RSA_KEY, claims(clock), "RS256", "no-n"), "malformed"),
        (sign(RSA_KEY, claims(clock), "RS256", "enc"), "key-algorithm-mismatch"),
    ]
    for token, reason in cases:
        assert validate(token, POLICY, keys, clock).reason == reason


# ---- ES256 signature values -----------------------------------------------------------------


def test_es256_high_s_is_accepted_as_openssl_does_and_out_of_range_values_are_not():
    message = b"header.payload"
    r, s = utils.decode_dss_signature(EC_KEY.sign(message, ec.ECDSA(hashes.SHA256())))
    x, y = ec_public(EC_KEY)
    high = (r, jose.N - s)  # the other valid s: ECDSA is malleable, JWS has no low-S rule
    EC_KEY.public_key().verify(
        utils.encode_dss_signature(*high), message, ec.ECDSA(hashes.SHA256())
    )  # OpenSSL accepts it
    assert jose.es256_verify(x, y, message, es_raw(*high))
    assert jose.es256_verify(x, y, message, es_raw(r, s))
    out_of_range = [(0, s), (r, 0), (jose.N, s), (r, jose.N), (jose.N + 1, s), (r, jose.N + 1)]
    for bad_r, bad_s in out_of_range:
        assert not jose.es256_verify(x, y, message, es_raw(bad_r, bad_s))
    assert not jose.es256_verify(x, y, message, es_raw(2**256 - 1, 2**256 - 1))
    assert not jose.es256_verify(x, y, message, es_raw(r, s)[:63])
    assert not jose.es256_verify(x, y, message, utils.encode_dss_signature(r, s))  # DER
    assert not jose.es256_verify(x, (y + 1) % jose.P, message, es_raw(r, s))  # off the curve


def test_the_curve_arithmetic_agrees_with_openssl():
    g = (jose.GX, jose.GY)
    assert jose.on_curve(*g)
    assert jose._to_affine(jose._shamir(jose.N, g, 0, g)) is None  # n·G = ∞
    minus_g = (jose.GX, (-jose.GY) % jose.P)
    assert jose._to_affine(jose._shamir(jose.N - 1, g, 0, g)) == minus_g
    assert jose._to_affine(jose._shamir(5, g, 7, minus_g)) == jose._to_affine(
        jose._shamir(jose.N - 2, g, 0, g)
    )  # Q = -G: 5G - 7G = -2G
    for k in (1, 2, 3, 2**255 + 12345, jose.N - 3, 0xC0FFEE):
        expected = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers()
        assert jose._to_affine(jose._shamir(k, g, 0, g)) == (expected.x, expected.y)


# ---- property-style: random messages --------------------------------------------------------


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(message=st.binary(max_size=512), bit=st.integers(min_value=0, max_value=2**16))
def test_rs256_accepts_exactly_what_openssl_accepts(message: bytes, bit: int) -> None:
    n, e = rs_public(RSA_KEY)
    signature = RSA_KEY.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert jose.rs256_verify(n, e, message, signature)
    assert not jose.rs256_verify(n, e, _flip(message or b"\0", bit), signature)
    assert not jose.rs256_verify(n, e, message, _flip(signature, bit))
    assert not jose.rs256_verify(*rs_public(OTHER_RSA_KEY), message, signature)


@settings(max_examples=300, deadline=None)
@given(message=st.binary(max_size=512), bit=st.integers(min_value=0, max_value=2**16))
def test_es256_accepts_exactly_what_openssl_accepts(message: bytes, bit: int) -> None:
    x, y = ec_public(EC_KEY)
    r, s = utils.decode_dss_signature(EC_KEY.sign(message, ec.ECDSA(hashes.SHA256())))
    raw = es_raw(r, s)
    assert jose.es256_verify(x, y, message, raw)
    assert not jose.es256_verify(x, y, _flip(message or b"\0", bit), raw)
    flipped = _flip(raw, bit)
    fr, fs = int.from_bytes(flipped[:32], "big"), int.from_bytes(flipped[32:], "big")
    try:
        EC_KEY.public_key().verify(
            utils.encode_dss_signature(fr, fs), message, ec.ECDSA(hashes.SHA256())
        )
        openssl = True
    except (InvalidSignature, ValueError):
        openssl = False
    assert not openssl
    assert not jose.es256_verify(x, y, message, flipped)
    assert not jose.es256_verify(*ec_public(OTHER_EC_KEY), message, raw)


# ---- the bundle alone ---------------------------------------------------------


def test_the_bundle_verifies_tokens_with_the_standard_library_alone(clock):
    """As on Lambda@Edge: only the CodeUri on sys.path (``-S``: no site-packages)."""
    tokens = [
        sign(RSA_KEY, claims(clock), "RS256", "rsa-1"),
        sign(EC_KEY, claims(clock), "ES256", "ec-1"),
        sign(EC_KEY, claims(clock), "ES256", "ec-2"),
    ]
    script = f"""
import json, sys
from datetime import datetime, timezone
sys.path.insert(0, {str(CODE_URI)!r})
from edge_authorizer import rules
from edge_authorizer.handler import decide
from edge_authorizer.settings import load_auth_settings
data = json.load(sys.stdin)
class Clock:
    def now(self):
        return datetime.fromtimestamp({clock.now().timestamp()}, timezone.utc)
keys = rules.JwksCache(lambda: data["jwks"], Clock())
policy = rules.JwtPolicy({ISSUER!r}, ("web",))
print(json.dumps([rules.validate(t, policy, keys, Clock()).reason for t in data["tokens"]]))
load_auth_settings()
assert not [m for m in sys.modules if m.split(".")[0] in ("jwt", "cryptography", "stratus")]
"""
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", script],
        input=json.dumps({"jwks": JWKS, "tokens": tokens}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == ["ok", "ok", "bad-signature"]
