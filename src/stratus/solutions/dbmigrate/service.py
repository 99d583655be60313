"""Use cases of ``stratus migrate``: schema, full, delta, verify, apply.

Each takes its inputs and a :class:`Progress` (the CLI draws bars; tests pass
:class:`NoProgress`) and returns a result dataclass; nothing here prints.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stratus.solutions.dbmigrate.domain.ddl import Migration, flyway_checksum, migrations, report
from stratus.solutions.dbmigrate.domain.model import Finding, Table, TargetSchema, TargetTable
from stratus.solutions.dbmigrate.domain.translate import Options, translate
from stratus.solutions.dbmigrate.domain.values import (
    MASK64,
    ConversionError,
    batch_converter,
    converter,
    normaliser,
    row_digest,
)
from stratus.solutions.dbmigrate.postgres import PostgresTarget, TargetError
from stratus.solutions.dbmigrate.sources import Row, Source

DEFAULT_BATCH = 5000


class Progress(Protocol):
    """Progress of long work, reported per table."""

    def start(self, table: str, total: int) -> None:
        """Work on ``table`` (``total`` rows expected) begins."""
        ...

    def advance(self, table: str, rows: int) -> None:
        """``rows`` more rows of ``table`` are done."""
        ...

    def finish(self, table: str, rows: int, seconds: float) -> None:
        """``table`` is done."""
        ...


class NoProgress:
    """Progress that reports nothing."""

    def start(self, table: str, total: int) -> None:
        """Ignored."""

    def advance(self, table: str, rows: int) -> None:
        """Ignored."""

    def finish(self, table: str, rows: int, seconds: float) -> None:
        """Ignored."""


class MigrationRefusedError(RuntimeError):
    """The target is not in a state the command may change (e.g. tables exist)."""


# ------------------------------------------------------------------------------ schema


def plan(source: Source, options: Options) -> TargetSchema:
    """The target schema for ``source`` under ``options``."""
    schema = source.schema()
    return translate(schema, Options(options.naming, options.schema, options.overrides,
                                      source.dialect))  # fmt: skip


@dataclass(frozen=True)
class SchemaResult:
    """Files written by ``schema`` and the target schema they describe."""

    files: tuple[Path, ...]
    target: TargetSchema


def write_schema(source: Source, options: Options, out: Path) -> SchemaResult:
    """Write the Flyway files and ``translation-report.md`` into ``out``."""
    target = plan(source, options)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for migration in migrations(target):
        path = out / migration.filename
        path.write_text(migration.render(), encoding="utf-8")
        files.append(path)
    report_path = out / "translation-report.md"
    report_path.write_text(report(target), encoding="utf-8")
    files.append(report_path)
    return SchemaResult(tuple(files), target)


# -------------------------------------------------------------------------------- rows


def _converted(
    source: Source,
    source_table: Table,
    table: TargetTable,
    *,
    size: int,
    since: tuple[str, Any] | None = None,
    progress: Progress | None = None,
    findings: list[Finding] | None = None,
    strict: bool = False,
) -> Iterator[list[Row]]:
    """The table's source rows converted to target values, batch by batch. A batch with a
    bad value is converted row by row so that only the bad rows are left out (and listed)."""
    kinds = [c.convert for c in table.columns]
    convert_batch = batch_converter(kinds, source.dateformat, strict=strict)
    columns = [c.source_name for c in table.columns]
    for batch in source.batches(source_table, columns, size=size, since=since):
        try:
            out = convert_batch(batch)
        except ConversionError:
            out = []
            for row in batch:
                try:
                    out.extend(convert_batch([row]))
                except ConversionError as exc:
                    if findings is not None:
                        findings.append(
                            Finding("error", f"row of {source_table.name}", f"{exc}: {row!r:.200}")
                        )
        if progress is not None:
            progress.advance(table.name, len(batch))
        yield out


_DONE = object()


def prefetch(batches: Iterator[list[Row]], depth: int = 3) -> Iterator[list[Row]]:
    """Produce ``batches`` in a background thread, ``depth`` ahead of the consumer.

    Reading the source and converting overlap with COPY to PostgreSQL (drivers release the
    GIL while waiting on I/O). An exception in the producer is raised in the consumer; a
    consumer that stops early stops the producer."""
    channel: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        channel.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            channel.put(_DONE)
        except BaseException as exc:  # handed over to the consumer, raised there
            channel.put(exc)

    worker = threading.Thread(target=produce, name="stratus-migrate-read", daemon=True)
    worker.start()
    try:
        while True:
            item = channel.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


# -------------------------------------------------------------------------------- full


@dataclass(frozen=True)
class LoadResult:
    """What ``full`` did."""

    target: TargetSchema
    rows: dict[str, int]
    resumed: tuple[str, ...]
    findings: tuple[Finding, ...]
    view_failures: tuple[tuple[str, str], ...]
    seconds: float
    migrations: tuple[Migration, ...] = field(default=())

    @property
    def partial(self) -> bool:
        """Whether something was not migrated because of bad input."""
        return any(f.kind == "error" for f in self.findings) or bool(self.view_failures)


def full_load(
    source: Source,
    target: PostgresTarget,
    options: Options,
    *,
    replace: bool = False,
    workers: int = 2,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> LoadResult:
    """Schema (V1), data (COPY, tables in parallel), constraints and indexes (V2), views (V3),
    identity sequences; resumable per table after a crash."""
    progress = progress or NoProgress()
    started = time.monotonic()
    schema = source.schema()
    plan_ = translate(schema, Options(options.naming, options.schema, options.overrides,
                                      source.dialect))  # fmt: skip
    files = migrations(plan_)
    names = [t.name for t in plan_.tables]
    target.prepare_state()
    applied = target.applied_versions()
    loaded = target.loaded_tables()
    resuming = "1" in applied and "2" not in applied
    if replace:
        target.drop(names, [v.name for v in plan_.views])
        applied, loaded, resuming = {}, {}, False
    elif not resuming:
        existing = target.existing(names)
        if existing:
            shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
            raise MigrationRefusedError(
                f"the target already has {len(existing)} of these tables ({shown}): "
                "pass --replace to drop and reload them"
            )
        loaded = {}
    if "1" not in applied:
        target.apply(files[0])
    findings: list[Finding] = list(plan_.findings)
    lock = threading.Lock()
    rows: dict[str, int] = dict(loaded)

    def load(table: TargetTable) -> None:
        source_table = schema.table(table.source_name)
        total = source.count(source_table)
        progress.start(table.name, total)
        begun = time.monotonic()
        local: list[Finding] = []
        try:
            copied = target.copy_table(
                table,
                prefetch(
                    _converted(
                        source, source_table, table, size=batch_size, progress=progress,
                        findings=local,
                    )
                ),
            )  # fmt: skip
        except TargetError as exc:
            raise TargetError(
                f"loading {table.name} failed (rolled back; rerun to resume): {exc}"
            ) from exc
        progress.finish(table.name, copied, time.monotonic() - begun)
        with lock:
            rows[table.name] = copied
            findings.extend(local)

    pending = [t for t in plan_.load_order() if t.name not in loaded]
    if workers <= 1:
        for table in pending:
            load(table)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(load, t) for t in pending]:
                future.result()
    target.apply(files[1])
    view_failures: list[tuple[str, str]] = []
    if len(files) > 2:
        view_failures = target.apply(files[2], tolerate=True)
        for statement, error in view_failures:
            view = re.sub(r"^CREATE VIEW (\S+).*", r"\1", statement.splitlines()[0])
            findings.append(Finding("untranslated", f"view {view}", f"PostgreSQL: {error}"))
    target.reset_identities(plan_.tables)
    target.finish_load()
    return LoadResult(
        target=plan_,
        rows=rows,
        resumed=tuple(sorted(loaded)),
        findings=tuple(findings),
        view_failures=tuple(view_failures),
        seconds=time.monotonic() - started,
        migrations=files,
    )


# ------------------------------------------------------------------------------- delta


@dataclass(frozen=True)
class DeltaResult:
    """Rows upserted and deleted per table."""

    upserted: dict[str, int]
    deleted: dict[str, int]
    findings: tuple[Finding, ...]


def parse_watermark(text: str) -> Any:
    """``0x00000000000007D1`` -> bytes (rowversion), ``42`` -> int, anything else as given."""
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        digits = text[2:]
        return bytes.fromhex(digits.zfill(len(digits) + len(digits) % 2))
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def delta(
    source: Source,
    target: PostgresTarget,
    options: Options,
    *,
    since: Any,
    watermarks: dict[str, str],
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> DeltaResult:
    """Upsert rows changed since ``since`` (tables with a watermark column in ``watermarks``,
    keyed by lower-case source table name; other tables are upserted whole), then delete
    target rows whose key is gone from the source (key-set comparison)."""
    progress = progress or NoProgress()
    schema = source.schema()
    plan_ = translate(schema, Options(options.naming, options.schema, options.overrides,
                                      source.dialect))  # fmt: skip
    findings: list[Finding] = []
    unknown = set(watermarks) - {t.name.lower() for t in schema.tables}
    for name in sorted(unknown):
        findings.append(Finding("error", name, "watermark given for an unknown table"))
    upserted: dict[str, int] = {}
    deleted: dict[str, int] = {}
    order = plan_.load_order()
    for table in order:
        if not table.primary_key:
            findings.append(Finding("error", table.source_name, "no primary key: delta skipped"))
            continue
        source_table = schema.table(table.source_name)
        column = watermarks.get(table.source_name.lower())
        window = (source_table.column(column).name, since) if column else None
        progress.start(table.name, 0)
        begun = time.monotonic()
        upserted[table.name] = target.upsert(
            table,
            _converted(source, source_table, table, size=batch_size, since=window,
                       progress=progress, findings=findings),
        )  # fmt: skip
        progress.finish(table.name, upserted[table.name], time.monotonic() - begun)
    for table in reversed(order):
        if not table.primary_key:
            continue
        source_table = schema.table(table.source_name)
        key_columns = [c for c in table.columns if c.name in table.primary_key]
        key_converters = [converter(c.convert, source.dateformat) for c in key_columns]
        ordered = [next(c for c in key_columns if c.name == k) for k in table.primary_key]

        def keys(
            source_table: Table = source_table,
            ordered: Sequence[Any] = ordered,
            key_columns: Sequence[Any] = key_columns,
            key_converters: Sequence[Callable[[Any], Any]] = key_converters,
        ) -> Iterator[list[Row]]:
            by_name = {c.name: f for c, f in zip(key_columns, key_converters, strict=True)}
            fs = [by_name[c.name] for c in ordered]
            for batch in source.batches(
                source_table, [c.source_name for c in ordered], size=batch_size
            ):
                yield [tuple(f(v) for f, v in zip(fs, row, strict=True)) for row in batch]

        deleted[table.name] = target.delete_missing(table, keys())
    target.reset_identities(plan_.tables)
    return DeltaResult(upserted, deleted, tuple(findings))


# ------------------------------------------------------------------------------ verify


@dataclass(frozen=True)
class TableCheck:
    """Row count and checksum of one table on both sides."""

    table: str
    source_rows: int
    target_rows: int
    source_checksum: int
    target_checksum: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Counts and checksums agree."""
        return (
            self.error is None
            and self.source_rows == self.target_rows
            and self.source_checksum == self.target_checksum
        )


