"""CloudFront signed cookies and signed URLs for the recordings on AWS.

On AWS the site, the API and the recordings bucket are one CloudFront distribution. Covers
are public (``/media/covers/*``); every other ``/media/*`` object (``recordings/<id>/...``
and IVS's ``ivs/v1/...``) needs a CloudFront signature from the template's trusted key group.
When the API hands out a recording the caller may watch (``service.can_watch_recording``), it
also sets signed cookies for the folder of the recording's playlist (hls.js then fetches the
playlist and its segments with them) and gives thumbnails as signed URLs (a list of
recordings would otherwise need one cookie set per recording). Locally nothing is signed:
the mounted site checks visibility on every request itself (``site.py``), so ``bootstrap``
gives a signer on the aws target only.

The format is CloudFront's (Developer Guide, "Set signed cookies using a custom policy" and
"Create a signed URL using a canned policy"): the policy is JSON without whitespace, signed
with RSA-SHA1 (PKCS#1 v1.5) by the private key whose public key is in the key group; policy
and signature are base64 with ``+``, ``=``, ``/`` replaced by ``-``, ``_``, ``~``; the key
pair id is the id of the ``AWS::CloudFront::PublicKey``. The private key (PEM) is kept in the
SecretStore under :data:`PRIVATE_KEY_SECRET`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stratus.platform.ports import PortError, SecretStore

PRIVATE_KEY_SECRET = "streaming/cloudfront-private-key"  # noqa: S105 - a secret's name
"""SecretStore name of the PEM private key matching the template's ``MediaPublicKey``."""
SITE_HOST_HEADER = "x-stratus-site-host"
"""Set by the distribution's ``/api/*`` function: the host the browser asked for (API
Gateway sees its own execute-api host)."""
COOKIE_TTL_S = 2 * 3600
"""How long a recording's cookies (and a thumbnail's URL) stay valid: enough to watch a long
recording; the page asks again on the next visit."""
MEDIA_PREFIX = "/media/"

_CF_B64 = str.maketrans("+=/", "-_~")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$")


def cf_base64(data: bytes) -> str:
    """CloudFront's URL-safe base64: standard base64, then ``+=/`` → ``-_~``."""
    return base64.b64encode(data).decode("ascii").translate(_CF_B64)


def cf_base64_decode(text: str) -> bytes:
    """The inverse of :func:`cf_base64` (for checks and tests)."""
    return base64.b64decode(text.translate(str.maketrans("-_~", "+=/")))


def policy_json(resource: str, expires_at: int) -> bytes:
    """A policy statement: ``resource`` (may end in ``*``) until ``expires_at`` (epoch s),
    without whitespace. With one resource and only ``DateLessThan`` it is also the canned
    policy CloudFront rebuilds for a canned signed URL."""
    statement = {"Statement": [{"Resource": resource,
                                "Condition": {"DateLessThan": {"AWS:EpochTime": expires_at}}}]}
    return json.dumps(statement, separators=(",", ":")).encode()


class CloudFrontSigner:
    """Signs policies with one private key of a CloudFront key group."""

    def __init__(self, key_pair_id: str, private_key_pem: str | bytes) -> None:
        if not key_pair_id:
            raise ValueError("key pair id: empty (the id of the AWS::CloudFront::PublicKey)")
        pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("CloudFront signs with RSA keys: this PEM is not an RSA key")
        self.key_pair_id = key_pair_id
        self._key = key

    def sign(self, policy: bytes) -> str:
        """RSA-SHA1 (PKCS#1 v1.5) signature of ``policy``, CloudFront-base64."""
        return cf_base64(self._key.sign(policy, padding.PKCS1v15(), hashes.SHA1()))  # noqa: S303 - CloudFront's algorithm

    def cookies(self, resource: str, expires_at: int) -> dict[str, str]:
        """The three signed cookies of a custom policy for ``resource``."""
        policy = policy_json(resource, expires_at)
        return {"CloudFront-Policy": cf_base64(policy),
                "CloudFront-Signature": self.sign(policy),
                "CloudFront-Key-Pair-Id": self.key_pair_id}

    def signed_url(self, url: str, expires_at: int) -> str:
        """``url`` signed with a canned policy (``Expires``, ``Signature``, ``Key-Pair-Id``)."""
        signature = self.sign(policy_json(url, expires_at))
        sep = "&" if "?" in url else "?"
        query = f"Expires={expires_at}&Signature={signature}&Key-Pair-Id={self.key_pair_id}"
        return f"{url}{sep}{query}"


