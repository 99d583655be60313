"""FilesystemObjectStore: an S3 bucket kept in a directory.

Layout of ``root/name/``::

    index.sqlite3      key → blob file, size, etag, content type, metadata (the listing)
    blobs/ab/<uuid>    object bytes, one file per object version currently referenced
    tmp/               uploads in progress

Any valid S3 key works (``..``, trailing ``/``, unicode, 1024 bytes) because keys never
become file names. A put streams into ``tmp/``, computing the MD5 on the way, moves the
file into ``blobs/`` with ``os.replace`` and only then points the index at it in one SQLite
transaction: a crash leaves either the old object or the new one, never half of one (at
worst an orphan file, which :meth:`FilesystemObjectStore.sweep` removes when the bucket is
next opened).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from stratus.platform.adapters import objectrules
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.objects import ObjectInfo

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_PAGE = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL
)
"""


def _check_range(byte_range: tuple[int, int]) -> tuple[int, int]:
    first, last = byte_range
    if first < 0 or last < first:
        raise InvalidRequestError(f"invalid byte range {byte_range!r}")
    return first, last


class FilesystemObjectStore:
    """An ObjectStore (one bucket) on the local filesystem; see the module docstring.

    ``on_created`` is called with the new object's info after every successful ``put``
    (the runtime uses it to deliver S3 notifications to functions and state machines).
    Differences from S3: no versioning, no multipart etags (the etag is always the MD5).
    """

    def __init__(
        self,
        root: Path,
        name: str,
        *,
        on_created: Callable[[ObjectInfo], None] | None = None,
    ) -> None:
        self.name = name
        self.on_created = on_created
        self._dir = Path(root) / name
        self._blobs = self._dir / "blobs"
        self._tmp = self._dir / "tmp"
        self._index = self._dir / "index.sqlite3"
        self._local = threading.local()
        try:
            self._blobs.mkdir(parents=True, exist_ok=True)
            self._tmp.mkdir(parents=True, exist_ok=True)
            with self._db(write=True) as db:
                db.execute(_SCHEMA)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create bucket {self._dir}: {exc}") from exc
        self.sweep()

    def sweep(self, older_than_s: float = 3600.0) -> int:
        """Remove files a crash left behind; returns how many.

        Only files older than ``older_than_s`` go, so a put in flight in another process
        (its blob renamed into place, the index not yet committed) is never touched."""
        cutoff = time.time() - older_than_s
        removed = 0
        try:
            with self._db() as db:
                referenced = {row[0] for row in db.execute("SELECT blob FROM objects")}
            candidates = [p for p in self._tmp.iterdir() if p.is_file()]
            candidates += [
                p for p in self._blobs.glob("*/*") if p.is_file() and p.name not in referenced
            ]
            for path in candidates:
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        except OSError as exc:
            raise BackendUnavailableError(f"cannot sweep bucket {self._dir}: {exc}") from exc
        return removed

    # -- plumbing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A per-thread connection; one transaction per ``with`` block.

        Writers take the write lock up front (no upgrade deadlocks); readers use WAL
        snapshots and never wait for writers."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        try:
            if conn is None:
                conn = sqlite3.connect(self._index, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self._local.conn = conn
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"bucket index {self._index}: {exc}") from exc

    def _blob_path(self, blob: str) -> Path:
        return self._blobs / blob[:2] / blob

    def _row(self, key: str) -> tuple[str, ObjectInfo]:
        objectrules.check_key(key)
        with self._db() as db:
            row = db.execute(
                "SELECT key, blob, size, etag, last_modified, content_type, metadata "
                "FROM objects WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no object {key!r} in bucket {self.name!r}")
        return row[1], _info(row)

    def _write_blob(self, data: bytes | BinaryIO) -> tuple[str, int, str]:
        """Stream ``data`` to a new blob file; returns (blob name, size, md5 hex)."""
        blob = uuid.uuid4().hex
        tmp = self._tmp / blob
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with open(tmp, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    chunk = bytes(data)
                    md5.update(chunk)
                    out.write(chunk)
                    size = len(chunk)
                else:
                    while chunk := data.read(_CHUNK):
                        md5.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            target = self._blob_path(blob)
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise BackendUnavailableError(f"cannot write object in {self._dir}: {exc}") from exc
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return blob, size, md5.hexdigest()

    def _discard(self, blob: str | None) -> None:
        if blob is not None:
            with contextlib.suppress(OSError):
                self._blob_path(blob).unlink()

    # -- the port -----------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store the object atomically (streaming file-like ``data`` in 1 MiB chunks)."""
        objectrules.check_key(key)
        meta = objectrules.check_metadata(metadata)
        blob, size, md5 = self._write_blob(data)
        info = ObjectInfo(
            key=key,
            size=size,
            etag=f'"{md5}"',
            last_modified=datetime.now(UTC).replace(microsecond=0),
            content_type=content_type,
            metadata=meta,
        )
        old: str | None = None
        try:
            with self._db(write=True) as db:
                row = db.execute("SELECT blob FROM objects WHERE key = ?", (key,)).fetchone()
                old = row[0] if row else None
                db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        blob,
                        size,
                        info.etag,
                        info.last_modified.isoformat(),
                        content_type,
                        json.dumps(meta, sort_keys=True),
                    ),
                )
        except BaseException:
            self._discard(blob)
            raise
        # Readers that opened the old blob keep reading it (POSIX unlink semantics).
        self._discard(old)
        if self.on_created is not None:
            # S3 delivers notifications asynchronously: a failing subscriber never fails
            # the PUT that triggered it.
            try:
                self.on_created(info)
            except Exception:
                log.exception("object-created listener failed for s3://%s/%s", self.name, key)
        return info

    def get(self, key: str, *, byte_range: tuple[int, int] | None = None) -> bytes:
        """The bytes, or the inclusive range of them (clipped at the end like HTTP Range)."""
        with self.open(key) as stream:
            if byte_range is None:
                return stream.read()
            first, last = _check_range(byte_range)
            size = os.fstat(stream.fileno()).st_size
            if first >= size:
                # S3 answers 416 InvalidRange when the range starts past the end.
                raise InvalidRequestError(
                    f"range {byte_range!r} not satisfiable for {size}-byte object {key!r}"
                )
            stream.seek(first)
            return stream.read(min(last, size - 1) - first + 1)

    def open(self, key: str) -> BinaryIO:
        """The object's blob file opened for reading (a later put does not disturb it)."""
        for _ in range(3):
            blob, _ = self._row(key)
            try:
                return open(self._blob_path(blob), "rb")  # the caller closes it
            except FileNotFoundError:
                continue  # replaced between the index read and the open: read again
            except OSError as exc:
                raise BackendUnavailableError(f"cannot open object {key!r}: {exc}") from exc
        raise BackendUnavailableError(f"object {key!r} keeps changing; try again")

    def head(self, key: str) -> ObjectInfo:
        """Size, etag, content type and metadata; NotFoundError when missing."""
        return self._row(key)[1]

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects under ``prefix`` in UTF-8 byte order (SQLite's BINARY collation = S3's).

        Pages of 1000 are read lazily, each in its own short transaction."""
        after: str | None = None
        while True:
            with self._db() as db:
                if after is None:
                    rows = db.execute(
                        "SELECT key, blob, size, etag, last_modified, content_type, metadata "
                        "FROM objects WHERE key >= ? ORDER BY key LIMIT ?",
                        (prefix, _PAGE),
                    ).fetchall()
                else:
                    rows = db.execute(
                        "SELECT key, blob, size, etag, last_modified, content_type, metadata "
                        "FROM objects WHERE key > ? ORDER BY key LIMIT ?",
                        (after, _PAGE),
                    ).fetchall()
            for row in rows:
                if not row[0].startswith(prefix):
                    return
                # S3's LIST returns no content type and no user metadata (only HEAD/GET
                # do); leaving them out here keeps code that relies on them from working
                # locally and failing on AWS.
                yield ObjectInfo(
                    key=row[0], size=row[2], etag=row[3], last_modified=_info(row).last_modified
                )
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def delete(self, key: str) -> None:
        """Delete the object; a missing key is fine (S3 answers 204 either way)."""
        objectrules.check_key(key)
        with self._db(write=True) as db:
            row = db.execute("SELECT blob FROM objects WHERE key = ?", (key,)).fetchone()
            db.execute("DELETE FROM objects WHERE key = ?", (key,))
        self._discard(row[0] if row else None)


def _info(row: tuple[str, str, int, str, str, str, str]) -> ObjectInfo:
    return ObjectInfo(
        key=row[0],
        size=row[2],
        etag=row[3],
        last_modified=datetime.fromisoformat(row[4]),
        content_type=row[5],
        metadata=json.loads(row[6]),
    )


__all__ = ["FilesystemObjectStore"]
