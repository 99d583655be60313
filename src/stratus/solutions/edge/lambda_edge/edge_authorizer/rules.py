"""JWT validation rules of Authorizer@Edge: pure, with the key source injected.

The one copy of these rules: the Lambda@Edge bundle runs them, and so does the local proxy
(:mod:`stratus.solutions.edge.proxy`). Standard library only (1 MB viewer-request limit).

Order of checks (each rejection names its reason):

1. shape: three base64url segments, JSON header and payload, else ``malformed``;
2. header: ``alg`` must be RS256 or ES256 (so ``none`` and HS256 — including HS256 "signed"
   with the RSA public key — are refused before any key is touched); ``jku``, ``x5u``, ``jwk``
   and ``x5c`` are refused (a token must never choose its own key); ``kid`` is required;
3. key: the ``kid`` is looked up in the JWKS (fetched once, cached, refetched at most once a
   minute for an unknown kid, so key rotation works and a flood of random kids does not);
   the key's ``kty``/``alg`` must agree with the header;
4. signature (:mod:`.jose`: pure-Python RS256/ES256, with the algorithm pinned by the
   header check above); an undecodable signature segment or unusable key is ``malformed``;
5. claims: ``exp`` and ``nbf`` with leeway (an expired token is the one case that is
   redirected to refresh), ``iss`` exact, ``aud`` or ``client_id`` among the accepted
   audiences, ``token_use`` when configured.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from . import jose

ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
#: Refusals that mean "no usable credentials" (401); the others are a valid token for
#: someone or something else (403, or as configured). ``expired`` is redirected to refresh.
UNAUTHENTICATED = frozenset(
    {
        "missing-token",
        "malformed",
        "algorithm-not-allowed",
        "key-in-header-refused",
        "missing-kid",
        "unknown-kid",
        "key-algorithm-mismatch",
        "bad-signature",
        "not-yet-valid",
        "missing-exp",
    }
)
_KTY = {"RS256": "RSA", "ES256": "EC"}
_FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c")


class Clock(Protocol):
    """The platform Clock port's ``now()``."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class JwtPolicy:
    """What a token must satisfy."""

    issuer: str
    audiences: tuple[str, ...]
    token_use: tuple[str, ...] = ()  # e.g. ("id", "access") for Cognito; empty: not checked
    leeway_s: int = 60
    require_exp: bool = True


@dataclass(frozen=True, slots=True)
class JwtResult:
    """The outcome: ``reason`` is ``ok`` or why the token was refused."""

    reason: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason == "ok"

    @property
    def expired(self) -> bool:
        return self.reason == "expired"


class JwksCache:
    """Keys by ``kid`` from a JWKS document; ``fetch`` returns the document (I/O injected)."""

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        clock: Clock,
        *,
        ttl_s: float = 3600.0,
        min_refetch_s: float = 60.0,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._ttl_s = ttl_s
        self._min_refetch_s = min_refetch_s
        self._keys: dict[str, Mapping[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Mapping[str, Any] | None:
        """The JWK for ``kid``; refetches when stale, or for an unknown kid at most once per
        ``min_refetch_s``. Fetch failures keep the keys we have."""
        now = self._clock.now().timestamp()
        with self._lock:
            stale = self._fetched_at is None or now - self._fetched_at > self._ttl_s
            unknown = kid not in self._keys and (
                self._fetched_at is None or now - self._fetched_at > self._min_refetch_s
            )
            if stale or unknown:
                self._refresh(now)
            return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        self._fetched_at = now
        try:
            document = self._fetch()
        except Exception:
            return
        keys = document.get("keys") if isinstance(document, Mapping) else None
        if isinstance(keys, list):
            self._keys = {str(k["kid"]): k for k in keys if isinstance(k, Mapping) and "kid" in k}


def _b64json(segment: str) -> Any:
    return json.loads(jose.b64url_decode(segment))


def validate(token: str, policy: JwtPolicy, keys: JwksCache, clock: Clock) -> JwtResult:
    """Validate ``token`` against ``policy``; see the module docstring for the order."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return JwtResult("malformed")
    try:
        header = _b64json(parts[0])
        claims = _b64json(parts[1])
    except (ValueError, RecursionError):  # bad base64url, UTF-8 or JSON; absurd nesting
        return JwtResult("malformed")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return JwtResult("malformed")
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        return JwtResult("algorithm-not-allowed")
    if any(name in header for name in _FORBIDDEN_HEADERS):
        return JwtResult("key-in-header-refused")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        return JwtResult("missing-kid")
    jwk = keys.key(kid)
    if jwk is None:
        return JwtResult("unknown-kid")
    if jwk.get("kty") != _KTY[str(alg)] or jwk.get("alg", alg) != alg:
        return JwtResult("key-algorithm-mismatch")
    if jwk.get("use", "sig") != "sig":
        return JwtResult("key-algorithm-mismatch")
    try:
        signature = jose.b64url_decode(parts[2])
        valid = jose.verify(str(alg), jwk, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
    except ValueError:  # jose.UnusableKeyError too: an unusable key
        return JwtResult("malformed")
    if not valid:
        return JwtResult("bad-signature")
    return _check_claims(claims, policy, clock)


def _check_claims(claims: Mapping[str, Any], policy: JwtPolicy, clock: Clock) -> JwtResult:
    now = clock.now().timestamp()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is None and policy.require_exp:
        return JwtResult("missing-exp")
    for value in (exp, nbf, claims.get("iat")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return JwtResult("malformed")
    if exp is not None and now > float(exp) + policy.leeway_s:
        return JwtResult("expired", claims)
    if nbf is not None and now + policy.leeway_s < float(nbf):
        return JwtResult("not-yet-valid")
    if claims.get("iss") != policy.issuer:
        return JwtResult("wrong-issuer")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else list(aud) if isinstance(aud, list) else []
    client_id = claims.get("client_id")
    if isinstance(client_id, str):
        audiences.append(client_id)
    if policy.audiences and not set(audiences) & set(policy.audiences):
        return JwtResult("wrong-audience")
    if policy.token_use and claims.get("token_use") not in policy.token_use:
        return JwtResult("wrong-token-use")
    return JwtResult("ok", claims)


def token_from(headers: Mapping[str, str], cookie_name: str) -> str | None:
    """The bearer token of the Authorization header, else the named cookie's value.

    ``headers`` keys are lower case."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for part in headers.get("cookie", "").split(";"):
        name, _, val = part.strip().partition("=")
        if name == cookie_name and val:
            return val
    return None
