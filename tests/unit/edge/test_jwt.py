"""Authorizer@Edge JWT rules: every rejection case has its own test."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.edge.lambda_edge.edge_authorizer.rules import (
    JwksCache,
    JwtPolicy,
    token_from,
    validate,
)

ISSUER = "https://idp.example"
AUDIENCE = "web-app"
POLICY = JwtPolicy(issuer=ISSUER, audiences=(AUDIENCE,), leeway_s=30)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def keys(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, clock: FakeClock
) -> JwksCache:
    rsa_jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    rsa_jwk.update(kid="rsa-1", alg="RS256")
    ec_jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    ec_jwk.update(kid="ec-1", alg="ES256")
    return JwksCache(lambda: {"keys": [rsa_jwk, ec_jwk]}, clock)


def claims(clock: FakeClock, **extra: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u1",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **extra,
    }


def sign(
    key: Any, payload: dict[str, Any], alg: str = "RS256", kid: str = "rsa-1", **headers: Any
) -> str:
    return pyjwt.encode(payload, key, algorithm=alg, headers={"kid": kid, **headers})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_valid_rs256_token_is_accepted(rsa_key, keys, clock):
    assert validate(sign(rsa_key, claims(clock)), POLICY, keys, clock).ok


def test_a_valid_es256_token_is_accepted(ec_key, keys, clock):
    token = sign(ec_key, claims(clock), alg="ES256", kid="ec-1")
    assert validate(token, POLICY, keys, clock).ok


def test_alg_none_is_rejected(keys, clock):
    header = b64(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims(clock)).encode())
    assert validate(f"{header}.{body}.", POLICY, keys, clock).reason == "algorithm-not-allowed"


def test_hs256_signed_with_the_public_key_is_rejected(rsa_key, keys, clock):
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import hashlib
    import hmac

    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims(clock)).encode())
    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{b64(mac)}"
    assert validate(token, POLICY, keys, clock).reason == "algorithm-not-allowed"


def test_an_unknown_kid_is_rejected(rsa_key, keys, clock):
    token = sign(rsa_key, claims(clock), kid="not-published")
    assert validate(token, POLICY, keys, clock).reason == "unknown-kid"


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk"])
def test_a_token_naming_its_own_key_is_rejected(rsa_key, keys, clock, header):
    value: Any = {"kty": "RSA"} if header == "jwk" else "https://evil.example/keys"
    token = sign(rsa_key, claims(clock), **{header: value})
    assert validate(token, POLICY, keys, clock).reason == "key-in-header-refused"


def test_an_expired_token_is_reported_as_expired(rsa_key, keys, clock):
    token = sign(rsa_key, claims(clock))
    clock.advance(600 + 31)
    result = validate(token, POLICY, keys, clock)
    assert result.expired
    assert not result.ok


def test_expiry_within_the_leeway_is_accepted(rsa_key, keys, clock):
    token = sign(rsa_key, claims(clock))
    clock.advance(600 + 29)
    assert validate(token, POLICY, keys, clock).ok


def test_a_token_not_yet_valid_is_rejected(rsa_key, keys, clock):
    now = int(clock.now().timestamp())
    token = sign(rsa_key, claims(clock, nbf=now + 120))
    assert validate(token, POLICY, keys, clock).reason == "not-yet-valid"


def test_a_wrong_issuer_is_rejected(rsa_key, keys, clock):
    token = sign(rsa_key, claims(clock, iss="https://other.example"))
    assert validate(token, POLICY, keys, clock).reason == "wrong-issuer"


def test_a_wrong_audience_is_rejected(rsa_key, keys, clock):
    token = sign(rsa_key, claims(clock, aud="someone-else"))
    assert validate(token, POLICY, keys, clock).reason == "wrong-audience"


def test_client_id_stands_for_the_audience_of_access_tokens(rsa_key, keys, clock):
    payload = claims(clock, client_id=AUDIENCE, token_use="access")
    del payload["aud"]
    policy = JwtPolicy(issuer=ISSUER, audiences=(AUDIENCE,), token_use=("access",))
    assert validate(sign(rsa_key, payload), policy, keys, clock).ok


def test_a_wrong_token_use_is_rejected(rsa_key, keys, clock):
    policy = JwtPolicy(issuer=ISSUER, audiences=(AUDIENCE,), token_use=("id",))
    token = sign(rsa_key, claims(clock, token_use="access"))
    assert validate(token, policy, keys, clock).reason == "wrong-token-use"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "!!!.???.sig", "e30.bm90LWpzb24.c2ln", ".e30.sig"],
)
def test_malformed_tokens_are_rejected(keys, clock, token):
    assert validate(token, POLICY, keys, clock).reason == "malformed"


def test_a_tampered_payload_fails_the_signature(rsa_key, keys, clock):
    header, _, sig = sign(rsa_key, claims(clock)).split(".")
    forged = b64(json.dumps(claims(clock, sub="admin")).encode())
    assert validate(f"{header}.{forged}.{sig}", POLICY, keys, clock).reason == "bad-signature"


def test_an_es256_header_on_an_rsa_key_is_rejected(ec_key, keys, clock):
    token = sign(ec_key, claims(clock), alg="ES256", kid="rsa-1")
    assert validate(token, POLICY, keys, clock).reason == "key-algorithm-mismatch"


def test_keys_are_cached_and_an_unknown_kid_refetches_at_most_once_a_minute(clock):
    calls = []

    def fetch() -> dict[str, Any]:
        calls.append(1)
        return {"keys": [{"kid": "a", "kty": "RSA"}]}

    cache = JwksCache(fetch, clock)
    assert cache.key("a") is not None
    assert cache.key("a") is not None
    assert cache.key("zzz") is None
    assert len(calls) == 1
    clock.advance(61)
    assert cache.key("zzz") is None
    assert len(calls) == 2


def test_a_jwks_outage_keeps_the_cached_keys(clock):
    state = {"fail": False}

    def fetch() -> dict[str, Any]:
        if state["fail"]:
            raise OSError("down")
        return {"keys": [{"kid": "a", "kty": "RSA"}]}

    cache = JwksCache(fetch, clock, ttl_s=10)
    assert cache.key("a") is not None
    state["fail"] = True
    clock.advance(20)
    assert cache.key("a") is not None


def test_the_token_comes_from_the_bearer_header_then_the_cookie():
    assert token_from({"authorization": "Bearer abc"}, "id_token") == "abc"
    assert token_from({"cookie": "a=1; id_token=xyz"}, "id_token") == "xyz"
    assert token_from({"authorization": "Basic abc"}, "id_token") is None
