"""ETL use cases: one cost file from the bucket to published FOCUS facts, exactly once.

The state machine ``infra/statemachines/etl.asl.json`` calls these through thin handlers
(``entrypoints/etl.py``); its state is one JSON document (the *job*)::

    {"file": {...}, "cursor": {...}, "workers": [0, 1], "queue": {...}, "progress": {...}}

Steps: :func:`mark_started` (files table, TTL) → :func:`create_queue` (temporary queue) →
in parallel, :func:`read_chunks` in a loop (row-aligned byte ranges of a plain CSV, safe with
quoted newlines; rows themselves for gzip, which cannot be range-read) and the
:func:`process_chunks` workers with :func:`check_chunks` until every chunk sent is stored (the
reader records its progress in the file's record, which tells workers and check when reading
is over) → :func:`build_reports` (atomic publication) → :func:`delete_queue` →
:func:`mark_processed`.

Exactly once: a chunk's facts and its done-marker are one transaction (a redelivered chunk is
skipped, a killed worker's chunk comes back after the visibility timeout and is written then);
the load becomes visible only when published, replacing the (client, provider, billing
period)s it covers in one transaction. Loads that will never be published (a part of a version
whose other parts never came, a run that died before its failure path) are swept from the fact
store once they are older than the files table's TTL (:func:`sweep_unpublished`).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from stratus.platform.ports import (
    AnyOf,
    Compare,
    ConditionFailedError,
    NotExists,
    NotFoundError,
    ObjectStore,
    Queue,
    SortKeyCondition,
)
from stratus.platform.ports.queue import MAX_BATCH
from stratus.solutions.costs.bootstrap import EtlPorts
from stratus.solutions.costs.domain.chunking import ByteChunk, plan_chunks, scan_rows
from stratus.solutions.costs.domain.focus import PROVIDER_FAMILIES, FocusRow, Rejection, RowError
from stratus.solutions.costs.domain.normalise import (
    Normaliser,
    UnknownFormatError,
    bind,
    clean_header,
    detect,
)
from stratus.solutions.costs.ports import (
    LOAD_ID_TIME_FORMAT,
    FactStoreError,
    LoadRef,
    load_started,
)

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
WINDOW_BYTES = 8 * 1024 * 1024
READ_BUDGET_BYTES = 512 * 1024 * 1024  # per read_chunks invocation (the loop resumes)
READ_BUDGET_ROWS = 2_000_000  # gzip rows per invocation
MESSAGE_BUDGET = 200_000  # bytes of row data per message: under SQS's 256 KiB with JSON escaping
HEADER_LIMIT = 1024 * 1024
VISIBILITY_S = 300
IDLE_WAIT_S = 1  # a worker's long poll while the reader has not sent the next chunk yet


class EtlInputError(ValueError):
    """The file cannot be processed at all (no header, unknown format, not UTF-8 text)."""


# ---- job model --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileJob:
    """The file part of the job."""

    bucket: str
    key: str
    etag: str
    size: int
    client_id: str
    provider: str
    load_id: str
    columns: list[str]
    header_end: int
    compressed: bool
    chunk_rows: int
    visibility_s: int = VISIBILITY_S
    #: The report version this file is a part of (object metadata ``version``), how many
    #: files it has (``parts``) and which of them this one is (``part``, else the key). No
    #: version: the file is a version of its own, published as soon as it is loaded.
    version: str = ""
    parts: int = 1
    part: str = ""

    @property
    def load(self) -> LoadRef:
        """The fact-store load of this file."""
        return LoadRef(self.load_id, self.client_id, PROVIDER_FAMILIES[self.provider])

    def to_json(self) -> dict[str, Any]:
        """The job's ``file`` document."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
            "client_id": self.client_id,
            "provider": self.provider,
            "load_id": self.load_id,
            "columns": self.columns,
            "header_end": self.header_end,
            "compressed": self.compressed,
            "chunk_rows": self.chunk_rows,
            "visibility_s": self.visibility_s,
            "version": self.version,
            "parts": self.parts,
            "part": self.part,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FileJob:
        """Parse the job's ``file`` document."""
        return cls(
            bucket=str(raw["bucket"]),
            key=str(raw["key"]),
            etag=str(raw.get("etag", "")),
            size=int(raw["size"]),
            client_id=str(raw["client_id"]),
            provider=str(raw["provider"]),
            load_id=str(raw["load_id"]),
            columns=[str(c) for c in raw["columns"]],
            header_end=int(raw["header_end"]),
            compressed=bool(raw["compressed"]),
            chunk_rows=int(raw["chunk_rows"]),
            visibility_s=int(raw.get("visibility_s", VISIBILITY_S)),
            version=str(raw.get("version") or ""),
            parts=int(raw.get("parts") or 1),
            part=str(raw.get("part") or ""),
        )


