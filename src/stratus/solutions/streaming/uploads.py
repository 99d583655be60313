"""Upload URLs for custom videos: the file goes straight into the recordings bucket.

Why a presigned-PUT flow and not a body through the API: API Gateway REST payloads stop at
10 MB (and Lambda's at 6 MB), far below a video; a URL signed for one key, one content type
and a short time lets the client PUT the file to the object store directly, and the API only
ever sees JSON. On AWS that URL is an S3 presigned PUT (:class:`S3UploadSigner`); locally
the mounted site accepts a PUT on an HMAC-signed URL and writes the object through the
ObjectStore port (:class:`LocalUploadSigner`), so the object-created event that starts the
transcoding fires the same way. The signer is chosen in ``bootstrap``.

The URL fixes the key, the content type and the size (S3 signs ``Content-Length``; the
local endpoint compares the body's length), and expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as pysecrets
import time
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from stratus.platform.ports import PortError, SecretStore

UPLOAD_SECRET_NAME = "streaming/upload-signing-key"  # noqa: S105 - a secret name
UPLOAD_PATH = "/streaming/site/upload/"
MAX_UPLOAD_BYTES = 2 * 1024**3
"""2 GiB: the largest video accepted (the transcoder's time limit is the other bound)."""


def upload_key(recording_id: str) -> str:
    """Where the original of an uploaded video lands; its object-created event (prefix
    ``uploads/``, suffix ``.upload``) starts the transcoding."""
    return f"uploads/{recording_id}/source.upload"


class UploadSigner(Protocol):
    """Makes a URL that lets its holder PUT one object, of one content type, for a while."""

    def put_url(self, key: str, content_type: str, size_bytes: int, expires_s: int) -> str:
        """The URL; the client sends ``PUT`` with ``Content-Type: content_type`` and exactly
        ``size_bytes`` bytes."""
        ...


class LocalUploadSigner:
    """HMAC-SHA256 over key, content type, size and expiry, with a key in the SecretStore."""

    def __init__(self, secrets: SecretStore, base_url: str, *, now: Any = time.time) -> None:
        self.secrets = secrets
        self.base_url = base_url.rstrip("/")
        self._now = now

    def _key(self) -> bytes:
        try:
            return self.secrets.get(UPLOAD_SECRET_NAME).encode()
        except PortError:
            self.secrets.put(UPLOAD_SECRET_NAME, pysecrets.token_urlsafe(48))
            return self.secrets.get(UPLOAD_SECRET_NAME).encode()

    def _sign(self, key: str, content_type: str, size: int, expires: int) -> str:
        message = f"PUT\n{key}\n{content_type}\n{size}\n{expires}".encode()
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def put_url(self, key: str, content_type: str, size_bytes: int, expires_s: int) -> str:
        expires = int(self._now()) + expires_s
        sig = self._sign(key, content_type, size_bytes, expires)
        query = urlencode({"size": size_bytes, "expires": expires, "sig": sig})
        return f"{self.base_url}{UPLOAD_PATH}{quote(key)}?{query}"

    def check(
        self, key: str, content_type: str, size: int, params: dict[str, str]
    ) -> str | None:
        """None when a PUT of ``size`` bytes is allowed by the URL's ``params``, else why not
        (for a 403)."""
        try:
            deadline, signed_size = int(params.get("expires", "")), int(params.get("size", ""))
        except ValueError:
            return "expires, size: numbers"
        if deadline < self._now():
            return "upload URL expired"
        sig = self._sign(key, content_type, signed_size, deadline)
        if not hmac.compare_digest(sig, params.get("sig", "")):
            return "signature does not match (wrong key, content type, size or expiry)"
        if size != signed_size:
            return f"body is {size} bytes, the URL is for {signed_size}"
        return None


class S3UploadSigner:
    """An S3 presigned ``put_object`` URL (SigV4, the function role's credentials)."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    def put_url(self, key: str, content_type: str, size_bytes: int, expires_s: int) -> str:
        if self._client is None:
            import boto3  # the aws target only
            from botocore.config import Config

            region = boto3.session.Session().region_name or "us-east-1"
            # The regional endpoint: a browser must not be redirected away from the signature.
            self._client = boto3.client(
                "s3", region_name=region, endpoint_url=f"https://s3.{region}.amazonaws.com",
                config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
            )
        return str(self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type,
                    "ContentLength": size_bytes},
            ExpiresIn=expires_s,
        ))