@dataclass(frozen=True)
class VerifyResult:
    """Every table's check; ``ok`` is the release gate."""

    tables: tuple[TableCheck, ...]

    @property
    def ok(self) -> bool:
        """All tables match."""
        return all(t.ok for t in self.tables)


def table_checksum(table: TargetTable, batches: Iterator[list[Row]]) -> tuple[int, int]:
    """(rows, checksum) of target-typed rows: order-independent sum of row digests."""
    normals = [normaliser(c.pg_type) for c in table.columns]
    count = 0
    total = 0
    for batch in batches:
        for row in batch:
            total = (total + row_digest([f(v) for f, v in zip(normals, row, strict=True)])) & MASK64
        count += len(batch)
    return count, total


def verify(
    source: Source,
    target: PostgresTarget,
    options: Options,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> VerifyResult:
    """Per table: row counts and checksums of normalised values, source vs target."""
    progress = progress or NoProgress()
    schema = source.schema()
    plan_ = translate(schema, Options(options.naming, options.schema, options.overrides,
                                      source.dialect))  # fmt: skip
    existing = set(target.existing([t.name for t in plan_.tables]))
    checks: list[TableCheck] = []
    for table in plan_.tables:
        source_table = schema.table(table.source_name)
        if table.name not in existing:
            checks.append(TableCheck(table.name, source.count(source_table), 0, 0, 0,
                                     "missing in the target"))  # fmt: skip
            continue
        progress.start(table.name, source.count(source_table))
        begun = time.monotonic()
        conversion_errors: list[Finding] = []
        source_rows, source_sum = table_checksum(
            table,
            _converted(source, source_table, table, size=batch_size, progress=progress,
                       findings=conversion_errors, strict=True),
        )  # fmt: skip
        target_rows, target_sum = table_checksum(table, target.rows(table, size=batch_size))
        error = conversion_errors[0].reason if conversion_errors else None
        checks.append(TableCheck(table.name, source_rows, target_rows, source_sum, target_sum,
                                 error))  # fmt: skip
        progress.finish(table.name, source_rows, time.monotonic() - begun)
    return VerifyResult(tuple(checks))


# ------------------------------------------------------------------------------- apply


_VERSIONED = re.compile(r"^V(\d+(?:[._]\d+)*)__(.+)\.sql$")


@dataclass(frozen=True)
class ApplyResult:
    """Versions applied now, and those already recorded."""

    applied: tuple[str, ...]
    skipped: tuple[str, ...]


def apply_directory(directory: Path, target: PostgresTarget) -> ApplyResult:
    """Apply pending ``V<version>__<description>.sql`` files in version order, recording each
    in ``flyway_schema_history`` as Flyway does; a changed applied file is refused."""
    files = []
    for path in directory.iterdir():
        match = _VERSIONED.match(path.name)
        if match:
            version = match.group(1).replace("_", ".")
            files.append((tuple(int(p) for p in version.split(".")), version, match, path))
    if not files:
        raise MigrationRefusedError(f"no V<version>__<description>.sql files in {directory}")
    applied_now: list[str] = []
    skipped: list[str] = []
    history = target.applied_versions()
    for _, version, match, path in sorted(files):
        content = path.read_text(encoding="utf-8")
        if version in history:
            if history[version] != flyway_checksum(content):
                raise MigrationRefusedError(
                    f"{path.name} was changed after it was applied (checksum mismatch)"
                )
            skipped.append(version)
            continue
        description = match.group(2).replace("_", " ")
        target.apply_script(version, description, path.name, content)
        applied_now.append(version)
    return ApplyResult(tuple(applied_now), tuple(skipped))
