"""S3ObjectStore: the ObjectStore port on one Amazon S3 bucket (boto3)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from stratus.platform.adapters import objectrules
from stratus.platform.adapters.aws.errors import Codes, codes, translate
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
    PortError,
)
from stratus.platform.ports.objects import ObjectInfo

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_INVALID = {"InvalidRange", "InvalidRequest", "InvalidArgument", "KeyTooLongError", "400"}
_TABLE: Codes = {
    **codes(NotFoundError, _NOT_FOUND),
    **codes(InvalidRequestError, _INVALID),
    "416": InvalidRequestError,
}


def _translate(exc: Exception, what: str) -> PortError:
    return translate(exc, what, _TABLE)


def _utc(value: Any) -> datetime:
    moment = cast(datetime, value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class _BodyReader(io.RawIOBase):
    """botocore's StreamingBody as a raw stream; read errors become port errors."""

    def __init__(self, body: Any, what: str) -> None:
        self._body = body
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            chunk = cast(bytes, self._body.read(len(view)))
        except (BotoCoreError, ClientError, OSError) as exc:
            raise _translate(exc, self._what) from exc
        view[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3ObjectStore:
    """An ObjectStore on S3 bucket ``bucket``.

    File-like data is uploaded with ``upload_fileobj`` (multipart above 8 MiB, so the etag
    of such an object is S3's multipart etag ``"<md5 of md5s>-<parts>"``, not the MD5).
    """

    def __init__(self, bucket: str, *, client: Any = None) -> None:
        self.name = bucket
        self._s3: Any = client if client is not None else boto3.client("s3")

    def put(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """PutObject (bytes) or a managed, possibly multipart, upload (streams)."""
        objectrules.check_key(key)
        meta = objectrules.check_metadata(metadata)
        what = f"put s3://{self.name}/{key}"
        try:
            if isinstance(data, bytes | bytearray | memoryview):
                self._s3.put_object(
                    Bucket=self.name,
                    Key=key,
                    Body=bytes(data),
                    ContentType=content_type,
                    Metadata=meta,
                )
            else:
                self._s3.upload_fileobj(
                    data,
                    self.name,
                    key,
                    ExtraArgs={"ContentType": content_type, "Metadata": meta},
                )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, what) from exc
        except Exception as exc:
            # s3transfer wraps failures in its own exceptions (e.g. S3UploadFailedError).
            raise BackendUnavailableError(f"{what}: {exc}") from exc
        return self.head(key)

    def get(self, key: str, *, byte_range: tuple[int, int] | None = None) -> bytes:
        """GetObject, with an HTTP ``Range: bytes=first-last`` header for a range."""
        objectrules.check_key(key)
        args: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if byte_range is not None:
            first, last = byte_range
            if first < 0 or last < first:
                # S3 silently ignores a malformed Range and returns everything; we refuse.
                raise InvalidRequestError(f"invalid byte range {byte_range!r}")
            args["Range"] = f"bytes={first}-{last}"
        what = f"get s3://{self.name}/{key}"
        try:
            response = self._s3.get_object(**args)
            return cast(bytes, response["Body"].read())
        except (BotoCoreError, ClientError, OSError) as exc:
            raise _translate(exc, what) from exc

    def open(self, key: str) -> BinaryIO:
        """GetObject's streaming body, buffered, as a binary file object."""
        objectrules.check_key(key)
        what = f"open s3://{self.name}/{key}"
        try:
            response = self._s3.get_object(Bucket=self.name, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, what) from exc
        return cast(BinaryIO, io.BufferedReader(_BodyReader(response["Body"], what)))

    def head(self, key: str) -> ObjectInfo:
        """HeadObject; NotFoundError when missing."""
        objectrules.check_key(key)
        try:
            r = self._s3.head_object(Bucket=self.name, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"head s3://{self.name}/{key}") from exc
        return ObjectInfo(
            key=key,
            size=int(r["ContentLength"]),
            etag=str(r["ETag"]),
            last_modified=_utc(r["LastModified"]),
            content_type=str(r.get("ContentType", "application/octet-stream")),
            metadata={str(k).lower(): str(v) for k, v in r.get("Metadata", {}).items()},
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """ListObjectsV2 pages, fetched lazily.

        LIST does not return content type or user metadata (S3 only gives them on HEAD/GET),
        so those fields hold their defaults here."""
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=str(item["Key"]),
                        size=int(item["Size"]),
                        etag=str(item["ETag"]),
                        last_modified=_utc(item["LastModified"]),
                    )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"list s3://{self.name}/{prefix}") from exc

    def delete(self, key: str) -> None:
        """DeleteObject; a missing key is fine (S3 answers 204)."""
        objectrules.check_key(key)
        try:
            self._s3.delete_object(Bucket=self.name, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, f"delete s3://{self.name}/{key}") from exc
