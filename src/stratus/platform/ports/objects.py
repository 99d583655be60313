"""ObjectStore port: an S3-shaped bucket.

Semantics (tests/contract/test_objects.py): keys are non-empty UTF-8 strings up to 1024 bytes;
``get`` with a byte range returns exactly that inclusive range (clipped at the end, like HTTP
Range); ``list`` is lexicographic by key; metadata keys are lower-cased strings; writing an
object emits an object-created notification to whatever the deployment wired (S3 event
notification on AWS, a listener of the runtime locally).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True)
class ObjectInfo:
    """What HEAD/LIST say about an object."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class ObjectStore(Protocol):
    """One bucket."""

    name: str

    def put(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store the object (replacing any with the same key)."""
        ...

    def get(self, key: str, *, byte_range: tuple[int, int] | None = None) -> bytes:
        """The object's bytes, or the inclusive ``(first, last)`` byte range of them."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream over the object, for large objects."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Size, etag, content type and metadata; NotFoundError when missing."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order (pages fetched lazily)."""
        ...

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key is not an error (as in S3)."""
        ...
