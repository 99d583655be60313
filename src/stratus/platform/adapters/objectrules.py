"""ObjectStore rules both adapter families check before touching a backend.

S3 refuses these requests too (or botocore does, client-side); checking them first makes the
filesystem and S3 adapters refuse the same input with the same InvalidRequestError.
"""

from __future__ import annotations

from collections.abc import Mapping

from stratus.platform.ports.errors import InvalidRequestError

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048


def check_key(key: str) -> None:
    """A key is a non-empty string whose UTF-8 form is at most 1024 bytes (S3's rule;
    lone surrogates cannot be UTF-8 encoded and are refused too)."""
    if not isinstance(key, str) or not key:
        raise InvalidRequestError("an object key must be a non-empty string")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(f"object key is not valid UTF-8: {key!r}") from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidRequestError(f"object key longer than {MAX_KEY_BYTES} bytes")


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Lower-cased user metadata, refused when S3 would refuse it.

    S3 sends user metadata as ``x-amz-meta-*`` HTTP headers: names are lower-cased, names
    and values must be ASCII, and all of it together may not exceed 2 KB."""
    meta = {str(k).lower(): str(v) for k, v in (metadata or {}).items()}
    for name, value in meta.items():
        if not name or not (name + value).isascii() or any(c in name for c in " :\r\n"):
            raise InvalidRequestError(f"invalid metadata entry {name!r}: ASCII only (as in S3)")
    if sum(len(k) + len(v) for k, v in meta.items()) > MAX_METADATA_BYTES:
        raise InvalidRequestError(f"user metadata larger than {MAX_METADATA_BYTES} bytes")
    return meta