@dataclass(frozen=True)
class MediaGrant:
    """Signed cookies for one folder of media, as ``Set-Cookie`` header values."""

    set_cookies: list[str]
    expires_at: int


class MediaSigner(Protocol):
    """What the API needs to let a browser fetch private media through the CDN."""

    def grant_folder(self, host: str, key: str) -> MediaGrant:
        """Cookies for every object in the folder of ``key`` (e.g. a recording's playlist)."""
        ...

    def object_url(self, host: str, key: str) -> str:
        """A signed site-relative URL (``/media/<key>?...``) for one object."""
        ...


def folder_of(key: str) -> str:
    """``recordings/<id>/index.m3u8`` → ``recordings/<id>/``."""
    folder = key.rsplit("/", 1)[0] if "/" in key else ""
    if not folder:
        raise ValueError(f"{key!r}: a media key inside a folder is needed")
    return folder + "/"


class CloudFrontMediaSigner:
    """:class:`MediaSigner` on CloudFront, the private key read once from the SecretStore."""

    def __init__(self, secrets: SecretStore, key_pair_id: str, *, ttl_s: int = COOKIE_TTL_S,
                 now: Callable[[], float] = time.time) -> None:
        self.secrets = secrets
        self.key_pair_id = key_pair_id
        self.ttl_s = ttl_s
        self._now = now
        self._signer: CloudFrontSigner | None = None
        self._lock = threading.Lock()

    def signer(self) -> CloudFrontSigner:
        with self._lock:
            if self._signer is None:
                try:
                    pem = self.secrets.get(PRIVATE_KEY_SECRET)
                except PortError as exc:
                    raise RuntimeError(
                        f"the CloudFront private key is not in the secret {PRIVATE_KEY_SECRET!r}"
                        f" ({exc}): see docs/solutions/streaming.md, Deploy") from exc
                self._signer = CloudFrontSigner(self.key_pair_id, pem)
            return self._signer

    def _expiry(self) -> int:
        # Rounded to the quarter hour: the same URL for a while, so browsers can cache it.
        return (int(self._now() + self.ttl_s) // 900 + 1) * 900

    def grant_folder(self, host: str, key: str) -> MediaGrant:
        path = MEDIA_PREFIX + quote(folder_of(key))
        expires = self._expiry()
        cookies = self.signer().cookies(f"https://{host}{path}*", expires)
        attributes = f"; Path={path}; Secure; HttpOnly; SameSite=Lax"
        return MediaGrant([f"{name}={value}{attributes}" for name, value in cookies.items()],
                          expires)

    def object_url(self, host: str, key: str) -> str:
        path = MEDIA_PREFIX + quote(key)
        signed = self.signer().signed_url(f"https://{host}{path}", self._expiry())
        return signed[len(f"https://{host}"):]


def site_host(headers: Mapping[str, str] | None, site_url: str = "") -> str | None:
    """The distribution's host for this request: the header the ``/api/*`` function sets,
    else the host of ``SITE_URL``; None when neither is known."""
    for name, value in (headers or {}).items():
        if str(name).lower() == SITE_HOST_HEADER and value:
            host = str(value).strip()
            return host if _HOST.match(host) else None
    host = urlsplit(site_url).netloc if site_url else ""
    return host if host and _HOST.match(host) else None
