"""``stratus migrate``: SQL Server (or MySQL, SQLite, PostgreSQL) to PostgreSQL.

Exit status: 0 done; 1 ``verify`` found a mismatch; 2 error or refusal; 3 partial (some input
could not be migrated: the report lists it, the rest was migrated).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from stratus.solutions.dbmigrate.domain.model import Finding
from stratus.solutions.dbmigrate.domain.names import POLICIES
from stratus.solutions.dbmigrate.domain.translate import Options
from stratus.solutions.dbmigrate.domain.typemap import parse_overrides

EXIT_MISMATCH = 1
EXIT_ERROR = 2
EXIT_PARTIAL = 3

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


class BarProgress:
    """Per-table progress bars on stderr (redrawn in place on a terminal; one line per
    finished table otherwise). Thread-safe: tables load in parallel."""

    def __init__(self, verb: str = "loaded") -> None:
        self.verb = verb
        self.tty = sys.stderr.isatty()
        self.lock = threading.Lock()
        self.state: dict[str, list[int]] = {}
        self.last = 0.0

    def start(self, table: str, total: int) -> None:
        """A table begins."""
        with self.lock:
            self.state[table] = [0, total]

    def advance(self, table: str, rows: int) -> None:
        """Rows done; redraws at most 10 times a second."""
        with self.lock:
            self.state.setdefault(table, [0, 0])[0] += rows
            now = time.monotonic()
            if self.tty and now - self.last > 0.1:
                self.last = now
                self._draw()

    def _draw(self) -> None:
        parts = []
        for table, (done, total) in list(self.state.items())[-3:]:
            fraction = min(1.0, done / total) if total else 1.0
            filled = int(fraction * 20)
            parts.append(f"{table} [{'#' * filled}{'-' * (20 - filled)}] {done}/{total or '?'}")
        click.echo("\r" + "  ".join(parts)[:150].ljust(150), nl=False, err=True)

    def finish(self, table: str, rows: int, seconds: float) -> None:
        """A table is done: one line for it."""
        with self.lock:
            self.state.pop(table, None)
            rate = rows / seconds if seconds > 0 else 0.0
            prefix = "\r" + " " * 150 + "\r" if self.tty else ""
            click.echo(
                f"{prefix}  {table}: {rows} rows {self.verb} in {seconds:.1f}s "
                f"({rate:,.0f} rows/s)",
                err=True,
            )


def _source(value: str) -> Any:
    from stratus.solutions.dbmigrate.sources import SourceError, open_source

    try:
        return open_source(value)
    except SourceError as exc:
        _fail(str(exc))


def _target(url: str, schema: str) -> Any:
    from stratus.solutions.dbmigrate.postgres import PostgresTarget, TargetError

    try:
        return PostgresTarget(url, schema)
    except TargetError as exc:
        _fail(str(exc))


def _options(naming: str, schema: str, overrides: tuple[str, ...]) -> Options:
    try:
        return Options(naming=naming, schema=schema, overrides=parse_overrides(overrides))
    except ValueError as exc:
        _fail(str(exc))


def _common(function: F) -> F:
    decorators = [
        click.option("--source", "source", required=True, metavar="SRC",
                     help="SQLAlchemy URL of the source, or the path of a T-SQL script."),
        click.option("--naming", type=click.Choice(POLICIES), default="snake", show_default=True,
                     help="Identifier policy: snake_case names, or keep the source's."),
        click.option("--schema", "pg_schema", default="public", show_default=True,
                     help="PostgreSQL schema to create the tables in."),
        click.option("--type", "overrides", multiple=True, metavar="TABLE.COLUMN=PGTYPE",
                     help="Override the type map for one column (repeatable)."),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _print_findings(findings: tuple[Finding, ...] | list[Finding], *, limit: int = 20) -> None:
    shown = [f for f in findings if f.kind in {"error", "untranslated"}]
    for finding in shown[:limit]:
        where = f" (line {finding.line})" if finding.line else ""
        click.echo(f"  {finding.kind}: {finding.subject}{where}: {finding.reason}", err=True)
    if len(shown) > limit:
        click.echo(f"  ... and {len(shown) - limit} more (see the translation report)", err=True)


def _errors(findings: tuple[Finding, ...] | list[Finding]) -> int:
    return sum(1 for f in findings if f.kind == "error")


@click.group("migrate")
def command() -> None:
    """Migrate a SQL Server database (or script) to PostgreSQL: schema, full, delta, verify."""


@command.command("schema")
@_common
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the Flyway files and translation-report.md.")  # fmt: skip
def schema_command(source: str, naming: str, pg_schema: str, overrides: tuple[str, ...],
                   out: Path) -> None:  # fmt: skip
    """Write Flyway versioned files (V1 tables, V2 constraints and indexes, V3 views) and the
    translation report."""
    from stratus.solutions.dbmigrate.service import write_schema
    from stratus.solutions.dbmigrate.sources import SourceError

    options = _options(naming, pg_schema, overrides)
    src = _source(source)
    try:
        result = write_schema(src, options, out)
    except SourceError as exc:
        _fail(str(exc))
    finally:
        src.close()
    for path in result.files:
        click.echo(str(path))
    findings = result.target.findings
    untranslated = sum(1 for f in findings if f.kind == "untranslated")
    click.echo(
        f"{len(result.target.tables)} tables, {len(result.target.views)} views; "
        f"{untranslated} objects not translated, {_errors(findings)} errors "
        f"(see {out / 'translation-report.md'})",
        err=True,
    )
    _print_findings(findings)
    if _errors(findings):
        _fail("partial: some statements could not be read", EXIT_PARTIAL)


@command.command("full")
@_common
@click.option("--target", required=True, metavar="URL", help="PostgreSQL URL.")
@click.option("--replace", is_flag=True, help="Drop and reload tables that already exist.")
@click.option("--workers", type=click.IntRange(1, 32), default=2, show_default=True,
              help="Tables loaded in parallel.")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the Flyway files and the report here.")  # fmt: skip
def full_command(source: str, naming: str, pg_schema: str, overrides: tuple[str, ...],
                 target: str, replace: bool, workers: int, batch_size: int,
                 out: Path | None) -> None:  # fmt: skip
    """Full load: tables, data (COPY, in parallel), then constraints, indexes, views and
    identity sequences. Resumes per table after a crash; refuses a target that already has
    the tables unless --replace."""
    from stratus.solutions.dbmigrate.domain.ddl import report
    from stratus.solutions.dbmigrate.postgres import TargetError
    from stratus.solutions.dbmigrate.service import MigrationRefusedError, full_load
    from stratus.solutions.dbmigrate.sources import SourceError

    options = _options(naming, pg_schema, overrides)
    src = _source(source)
    pg = _target(target, pg_schema)
    try:
        result = full_load(src, pg, options, replace=replace, workers=workers,
                           batch_size=batch_size, progress=BarProgress())  # fmt: skip
    except (SourceError, TargetError, MigrationRefusedError) as exc:
        _fail(str(exc))
    finally:
        src.close()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for migration in result.migrations:
            (out / migration.filename).write_text(migration.render(), encoding="utf-8")
        (out / "translation-report.md").write_text(report(result.target), encoding="utf-8")
    if result.resumed:
        click.echo(f"resumed: {len(result.resumed)} tables were already loaded", err=True)
    total = sum(result.rows.values())
    click.echo(f"{len(result.rows)} tables, {total} rows loaded in {result.seconds:.1f}s")
    _print_findings(result.findings)
    if result.partial:
        _fail("partial: some input was not migrated (listed above)", EXIT_PARTIAL)


@command.command("delta")
@_common
@click.option("--target", required=True, metavar="URL", help="PostgreSQL URL.")
@click.option(
    "--since",
    required=True,
    metavar="WATERMARK",
    help="Rows whose watermark column is greater are upserted (0x.. for rowversion).",
)
@click.option("--watermark", "watermarks", multiple=True, metavar="TABLE=COLUMN",
              help="Watermark column (rowversion or updated-at) of a table (repeatable); "
                   "tables without one are upserted whole.")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True)
def delta_command(source: str, naming: str, pg_schema: str, overrides: tuple[str, ...],
                  target: str, since: str, watermarks: tuple[str, ...],
                  batch_size: int) -> None:  # fmt: skip
    """Upsert rows changed since WATERMARK, delete rows gone from the source."""
    from stratus.solutions.dbmigrate.postgres import TargetError
    from stratus.solutions.dbmigrate.service import delta, parse_watermark
    from stratus.solutions.dbmigrate.sources import SourceError

    options = _options(naming, pg_schema, overrides)
    columns: dict[str, str] = {}
    for item in watermarks:
        table, sep, column = item.partition("=")
        if not sep or not table or not column:
            _fail(f"--watermark takes TABLE=COLUMN, not {item!r}")
        columns[table.lower()] = column
    src = _source(source)
    pg = _target(target, pg_schema)
    try:
        result = delta(src, pg, options, since=parse_watermark(since), watermarks=columns,
                       batch_size=batch_size, progress=BarProgress("upserted"))  # fmt: skip
    except (SourceError, TargetError) as exc:
        _fail(str(exc))
    finally:
        src.close()
    for table in result.upserted:
        click.echo(f"{table}: {result.upserted[table]} upserted, "
                   f"{result.deleted.get(table, 0)} deleted")  # fmt: skip
    _print_findings(result.findings)
    if _errors(result.findings):
        _fail("partial: some tables were not brought up to date", EXIT_PARTIAL)


@command.command("verify")
@_common
@click.option("--target", required=True, metavar="URL", help="PostgreSQL URL.")
def verify_command(source: str, naming: str, pg_schema: str, overrides: tuple[str, ...],
                   target: str) -> None:  # fmt: skip
    """Compare row counts and checksums per table; exit 1 on any mismatch (the release gate)."""
    from stratus.solutions.dbmigrate.postgres import TargetError
    from stratus.solutions.dbmigrate.service import verify
    from stratus.solutions.dbmigrate.sources import SourceError

    options = _options(naming, pg_schema, overrides)
    src = _source(source)
    pg = _target(target, pg_schema)
    try:
        result = verify(src, pg, options, progress=BarProgress("checked"))
    except (SourceError, TargetError) as exc:
        _fail(str(exc))
    finally:
        src.close()
    width = max((len(t.table) for t in result.tables), default=5)
    click.echo(f"{'table'.ljust(width)}  {'source':>9}  {'target':>9}  checksum  status")
    for check in result.tables:
        checksum = "same" if check.source_checksum == check.target_checksum else "DIFFERS"
        status = "ok" if check.ok else f"MISMATCH{': ' + check.error if check.error else ''}"
        click.echo(f"{check.table.ljust(width)}  {check.source_rows:>9}  {check.target_rows:>9}"
                   f"  {checksum:<8}  {status}")  # fmt: skip
    if not result.ok:
        bad = sum(1 for t in result.tables if not t.ok)
        click.secho(f"verify FAILED: {bad} of {len(result.tables)} tables differ", fg="red",
                    err=True)  # fmt: skip
        sys.exit(EXIT_MISMATCH)
    click.echo(f"verify passed: {len(result.tables)} tables match", err=True)


@command.command("apply")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="Directory of Flyway V<version>__<name>.sql files.",
)
@click.option("--target", required=True, metavar="URL", help="PostgreSQL URL.")
@click.option("--schema", "pg_schema", default="public", show_default=True,
              help="Schema holding flyway_schema_history.")  # fmt: skip
def apply_command(directory: Path, target: str, pg_schema: str) -> None:
    """Apply pending Flyway versioned files, recording them in flyway_schema_history."""
    from stratus.solutions.dbmigrate.postgres import TargetError
    from stratus.solutions.dbmigrate.service import MigrationRefusedError, apply_directory

    pg = _target(target, pg_schema)
    try:
        result = apply_directory(directory, pg)
    except (TargetError, MigrationRefusedError) as exc:
        _fail(str(exc))
    click.echo(f"applied: {', '.join(result.applied) or 'nothing'}; "
               f"already applied: {', '.join(result.skipped) or 'none'}")  # fmt: skip