def _file_key(key: str, load_id: str) -> dict[str, str]:
    return {"PK": f"FILE#{key}", "SK": f"LOAD#{load_id}"}


MAX_PARTS = 10_000


def version_metadata(metadata: Mapping[str, str]) -> tuple[str, int, str]:
    """``(version, parts, part)`` from object metadata; EtlInputError when they are invalid.
    No ``version``: ``("", 1, "")``, a file that is a version of its own."""
    version = (metadata.get("version") or "").strip()
    if not version:
        return "", 1, ""
    if len(version) > 200:
        raise EtlInputError("the metadata 'version' is longer than 200 characters")
    raw = (metadata.get("parts") or "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PARTS:
        raise EtlInputError(f"the metadata 'parts' must be a number from 1 to {MAX_PARTS}: {raw!r}")
    return version, int(raw), (metadata.get("part") or "").strip()


# ---- 1. mark started --------------------------------------------------------------------


def _gzip_lines(objects: ObjectStore, key: str) -> Iterator[str]:
    stream = objects.open(key)
    text = io.TextIOWrapper(gzip.GzipFile(fileobj=stream), encoding="utf-8-sig", newline="")
    yield from text


def _logical_rows(lines: Iterator[str]) -> Iterator[str]:
    """Join physical lines into CSV rows (a quoted field may hold newlines)."""
    pending: list[str] = []
    in_quotes = False
    for line in lines:
        pending.append(line)
        if line.count('"') & 1:
            in_quotes = not in_quotes
        if not in_quotes:
            yield "".join(pending)
            pending = []
    if pending:
        yield "".join(pending)


def _parse_header(row: str) -> list[str]:
    cells = next(csv.reader([row]), [])
    header = clean_header(cells)
    if not any(header):
        raise EtlInputError("the file has no header row")
    return header


def read_header(objects: ObjectStore, key: str, size: int) -> tuple[list[str], int, bool]:
    """The header, where the first data row starts (plain files) and whether it is gzip."""
    if size == 0:
        raise EtlInputError("the file is empty")
    first = objects.get(key, byte_range=(0, min(size, HEADER_LIMIT) - 1))
    if first.startswith(GZIP_MAGIC):
        try:
            row = next(_logical_rows(_gzip_lines(objects, key)), "")
        except (OSError, EOFError, UnicodeDecodeError) as error:
            raise EtlInputError(f"the gzip file cannot be read: {error}") from error
        return _parse_header(row), 0, True
    scan = scan_rows(first, 0)
    end = scan.row_ends[0] if scan.row_ends else (size if size <= HEADER_LIMIT else 0)
    if end == 0:
        raise EtlInputError("no header row within the first MiB")
    try:
        row = first[:end].decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise EtlInputError(f"the header is not UTF-8 text: {error}") from error
    return _parse_header(row), end, False


def mark_started(
    bucket: str,
    key: str,
    ports: EtlPorts,
    *,
    provider: str | None = None,
    client_id: str | None = None,
) -> dict[str, Any]:
    """Record the file as started in the files table and return the job document.

    The client and provider come from the object's metadata (``client``, ``provider``), else
    the key's first segment and the header. A file whose format is unknown is recorded as
    FAILED with the reason and the job says ``skip``. The same object version (etag) already
    processed is skipped too (EventBridge may deliver an event twice)."""
    info = ports.objects.head(key)
    now = ports.clock.now()
    load_id = f"{now.astimezone(UTC):{LOAD_ID_TIME_FORMAT}}-{uuid.uuid4().hex[:12]}"
    expires = int((now + timedelta(days=ports.files_ttl_days)).timestamp())
    client = client_id or info.metadata.get("client") or key.split("/", 1)[0]
    record: dict[str, Any] = {
        **_file_key(key, load_id),
        "Bucket": bucket,
        "Key": key,
        "ETag": info.etag,
        "Size": info.size,
        "ClientId": client,
        "StartedAt": now.isoformat(),
        "ExpiresAt": expires,
    }
    done = ports.files.get({"PK": f"FILE#{key}", "SK": f"ETAG#{info.etag}"})
    if done is not None and done.get("Status") == "PROCESSED":
        return {"skip": True, "reason": "this version of the file was processed already"}
    try:
        version, parts, part = version_metadata(info.metadata)
        columns, header_end, compressed = read_header(ports.objects, key, info.size)
        chosen = provider or info.metadata.get("provider") or detect(columns)
        bind(chosen, columns)
    except (EtlInputError, UnknownFormatError) as error:
        ports.files.put({**record, "Status": "FAILED", "Error": str(error)})
        return {"skip": True, "reason": str(error), "load_id": load_id}
    job = FileJob(
        bucket=bucket,
        key=key,
        etag=info.etag,
        size=info.size,
        client_id=client,
        provider=chosen,
        load_id=load_id,
        columns=columns,
        header_end=header_end,
        compressed=compressed,
        chunk_rows=ports.chunk_rows,
        version=version,
        parts=parts,
        part=part or key,
    )
    if version:
        record.update(Version=version, Parts=parts)
    ports.files.put({**record, "Status": "STARTED", "Provider": chosen, "LoadId": load_id})
    workers = max(1, min(4, 1 + info.size // (32 * 1024 * 1024)))
    return {
        "skip": False,
        "file": job.to_json(),
        "cursor": {"offset": header_end, "chunks": 0, "rows": 0, "done": False},
        "workers": list(range(workers)),
        "progress": {"rounds": 0},
    }


# ---- 2. temporary queue -----------------------------------------------------------------


def queue_name(ports: EtlPorts, load_id: str) -> str:
    """The temporary queue of a load (SQS names: 80 characters of [A-Za-z0-9_-])."""
    return (ports.queue_prefix + load_id)[-80:]


def create_queue(job: dict[str, Any], ports: EtlPorts) -> dict[str, str]:
    """Create the load's temporary queue; return its name and URL-or-name."""
    file = FileJob.from_json(job["file"])
    name = queue_name(ports, file.load_id)
    queue = ports.queues.create(name, visibility_s=file.visibility_s)
    return {"name": name, "url": str(getattr(queue, "url", name))}


# ---- 3. read chunks ---------------------------------------------------------------------


class _Sender:
    """Packs chunk messages into SendMessageBatch calls within the count and size limits."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.batch: list[str] = []
        self.size = 0

    def add(self, body: str) -> None:
        size = len(body.encode("utf-8"))
        if self.batch and (len(self.batch) == MAX_BATCH or self.size + size > 250_000):
            self.flush()
        self.batch.append(body)
        self.size += size

    def flush(self) -> None:
        if self.batch:
            self.queue.send_batch(self.batch)
        self.batch, self.size = [], 0


def _range_message(load_id: str, chunk: ByteChunk) -> str:
    return json.dumps(
        {
            "load": load_id,
            "chunk": chunk.number,
            "first_row": chunk.first_row,
            "start": chunk.start,
            "end": chunk.end,
        }
    )


def read_chunks(job: dict[str, Any], ports: EtlPorts) -> dict[str, Any]:
    """Send the next chunks of the file to the temporary queue; return the new cursor
    (``done`` once the whole file is sent). Each call reads at most a bounded amount, so a
    file of any size is read by the state machine's loop."""
    file = FileJob.from_json(job["file"])
    cursor = dict(job["cursor"])
    queue = ports.queues.get(job["queue"]["name"])
    sender = _Sender(queue)
    record = _file_key(file.key, file.load_id)
    try:
        if file.compressed:
            result = _read_gzip(file, cursor, sender, ports)
        else:
            result = _read_plain(file, cursor, sender, ports)
        sender.flush()
    except Exception as error:
        # The workers and check_chunks run beside the reader: they stop on this.
        ports.files.update(record, set={"ReadError": f"{error}"[:2000] or type(error).__name__})
        raise
    # After the messages: whoever sees ReadDone knows every chunk is in the queue.
    ports.files.update(record, set={"ChunksSent": result["chunks"], "ReadDone": result["done"]})
    return result


@dataclass(frozen=True)
class ReadProgress:
    """What the reader has recorded: chunks sent, whether it is done, why it failed."""

    chunks_sent: int
    done: bool
    error: str | None

    @property
    def over(self) -> bool:
        """No more chunks will come."""
        return self.done or self.error is not None


def read_progress(file: FileJob, ports: EtlPorts) -> ReadProgress:
    """The reader's progress on ``file`` (from the file's record)."""
    item = ports.files.get(_file_key(file.key, file.load_id)) or {}
    error = item.get("ReadError")
    return ReadProgress(
        int(item.get("ChunksSent", 0)), bool(item.get("ReadDone", False)),
        str(error) if error is not None else None,
    )  # fmt: skip


def _read_plain(
    file: FileJob, cursor: dict[str, Any], sender: _Sender, ports: EtlPorts
) -> dict[str, Any]:
    start = int(cursor["offset"])  # always a row boundary
    chunks, rows = int(cursor["chunks"]), int(cursor["rows"])
    scan_from, in_quotes = start, False
    pending: list[int] = []  # row ends not yet in a chunk
    budget_end = start + READ_BUDGET_BYTES
    window_bytes = WINDOW_BYTES
    while scan_from < file.size:
        last = min(file.size, scan_from + window_bytes) - 1
        window = ports.objects.get(file.key, byte_range=(scan_from, last))
        at_eof = last == file.size - 1
        scan = scan_rows(window, scan_from, in_quotes)
        pending.extend(scan.row_ends)
        if at_eof and scan.resume_at < file.size:
            pending.append(file.size)  # the last row has no newline (or an open quote)
            scan_from = file.size
        elif scan.resume_at == scan_from:
            window_bytes *= 2  # no newline in the window: a row longer than it
        else:
            scan_from, in_quotes = scan.resume_at, scan.in_quotes
            window_bytes = WINDOW_BYTES
        full, left = plan_chunks(pending, start, file.chunk_rows, chunks, rows + 1)
        for chunk in full:
            sender.add(_range_message(file.load_id, chunk))
        if full:
            chunks += len(full)
            rows += len(full) * file.chunk_rows
            start = full[-1].end
            pending = pending[len(pending) - left :]
            if start >= budget_end and scan_from < file.size:
                # Resume at a chunk boundary: quote state there is "outside".
                return {"offset": start, "chunks": chunks, "rows": rows, "done": False}
    if pending:
        chunk = ByteChunk(chunks, start, pending[-1], len(pending), rows + 1)
        sender.add(_range_message(file.load_id, chunk))
        chunks += 1
        rows += len(pending)
    return {"offset": file.size, "chunks": chunks, "rows": rows, "done": True}


def _read_gzip(
    file: FileJob, cursor: dict[str, Any], sender: _Sender, ports: EtlPorts
) -> dict[str, Any]:
    chunks, done_rows = int(cursor["chunks"]), int(cursor["rows"])
    rows_seen = -1  # the header is row 0
    batch: list[str] = []
    batch_bytes = 0
    first_row = done_rows + 1

    def flush() -> None:
        nonlocal chunks, batch, batch_bytes, first_row, done_rows
        if not batch:
            return
        body = json.dumps(
            {"load": file.load_id, "chunk": chunks, "first_row": first_row, "data": "".join(batch)}
        )
        sender.add(body)
        chunks += 1
        done_rows += len(batch)
        first_row = done_rows + 1
        batch, batch_bytes = [], 0

    try:
        for row in _logical_rows(_gzip_lines(ports.objects, file.key)):
            rows_seen += 1
            if rows_seen <= int(cursor["rows"]):
                continue  # the header, or rows sent by an earlier invocation
            size = len(row.encode("utf-8"))
            if batch and (len(batch) >= file.chunk_rows or batch_bytes + size > MESSAGE_BUDGET):
                flush()
                if done_rows - int(cursor["rows"]) >= READ_BUDGET_ROWS:
                    return {"offset": 0, "chunks": chunks, "rows": done_rows, "done": False}
            batch.append(row)
            batch_bytes += size
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise EtlInputError(f"the gzip file is damaged after row {done_rows}: {error}") from error
    flush()
    return {"offset": 0, "chunks": chunks, "rows": done_rows, "done": True}


# ---- 4. process chunks ------------------------------------------------------------------


def _chunk_data(file: FileJob, message: dict[str, Any], objects: ObjectStore) -> str | bytes:
    """The chunk's rows: the message's text (gzip) or the byte range of the object."""
    if "data" in message:
        return str(message["data"])
    return objects.get(file.key, byte_range=(int(message["start"]), int(message["end"]) - 1))


def normalise_rows(
    text: str, columns: list[str], normaliser: Normaliser, first_row: int
) -> tuple[list[FocusRow], list[Rejection]]:
    """Parse CSV text (no header) and normalise each row; bad rows become rejections."""
    rows: list[FocusRow] = []
    rejections: list[Rejection] = []
    width = len(columns)
    try:
        text.encode("utf-8")
        clean = True
    except UnicodeEncodeError:  # undecodable bytes were kept as surrogates
        clean = False
    reader = csv.reader(io.StringIO(text, newline=""))
    number = first_row - 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            rejections.append(Rejection(number, f"not valid CSV: {error}"))
            continue
        if not cells:
            continue  # a blank line is not a row
        if len(cells) != width:
            rejections.append(Rejection(number, f"has {len(cells)} cells, the header {width}"))
            continue
        if not clean and not _utf8(cells):
            rejections.append(Rejection(number, "is not UTF-8 text"))
            continue
        try:
            rows.append(normaliser(cells))
        except RowError as error:
            rejections.append(Rejection(number, str(error)))
        except (ArithmeticError, RecursionError, ValueError) as error:
            # A cell no normaliser rule foresaw (a number past the decimal context, JSON
            # nested beyond reason): the row is rejected and reported, the file goes on.
            log.warning("row %d: %s", number, error)
            rejections.append(Rejection(number, f"cannot be normalised: {type(error).__name__}"))
    return rows, rejections


def _utf8(cells: list[str]) -> bool:
    try:
        "".join(cells).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_normalisers: dict[str, Normaliser] = {}


def process_chunk(file: FileJob, body: str, ports: EtlPorts) -> bool:
    """Normalise one chunk message and store it exactly once; False when it was stored
    before (a redelivery)."""
    message = json.loads(body)
    normaliser = _normalisers.get(file.load_id)
    if normaliser is None:
        normaliser = _normalisers[file.load_id] = bind(file.provider, file.columns)
    data = _chunk_data(file, message, ports.objects)
    chunk_no = int(message["chunk"])
    raw: bytes | None
    if isinstance(data, bytes):
        raw = data
    else:
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes kept as surrogates: Python rejects them
            raw = None
    if raw is not None:
        # The fast path: the store normalises the raw rows itself when it can do so exactly.
        stored = ports.facts.write_chunk_csv(file.load, chunk_no, file.provider, file.columns, raw)
        if stored is not None:
            return stored
    text = data.decode("utf-8", errors="surrogateescape") if isinstance(data, bytes) else data
    rows, rejections = normalise_rows(text, file.columns, normaliser, int(message["first_row"]))
    return ports.facts.write_chunk(file.load, chunk_no, rows, rejections)


def process_chunks(
    job: dict[str, Any],
    ports: EtlPorts,
    *,
    remaining_ms: Callable[[], int] = lambda: 900_000,
    on_message: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, int]:
    """A worker: take chunk messages from the temporary queue, store each and delete it,
    until the reader has sent the last chunk and the queue is empty (or time is short). While
    the reader is still going, an empty queue is long-polled. A chunk that fails stays in the
    queue and comes back after the visibility timeout; the state machine runs workers again
    until all are done."""
    file = FileJob.from_json(job["file"])
    queue = ports.queues.get(job["queue"]["name"])
    processed = skipped = failed = 0
    read_over = False  # read before a receive: then an empty receive means nothing is left
    wait_s: float = 0
    while remaining_ms() > 60_000:
        # One message at a time: a chunk's visibility window then covers its own processing
        # only (ten received together expired while the first ones were being stored, and
        # other workers did them again).
        messages = queue.receive(1, visibility_s=file.visibility_s, wait_s=wait_s)
        if not messages:
            if read_over:
                break
            read_over = read_progress(file, ports).over
            wait_s = 0 if read_over else IDLE_WAIT_S
            continue
        wait_s = 0
        for message in messages:
            if on_message is not None:
                on_message({"chunk": message.body, "receive_count": message.receive_count})
            try:
                stored = process_chunk(file, message.body, ports)
            except Exception:
                failed += 1
                log.exception("chunk of %s failed; it will be retried", file.key)
                continue
            queue.delete(message.receipt)
            processed += int(stored)
            skipped += int(not stored)
    return {"processed": processed, "skipped": skipped, "failed": failed}


# ---- 5. wait until every chunk is done --------------------------------------------------


def check_chunks(job: dict[str, Any], ports: EtlPorts) -> dict[str, Any]:
    """Whether the reader is done and every chunk it sent is stored; EtlInputError when the
    reader failed (the file cannot be read to the end)."""
    file = FileJob.from_json(job["file"])
    progress = read_progress(file, ports)
    if progress.error is not None:
        raise EtlInputError(f"reading the file failed: {progress.error}")
    total = progress.chunks_sent
    done = ports.facts.chunks_done(file.load_id)
    rounds = int((job.get("progress") or {}).get("rounds", 0)) + 1
    finished = progress.done and done >= total
    return {"done": finished, "processed": done, "total": total, "rounds": rounds}


# ---- 6. build reports (publish) ---------------------------------------------------------


def build_reports(job: dict[str, Any], ports: EtlPorts) -> dict[str, Any]:
    """Publish the load (the atomic version switch) and store the per-period report
    summaries in the files table; return the load summary.

    A part of a multi-file report version is recorded in the version's item instead, and
    the version is published, all its loads together, by the part that completes it; until
    then the summary says ``version.status == "waiting"`` (see :func:`record_part`)."""
    from stratus.solutions.costs.reports import store_period_reports

    file = FileJob.from_json(job["file"])
    if file.version:
        return record_part(file, ports)
    periods = ports.facts.publish(file.load)
    sweep_unpublished(ports, file.load, periods)
    store_period_reports(file.client_id, periods, ports.facts, ports.files, ports.clock)
    return summary_document(file.load_id, ports)


# ---- sweeping loads that will never be published ----------------------------------------

#: Beyond the files table's TTL, how much older a load must be to be swept. A version is
#: published only while all its parts are younger than the TTL (:func:`record_part`), so the
#: margin keeps a sweep clear of a version being published at that very edge.
SWEEP_GRACE = timedelta(days=1)
#: How often one process sweeps the whole fact store (every client and period).
SWEEP_EVERY = timedelta(days=1)
_last_full_sweep: weakref.WeakKeyDictionary[object, datetime] = weakref.WeakKeyDictionary()
_sweep_lock = threading.Lock()


def sweep_cutoff(ports: EtlPorts) -> datetime:
    """Loads started before this are swept unless current: their files-table records
    (the run's, the version's) have expired, so they can never be published."""
    return ports.clock.now() - timedelta(days=ports.files_ttl_days) - SWEEP_GRACE


def _full_sweep_due(ports: EtlPorts, now: datetime) -> bool:
    with _sweep_lock:
        last = _last_full_sweep.get(ports.facts)
        if last is not None and now - last < SWEEP_EVERY:
            return False
        _last_full_sweep[ports.facts] = now
        return True


def sweep_unpublished(ports: EtlPorts, load: LoadRef, periods: Sequence[str]) -> int:
    """Right after a publication (its own transactions): remove the loads of the same client,
    provider and periods that are not current and older than :func:`sweep_cutoff`, or, at most
    once a :data:`SWEEP_EVERY` per process and store, every such load of the store. Best
    effort: a failure is logged and left to the next publication, never failing this one.
    Returns the number of loads removed."""
    now = ports.clock.now()
    cutoff = sweep_cutoff(ports)
    try:
        if _full_sweep_due(ports, now):
            removed = ports.facts.sweep(cutoff)
        else:
            removed = ports.facts.sweep(
                cutoff, client_id=load.client_id, provider=load.provider, periods=periods
            )
    except FactStoreError:
        log.warning("sweeping unpublished loads failed (retried later)", exc_info=True)
        return 0
    if removed:
        log.info("swept %d unpublished loads started before %s", removed, cutoff.isoformat())
    return removed


def _expired(load_id: str, ports: EtlPorts, now: datetime) -> bool:
    """The load started more than the files table's TTL ago: the sweep may remove it."""
    started = load_started(load_id)
    return started is not None and started < now - timedelta(days=ports.files_ttl_days)


# ---- report versions of several files ---------------------------------------------------

#: Status of a version item: parts still missing, all published together, or never to be
#: published (a part failed; a late part of such a version is discarded).
VERSION_WAITING, VERSION_PUBLISHED, VERSION_FAILED = "WAITING", "PUBLISHED", "FAILED"
_PART_PREFIX = "Part-"


def version_key(file: FileJob) -> dict[str, str]:
    """The files-table item of the file's report version."""
    family = PROVIDER_FAMILIES[file.provider]
    return {"PK": f"VERSION#{file.client_id}#{family}#{file.version}", "SK": "VERSION"}


def _part_attribute(part: str) -> str:
    return _PART_PREFIX + hashlib.sha256(part.encode("utf-8")).hexdigest()[:20]


def _recorded_parts(item: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Part attribute → ``{"key", "load"}`` of every part recorded in a version item."""
    return {
        name: json.loads(value)
        for name, value in item.items()
        if name.startswith(_PART_PREFIX) and isinstance(value, str)
    }


def record_part(file: FileJob, ports: EtlPorts) -> dict[str, Any]:
    """Record a loaded part in its version's item and publish the version once every part
    is there; the load summary with a ``version`` document (``status``: ``published``,
    ``waiting``, ``duplicate`` or ``failed``).

    One conditional update both stores the part's load id (attribute ``Part-<digest of the
    part>``, only if absent) and increments ``Loaded``: a part loaded twice (a redelivered
    event that raced the first run, the same file uploaded again under this version) is
    counted once, and its second load is discarded. The update that brings ``Loaded`` to
    ``Parts`` publishes every recorded load in one fact-store transaction; a retry of that
    step finds its part recorded under its own load id and publishes again (idempotent). A
    version with a part loaded longer ago than the files table's TTL is failed instead: the
    sweep (:func:`sweep_unpublished`) may have removed that part's facts."""
    from stratus.solutions.costs.reports import store_period_reports

    key = version_key(file)
    attribute = _part_attribute(file.part or file.key)
    now = ports.clock.now()
    expires = int((now + timedelta(days=ports.files_ttl_days)).timestamp())
    mine = json.dumps({"key": file.key, "load": file.load_id})
    duplicate = False
    try:
        item = ports.files.update(
            key,
            set={
                attribute: mine,
                "Version": file.version,
                "Parts": file.parts,
                "ClientId": file.client_id,
                "Provider": PROVIDER_FAMILIES[file.provider],
                "UpdatedAt": now.isoformat(),
                "ExpiresAt": expires,
            },
            add={"Loaded": 1},
            condition=NotExists(attribute),
        )
    except ConditionFailedError:
        item = ports.files.get(key) or {}
        recorded = _recorded_parts(item).get(attribute, {})
        duplicate = recorded.get("load") != file.load_id
    parts = _recorded_parts(item)
    loaded = len(parts)
    status = str(item.get("Status") or VERSION_WAITING)
    complete = loaded >= file.parts and int(item.get("Loaded", 0)) >= file.parts
    stale = [
        p["key"]
        for p in parts.values()
        if status != VERSION_PUBLISHED and _expired(p["load"], ports, now)
    ]
    if duplicate:
        ports.facts.discard(file.load_id)
        state = "duplicate"
    elif status == VERSION_FAILED:
        ports.facts.discard(file.load_id)
        state = "failed"
    elif complete and stale:
        # A part loaded longer ago than the TTL may have been swept (the version item was
        # kept alive by later parts, or its expiry not applied yet): never publish a version
        # that may have lost a part's facts. (Once published, its loads are current and safe.)
        fail_version(
            file,
            ports,
            reason=f"part {stale[0]!r} was loaded more than {ports.files_ttl_days} days ago",
        )
        ports.facts.discard(file.load_id)
        state = "failed"
    elif complete:
        loads = [LoadRef(p["load"], file.client_id, file.load.provider) for p in parts.values()]
        periods = ports.facts.publish(loads)
        sweep_unpublished(ports, file.load, periods)
        store_period_reports(file.client_id, periods, ports.facts, ports.files, ports.clock)
        ports.files.update(key, set={"Status": VERSION_PUBLISHED, "PublishedAt": now.isoformat()})
        for part in parts.values():
            if part["load"] != file.load_id:  # the other parts' runs were left WAITING
                ports.files.update(
                    _file_key(part["key"], part["load"]),
                    set={"Status": "PROCESSED", "PublishedAt": now.isoformat()},
                )
        state = "published"
    else:
        # Only the first part sets it: a part completing the version, or a failing one, may
        # have set PUBLISHED or FAILED since this part's update.
        with contextlib.suppress(ConditionFailedError):
            ports.files.update(key, set={"Status": VERSION_WAITING}, condition=NotExists("Status"))
        state = "waiting"
    summary = summary_document(file.load_id, ports)
    summary["version"] = {
        "id": file.version,
        "parts": file.parts,
        "loaded": loaded,
        "status": state,
    }
    return summary


def fail_version(file: FileJob, ports: EtlPorts, *, reason: str = "") -> None:
    """A part failed (or, with ``reason``, the version outlived the TTL): its version will
    never be published. Mark it FAILED (unless it was published already) and discard the facts
    of every part loaded so far; parts that finish later see the status and discard
    themselves."""
    fields: dict[str, Any] = {"Status": VERSION_FAILED, "FailedPart": file.part or file.key}
    if reason:
        fields["Error"] = reason
    try:
        item = ports.files.update(
            version_key(file),
            set=fields,
            condition=AnyOf((NotExists("Status"), Compare("Status", "<>", VERSION_PUBLISHED))),
        )
    except ConditionFailedError:
        return
    for part in _recorded_parts(item).values():
        ports.facts.discard(part["load"])


def summary_document(load_id: str, ports: EtlPorts, *, max_rejections: int = 20) -> dict[str, Any]:
    """The load summary as JSON: counts, totals per currency, periods, first rejections."""
    summary = ports.facts.summary(load_id, max_rejections=max_rejections)
    reasons: dict[str, int] = {}
    for rejection in summary.rejections:
        reasons[rejection.reason] = reasons.get(rejection.reason, 0) + 1
    return {
        "load_id": load_id,
        "chunks": summary.chunks,
        "accepted": summary.accepted,
        "rejected": summary.rejected,
        "periods": summary.periods,
        "totals": [
            {
                "currency": t.currency,
                "billed_cost": str(t.billed_cost),
                "effective_cost": str(t.effective_cost),
                "rows": t.rows,
            }
            for t in summary.totals
        ],
        "rejections": [{"row": r.row_number, "reason": r.reason} for r in summary.rejections],
    }


# ---- 7. delete the queue, mark processed ------------------------------------------------


def delete_queue(job: dict[str, Any], ports: EtlPorts) -> None:
    """Delete the temporary queue (a missing queue is fine: this step may run twice)."""
    queue = job.get("queue") or {}
    if not queue.get("name"):
        return
    with contextlib.suppress(NotFoundError):
        ports.queues.delete(queue["name"])


def mark_processed(job: dict[str, Any], ports: EtlPorts) -> dict[str, Any]:
    """Record the outcome in the files table: PROCESSED with counts, or FAILED with the error
    (and the unpublished facts discarded)."""
    file = FileJob.from_json(job["file"])
    now = ports.clock.now()
    error = job.get("error")
    key = _file_key(file.key, file.load_id)
    if error:
        ports.facts.discard(file.load_id)
        if file.version:
            fail_version(file, ports)
        cause = error.get("Cause") if isinstance(error, dict) else str(error)
        ports.files.update(
            key,
            set={"Status": "FAILED", "Error": str(cause)[:2000], "FinishedAt": now.isoformat()},
        )
        return {"status": "FAILED"}
    summary = job.get("summary", {}).get("value") or summary_document(file.load_id, ports)
    version = summary.get("version") or {}
    status = _VERSION_STATUS.get(str(version.get("status", "published")), "PROCESSED")
    fields: dict[str, Any] = {
        "Status": status,
        "FinishedAt": now.isoformat(),
        "Accepted": summary["accepted"],
        "Rejected": summary["rejected"],
        "Chunks": summary["chunks"],
        "Summary": json.dumps(summary),
    }
    if version:
        fields["PartsLoaded"] = int(version.get("loaded", 0))
    if status == "WAITING":
        # The part completing the version may have marked this run PROCESSED already.
        try:
            ports.files.update(
                key,
                set=fields,
                condition=AnyOf((NotExists("Status"), Compare("Status", "<>", "PROCESSED"))),
            )
        except ConditionFailedError:
            fields.pop("Status")
            ports.files.update(key, set=fields)
    else:
        ports.files.update(key, set=fields)
    ports.files.put(
        {
            "PK": f"FILE#{file.key}",
            "SK": f"ETAG#{file.etag}",
            "Status": "PROCESSED",
            "LoadId": file.load_id,
            "ExpiresAt": int((now + timedelta(days=ports.files_ttl_days)).timestamp()),
        }
    )
    return {"status": status, "accepted": summary["accepted"], "rejected": summary["rejected"]}


#: A part's ``version.status`` → the status of its run in the files table.
_VERSION_STATUS = {
    "published": "PROCESSED",
    "waiting": "WAITING",
    "duplicate": "DUPLICATE",
    "failed": "DISCARDED",
}


def file_runs(ports: EtlPorts, key: str) -> list[dict[str, Any]]:
    """Every recorded run of a file (newest last)."""
    page = ports.files.query(f"FILE#{key}", sort=SortKeyCondition.begins_with("LOAD#"))
    return page.items
