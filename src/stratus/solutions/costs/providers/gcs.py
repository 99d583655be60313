"""GCP billing export files read from Google Cloud Storage (JSON API, no SDK).

``GCP_BILLING`` with ``Config.gcs_bucket``: objects under ``Config.prefix`` are listed
(``GET /storage/v1/b/<bucket>/o``, ``nextPageToken`` pages followed) and downloaded
(``?alt=media``) as the credential's service account. The credential's secret is the service
account key JSON; an access token comes from the OAuth 2.0 JWT bearer flow (an RS256 JWT signed
with the key's private key, exchanged at the key's ``token_uri``). The fingerprint is the
object's ``md5Hash`` (else ``etag``). ``Config.endpoint`` overrides
``https://storage.googleapis.com`` (tests, emulators).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any, BinaryIO

from stratus.solutions.costs.providers.base import (
    SourceError,
    SourceFile,
    fetch_access_token,
    matches_suffix,
)

STORAGE = "https://storage.googleapis.com"
READ_ONLY = "https://www.googleapis.com/auth/devstorage.read_only"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def service_account_token(key_json: str, scope: str = READ_ONLY, now: float | None = None) -> str:
    """An access token for the service account whose key JSON is ``key_json``."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key: dict[str, Any] = json.loads(key_json)
        email = str(key["client_email"])
        token_uri = str(key.get("token_uri") or "https://oauth2.googleapis.com/token")
        private = serialization.load_pem_private_key(str(key["private_key"]).encode(), None)
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(
            f"the GCP credential's secret is not a service account key: {exc}"
        ) from exc
    if not isinstance(private, rsa.RSAPrivateKey):
        raise SourceError("the service account key is not an RSA key")
    issued = int(now if now is not None else time.time())
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = _b64(
        json.dumps(
            {"iss": email, "scope": scope, "aud": token_uri, "iat": issued, "exp": issued + 3600}
        ).encode()
    )
    signature = private.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assertion = f"{header}.{claims}.{_b64(signature)}"
    fields = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    return fetch_access_token(token_uri, fields, "GCP")


class GcsSource:
    """Objects of one GCS bucket under a prefix."""

    provider = "gcp"

    def __init__(
        self,
        bucket: str,
        token: str,
        prefix: str = "",
        suffix: str | None = None,
        endpoint: str = STORAGE,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.suffix = suffix
        self.endpoint = endpoint.rstrip("/")
        self._token = token

    def _request(self, url: str) -> urllib.request.Request:
        request = urllib.request.Request(url)  # noqa: S310 - the configured storage endpoint
        request.add_header("Authorization", f"Bearer {self._token}")
        return request

    def files(self) -> Iterator[SourceFile]:
        page = ""
        base = f"{self.endpoint}/storage/v1/b/{urllib.parse.quote(self.bucket, safe='')}/o"
        while True:
            query = {"prefix": self.prefix, **({"pageToken": page} if page else {})}
            try:
                url = f"{base}?{urllib.parse.urlencode(query)}"
                with urllib.request.urlopen(self._request(url), timeout=60) as response:  # noqa: S310
                    listing = json.loads(response.read())
            except urllib.error.HTTPError as exc:
                raise SourceError(f"list gs://{self.bucket}: HTTP {exc.code}") from exc
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise SourceError(f"list gs://{self.bucket}: {exc}") from exc
            for item in listing.get("items", []):
                name = str(item.get("name", ""))
                if name and matches_suffix(name, self.suffix):
                    size = str(item.get("size", ""))
                    fingerprint = str(item.get("md5Hash") or item.get("etag") or "")
                    yield SourceFile(name, fingerprint, int(size) if size.isdigit() else None)
            page = str(listing.get("nextPageToken") or "")
            if not page:
                return

    def open(self, file: SourceFile) -> BinaryIO:
        name = urllib.parse.quote(file.name, safe="")
        bucket = urllib.parse.quote(self.bucket, safe="")
        url = f"{self.endpoint}/storage/v1/b/{bucket}/o/{name}?alt=media"
        try:
            response: BinaryIO = urllib.request.urlopen(self._request(url), timeout=60)  # noqa: S310
        except urllib.error.HTTPError as exc:
            raise SourceError(f"get gs://{self.bucket}/{file.name}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"get gs://{self.bucket}/{file.name}: {exc}") from exc
        return response
