"""``stratus costs``: ingest cost files through the local pipeline and print reports.

ETL (data path): ``ingest`` and ``report``. Other commands are added below by their owners.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import click

from stratus.solutions.costs.domain.focus import PROVIDERS
from stratus.solutions.costs.ports import DIMENSIONS
from stratus.solutions.costs.reports import MAX_LIMIT


def _fail(message: str) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


COSTS_APP, COSTS_API = "costs", "CostsApi"  # the Reporting API in a runtime's runtime.json

HOME = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STRATUS_HOME",
    default=".stratus",
    show_default=True,
    help="Where local data lives. Env: STRATUS_HOME.",
)


@click.group(name="costs")
def command() -> None:
    """Public cloud cost processing: ingest exports, print reports."""


# ---- ETL (data path) ---------------------------------------------------------------------


@command.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--client", "client_id", required=True, help="The client the costs belong to.")
@click.option(
    "--provider",
    type=click.Choice(PROVIDERS),
    default=None,
    help="Export format; detected from the header when omitted.",
)
@click.option(
    "--clock-factor",
    type=float,
    default=600.0,
    show_default=True,
    help="Run the pipeline's clock this many times faster (Wait states, timeouts).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the load summary as JSON.")
@HOME
def ingest(
    file: Path,
    client_id: str,
    provider: str | None,
    clock_factor: float,
    as_json: bool,
    home: Path,
) -> None:
    """Put FILE through the local uploader→ETL pipeline and print what was loaded."""
    from stratus.platform.adapters.local.clock import AcceleratedClock
    from stratus.platform.ports import PortError
    from stratus.platform.runtime.app import StartupError
    from stratus.platform.runtime.functions import FunctionError
    from stratus.platform.runtime.template import TemplateError
    from stratus.solutions.costs import pipeline

    if not client_id.strip() or "/" in client_id:
        _fail("--client must be a non-empty id without '/'")
    try:
        with pipeline.local_runtime(home, clock=AcceleratedClock(clock_factor)) as runtime:
            result = pipeline.ingest_file(runtime, file, client_id=client_id, provider=provider)
    except (
        TemplateError,
        StartupError,
        PortError,
        FunctionError,
        pipeline.IngestError,
        OSError,
    ) as error:
        _fail(str(error))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "key": result.key,
                    "status": result.status,
                    "reason": result.reason,
                    **result.summary,
                },
                indent=2,
            )
        )
    else:
        _print_ingest(result)
    if result.status not in ("PROCESSED", "WAITING"):
        sys.exit(1)


def _print_ingest(result: Any) -> None:
    click.echo(f"file: {result.key}")
    click.echo(f"status: {result.status}" + (f" ({result.reason})" if result.reason else ""))
    summary = result.summary
    if not summary:
        return
    click.echo(f"rows accepted: {summary['accepted']}")
    click.echo(f"rows rejected: {summary['rejected']}")
    reasons: dict[str, int] = {}
    for rejection in summary.get("rejections", []):
        click.echo(f"  row {rejection['row']}: {rejection['reason']}")
        reasons[rejection["reason"]] = reasons.get(rejection["reason"], 0) + 1
    if summary["rejected"] > len(summary.get("rejections", [])):
        click.echo(f"  ... and {summary['rejected'] - len(summary['rejections'])} more")
    click.echo(f"billing periods: {', '.join(summary['periods']) or '-'}")
    for total in summary["totals"]:
        click.echo(
            f"total {total['currency'] or '(no currency)'}: billed {total['billed_cost']}, "
            f"effective {total['effective_cost']} ({total['rows']} rows)"
        )


def _by(value: str) -> str:
    if value in DIMENSIONS or (value.startswith("tag:") and len(value) > 4):
        return value
    raise click.BadParameter(f"use one of {', '.join(DIMENSIONS)} or tag:KEY")


@command.command()
@click.option("--client", "client_id", required=True, help="The client.")
@click.option(
    "--by",
    "by",
    required=True,
    callback=lambda _c, _p, v: _by(v),
    help=f"{'|'.join(DIMENSIONS)}|tag:KEY",
)
@click.option(
    "--cost", type=click.Choice(["billed", "effective"]), default="billed", show_default=True
)
@click.option("--month", default=None, metavar="YYYY-MM", help="One billing period.")
@click.option(
    "--limit", type=click.IntRange(1, MAX_LIMIT), default=None, help="At most this many rows."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@HOME
def report(
    client_id: str,
    by: str,
    cost: str,
    month: str | None,
    limit: int | None,
    as_json: bool,
    home: Path,
) -> None:
    """Print a cost report, as the Reporting API serves it.

    While a runtime serves --home (`stratus up`), the report comes from its Reporting API
    (found through HOME/runtime.json); otherwise from the fact store directly."""
    from stratus.solutions.costs import reports

    try:
        reports.validate(by, cost, month)
    except reports.ReportRequestError as error:
        _fail(str(error))
    query = {"by": by, "cost": cost, **({"month": month} if month else {})}
    if limit is not None:
        query["limit"] = str(limit)
    result, unreachable = _report_from_runtime(home, client_id, query)
    if result is None:
        result = _report_from_store(home, client_id, by, cost, month, limit, unreachable)
    _print_report(result, as_json=as_json)


def _report_from_runtime(
    home: Path, client_id: str, query: dict[str, str]
) -> tuple[dict[str, Any] | None, str]:
    """The report from the Reporting API of the runtime serving ``home``: ``(report, "")``;
    ``(None, "")`` when no runtime is recorded, ``(None, why)`` when it did not answer. An
    answer of 4xx is the CLI's error (exit 2)."""
    from urllib.parse import quote

    from stratus.platform.runtime import discovery

    runtime = discovery.running(home)
    api = runtime.api(COSTS_APP, COSTS_API) if runtime is not None else None
    if api is None:
        return None, ""
    try:
        status, body = api.get_json(f"/reports/{quote(client_id, safe='')}", query)
    except discovery.UnreachableError as error:
        return None, str(error)
    if status == 200 and isinstance(body, dict):
        return body, ""
    reason = _api_reason(body)
    if 400 <= status < 500:
        _fail(f"the Reporting API at {api.url} answered {status}: {reason}")
    return None, f"the Reporting API at {api.url} answered {status}: {reason}"


