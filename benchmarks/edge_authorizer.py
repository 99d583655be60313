"""Authorizer@Edge token verification cost: the dependency-free verifier the Lambda@Edge
package ships (pure-Python RS256 and ES256) against PyJWT + cryptography (OpenSSL), the
library it replaced, on the same tokens in the same run.

    .venv/bin/python benchmarks/edge_authorizer.py [ROUNDS]

Prints the median time per full ``validate`` (signature, claims, key lookup) of five runs of
ROUNDS tokens, per algorithm, and the ratio to the baseline. The viewer-request budget is 5 s.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.edge.lambda_edge.edge_authorizer.rules import (
    JwksCache,
    JwtPolicy,
    validate,
)

ISSUER = "https://idp.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    cls = pyjwt.algorithms.RSAAlgorithm if alg == "RS256" else pyjwt.algorithms.ECAlgorithm
    return {**json.loads(cls.to_jwk(key.public_key())), "kid": kid, "alg": alg, "use": "sig"}


def per_token_ms(check: Callable[[], bool], rounds: int) -> float:
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            if not check():
                raise SystemExit("a valid token was refused")
        samples.append((time.perf_counter() - started) / rounds * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("rounds", type=int, nargs="?", default=200)
    rounds = parser.parse_args().rounds
    clock = FakeClock()
    keys = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
    }
    jwks = {"keys": [jwk(key, alg, alg) for alg, key in keys.items()]}
    cache = JwksCache(lambda: jwks, clock)
    policy = JwtPolicy(issuer=ISSUER, audiences=("web",), leeway_s=30)
    now = int(clock.now().timestamp())
    claims = {"iss": ISSUER, "aud": "web", "sub": "u", "iat": now,
              "exp": int((clock.now() + timedelta(hours=1)).timestamp())}  # fmt: skip
    print(f"Authorizer@Edge validate per token, median of 5 x {rounds}")
    print(f"{'alg':6} {'ours (stdlib) ms':>17} {'PyJWT+OpenSSL ms':>17} {'ratio':>7}")
    for alg, key in keys.items():
        token = pyjwt.encode(claims, key, algorithm=alg, headers={"kid": alg})
        public = key.public_key()
        ours = per_token_ms(lambda: validate(token, policy, cache, clock).ok, rounds)  # noqa: B023

        def baseline() -> bool:
            decoded = pyjwt.decode(
                token, public, algorithms=[alg], audience="web", issuer=ISSUER,  # noqa: B023
                options={"verify_exp": False},
            )  # fmt: skip
            return bool(decoded)

        base = per_token_ms(baseline, rounds)
        print(f"{alg:6} {ours:17.3f} {base:17.3f} {ours / base:6.1f}x")


if __name__ == "__main__":
    main()
