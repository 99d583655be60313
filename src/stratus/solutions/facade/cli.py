"""`stratus facade`: the facade's database, legacy demo service, clean-up and anonymiser."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import click

from stratus.platform.relational import Engines

HOME = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STRATUS_HOME",
    default=".stratus",
    show_default=True,
    help="Local data directory (the default SQLite database lives under it).",
)
URL = click.option(
    "--url",
    envvar="WRITER_URL",
    default=None,
    help="Database URL (PostgreSQL). Default: the SQLite file under --home. Env: WRITER_URL.",
)


def _engines(url: str | None, home: Path) -> Engines:
    from stratus.solutions.facade.bootstrap import database
    from stratus.solutions.facade.store import DatabaseUnavailableError

    try:
        return database(url, None, home)
    except DatabaseUnavailableError as exc:
        raise click.ClickException(f"the database is unavailable: {exc}") from exc


@click.group("facade")
def command() -> None:
    """Facade API in front of a legacy API (solution 2b)."""


@command.command()
@URL
@HOME
def migrate(url: str | None, home: Path) -> None:
    """Apply the Alembic migrations (the deployment pipeline runs this on AWS)."""
    _engines(url, home)
    click.echo("facade database is at the latest revision")


@command.command()
@URL
@HOME
@click.option("--customers", default=50, show_default=True, help="Demo customers.")
@click.option("--load-users", default=0, show_default=True, help="Extra load-test users.")
def seed(url: str | None, home: Path, customers: int, load_users: int) -> None:
    """Load the demo data (idempotent) and print the demo tokens."""
    from stratus.solutions.facade.demo import seed as seed_data

    engines = _engines(url, home)
    tokens = seed_data(engines.writer, customers=customers, extra_tokens=load_users)
    for user, token in list(tokens.items())[:8]:
        click.echo(f"{user}: {token}")


@command.command()
@URL
@HOME
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option("--latency-ms", default=150.0, show_default=True, type=float)
@click.option("--error-rate", default=0.0, show_default=True, type=float)
@click.option("--slow-rate", default=0.0, show_default=True, type=float)
@click.option("--slow-ms", default=3000.0, show_default=True, type=float)
def legacy(
    url: str | None,
    home: Path,
    host: str,
    port: int,
    latency_ms: float,
    error_rate: float,
    slow_rate: float,
    slow_ms: float,
) -> None:
    """Serve the demo legacy API alone (e.g. as LEGACY_BASE_URL of a facade elsewhere)."""
    from stratus.solutions.facade.legacy.app import Faults, LegacyService
    from stratus.solutions.facade.legacy.server import serve_async

    engines = _engines(url, home)
    try:
        faults = Faults(latency_ms, slow_rate, slow_ms, error_rate).validated()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    server = serve_async(LegacyService(engines.writer, faults), host, port)
    click.echo(f"legacy API at {server.url} (faults: PUT {server.url}/_admin/faults)")
    click.echo("Ready.")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()


@command.command()
@URL
@HOME
@click.option("--rules", default=None, help="JSON rules (default: CLEANUP_RULES or built-in).")
def cleanup(url: str | None, home: Path, rules: str | None) -> None:
    """Archive obsolete rows to the local archive bucket, then delete them."""
    from stratus.platform.adapters.local.clock import SystemClock
    from stratus.platform.adapters.local.objects import FilesystemObjectStore
    from stratus.solutions.facade.cleanup import run_cleanup
    from stratus.solutions.facade.domain.cleanup import RuleError, parse_rules

    text = (
        rules
        or os.environ.get("CLEANUP_RULES")
        or (
            '[{"table": "legacy_tokens", "column": "expires_at", "older_than_days": 30},'
            ' {"table": "facade_audit", "column": "at", "older_than_days": 90}]'
        )
    )
    engines = _engines(url, home)
    try:
        report = run_cleanup(
            parse_rules(text),
            engines.writer,
            FilesystemObjectStore(home.resolve() / "objects", "facade-archive"),
            SystemClock(),
        )
    except RuleError as exc:
        raise click.BadParameter(str(exc), param_hint="--rules") from exc
    click.echo(json.dumps(report, indent=2))


@command.command()
@click.option("--url", required=True, help="URL of the STAGING copy to anonymise in place.")
@click.option("--key", envvar="FACADE_ANONYMISE_KEY", required=True, help="Secret key (16+ bytes).")
@click.option("--column", "columns", multiple=True, metavar="TABLE.COLUMN=KIND")
def anonymise(url: str, key: str, columns: tuple[str, ...]) -> None:
    """Pseudonymise PII columns of a staging copy (deterministic for a key)."""
    from stratus.solutions.facade.anonymise import (
        DEFAULT_COLUMNS,
        AnonymiseError,
        parse_columns,
    )
    from stratus.solutions.facade.anonymise import anonymise as run

    engines = _engines(url, Path(".stratus"))
    try:
        chosen = parse_columns(columns) if columns else DEFAULT_COLUMNS
        counts = run(engines.writer, key.encode(), chosen)
    except (AnonymiseError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(counts))