def _api_reason(body: Any) -> str:
    """``message: reason; reason`` of an API error body (``{"message", "reasons"?}``)."""
    if not isinstance(body, dict):
        return str(body or "no body")[:500]
    message = str(body.get("message") or body.get("Message") or "no message")
    reasons = body.get("reasons")
    if isinstance(reasons, list) and reasons:
        return f"{message}: {'; '.join(map(str, reasons))}"
    return message


def _report_from_store(
    home: Path,
    client_id: str,
    by: str,
    cost: str,
    month: str | None,
    limit: int | None,
    unreachable: str,
) -> dict[str, Any]:
    """The report read from the fact store under ``home`` (no runtime holds it)."""
    from stratus.solutions.costs import reports
    from stratus.solutions.costs.bootstrap import facts_for
    from stratus.solutions.costs.ports import FactStoreError

    try:
        store = facts_for(None, home)
        return reports.cost_report(
            store,
            client_id,
            by,
            cost="billed" if cost == "billed" else "effective",
            month=month,
            limit=limit,
        )
    except reports.ReportRequestError as error:
        _fail(str(error))
    except FactStoreError as error:
        if unreachable:
            _fail(f"{unreachable}; and the fact store cannot be opened directly: {error}")
        _fail(
            f"{error} (is another stratus process using this --home? no running `stratus up` "
            f"is recorded in {home / 'runtime.json'} whose Reporting API could answer instead)"
        )


def _print_report(result: dict[str, Any], *, as_json: bool) -> None:
    """A cost report as a table (or its JSON), whichever way it was obtained."""
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    client_id, by, cost, month = result["client_id"], result["by"], result["cost"], result["month"]
    if not result["rows"]:
        click.echo(f"no published costs for client {client_id}" + (f" in {month}" if month else ""))
        return
    width = max(len(by), len("total"), *(len(r["key"]) for r in result["rows"]))
    click.echo(f"{by:<{width}}  {'currency':<8}  {cost + ' cost':>20}  rows")
    for row in result["rows"]:
        click.echo(
            f"{row['key']:<{width}}  {row['currency']:<8}  "
            f"{Decimal(row['cost']):>20.6f}  {row['rows']}"
        )
    for total in result["totals"]:
        amount = Decimal(total[f"{cost}_cost"])
        click.echo(f"{'total':<{width}}  {total['currency']:<8}  {amount:>20.6f}  {total['rows']}")


# ---- end of ETL ----------------------------------------------------------------------------


# ---- dashboard (4b) --------------------------------------------------------------------------


@command.command("dashboard-html")
def dashboard_html() -> None:
    """Print the dashboard page, to upload as index.html to the DashboardBucket (AWS)."""
    from stratus.solutions.costs.dashboard.page import PAGE

    click.echo(PAGE, nl=False)


# ---- end of 4b -----------------------------------------------------------------------------
