"""The `stratus` command."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from stratus import __version__

PACKAGE_DIR = Path(__file__).resolve().parent


def solution_templates() -> list[Path]:
    """The SAM templates of the solutions shipped in this package."""
    return sorted(PACKAGE_DIR.glob("solutions/*/infra/template.yaml"))


def _fail(message: str) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


def _templates(given: Sequence[Path]) -> list[Path]:
    if given:
        return [p.resolve() for p in given]
    found = solution_templates()
    if not found:
        _fail("no solution is shipped yet: give a SAM template with --template PATH")
    return found


@contextmanager
def _runtime(
    templates: Sequence[Path],
    home: Path,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    clock_factor: float | None = None,
    params: Sequence[str] = (),
) -> Iterator[Any]:
    """Build the local runtime, turning every start-up problem into a one-line error."""
    from stratus.platform.adapters.local.clock import AcceleratedClock
    from stratus.platform.ports import PortError
    from stratus.platform.runtime.app import LocalRuntime, StartupError
    from stratus.platform.runtime.template import TemplateError

    parameters: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--parameter takes KEY=VALUE, not {item!r}")
        parameters[key] = value
    clock = AcceleratedClock(clock_factor) if clock_factor else None
    try:
        runtime = LocalRuntime(
            templates, home=home, clock=clock, host=host, port=port, parameters=parameters
        )
    except (TemplateError, StartupError, PortError, ValueError) as exc:
        _fail(str(exc))
    try:
        yield runtime
    finally:
        runtime.stop()


HOME_OPTION = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STRATUS_HOME",
    default=".stratus",
    show_default=True,
    help="Where local data lives (tables, queues, objects, mail, executions). Env: STRATUS_HOME.",
)
TEMPLATE_OPTION = click.option(
    "--template",
    "templates",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A SAM template to run (repeatable). Default: every shipped solution.",
)
PARAM_OPTION = click.option(
    "--parameter",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a template Parameter (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stratus")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """stratus: five AWS serverless solutions, deployable with SAM, runnable on one machine.

    `stratus up` runs SAM applications locally on SQLite, files and loopback HTTP;
    `stratus lint-infra` checks templates; run `stratus COMMAND --help` for details.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )


@main.command()
@TEMPLATE_OPTION
@HOME_OPTION
@PARAM_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0: any free).")
@click.option("--demo", is_flag=True, help="Load each application's demo data after start-up.")
@click.option(
    "--clock-factor",
    type=float,
    default=None,
    metavar="N",
    help="Run the clock N times faster (Wait states, schedules, TTL), e.g. 60 for demos.",
)
def up(
    templates: tuple[Path, ...],
    home: Path,
    params: tuple[str, ...],
    host: str,
    port: int,
    demo: bool,
    clock_factor: float | None,
) -> None:
    """Run SAM applications on this machine until Ctrl-C.

    Every function, API, queue, table (with its stream and TTL), topic, bucket, schedule and
    state machine of each template runs locally; data under --home survives restarts.
    """
    stop = threading.Event()
    with _runtime(
        _templates(templates), home, port=port, host=host, clock_factor=clock_factor, params=params
    ) as runtime:
        try:
            runtime.start()
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        _print_banner(runtime)
        if demo:
            for line in runtime.load_demo():
                click.echo(f"  demo: {line}")
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo("Ready. Press Ctrl-C to stop.")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        click.echo("Stopping...")
    click.echo("Stopped; data kept in " + str(home.resolve()))


def _print_banner(runtime: Any) -> None:
    info = runtime.describe()
    click.secho(f"stratus {__version__} up at {info['url']}", bold=True)
    click.echo(f"  data: {info['home']}")
    for app in info["apps"]:
        click.echo(f"  template: {app}")
    for line in runtime.route_lines():
        click.echo(f"  {line}")
    click.echo(
        f"  {len(info['functions'])} functions, {len(info['state_machines'])} state machines, "
        f"{len(info['tables'])} tables, {len(info['queues'])} queues, "
        f"{len(info['topics'])} topics, {len(info['buckets'])} buckets"
    )


def _read_event(path: Path) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read event file {path}: {exc}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")


@main.command()
@click.argument("function")
@click.option(
    "--event",
    "event_path",
    type=click.Path(dir_okay=True, path_type=Path),
    default=None,
    help="JSON event file ('-' for stdin). Default: {}.",
)
@TEMPLATE_OPTION
@HOME_OPTION
@PARAM_OPTION
def invoke(
    function: str,
    event_path: Path | None,
    templates: tuple[Path, ...],
    home: Path,
    params: tuple[str, ...],
) -> None:
    """Invoke FUNCTION (logical id, name or ARN) once with an event, print its result."""
    from stratus.platform import connect
    from stratus.platform.runtime.functions import FunctionError

    event = _read_event(event_path) if event_path is not None else {}
    with _runtime(_templates(templates), home, params=params) as runtime:
        connect.install(runtime.resources)
        try:
            result = runtime.invoke(function, event)
        except KeyError as exc:
            _fail(str(exc.args[0]))
        except FunctionError as exc:
            click.echo(json.dumps(exc.payload(), indent=2))
            _fail(f"{function} failed: {exc.error_type}: {exc.error_message}")
        click.echo(json.dumps(result, indent=2, default=str))


@main.group()
def workflows() -> None:
    """State machines and their executions (the local ASL runner)."""


@workflows.command("list")
@TEMPLATE_OPTION
@HOME_OPTION
def workflows_list(templates: tuple[Path, ...], home: Path) -> None:
    """List state machines and their recent executions."""
    with _runtime(_templates(templates), home) as runtime:
        for name in runtime.workflows.state_machines():
            click.secho(name, bold=True)
            for execution in runtime.workflows.list_executions(name)[:20]:
                click.echo(f"  {execution.status:<10} {execution.name}  {execution.execution_arn}")


@workflows.command("start")
@click.argument("state_machine")
@click.option("--input", "input_json", default="{}", show_default=True, help="Input as JSON.")
@click.option("--name", default=None, help="Execution name (idempotency key).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the end.")
@click.option(
    "--clock-factor", type=float, default=None, metavar="N", help="Run Wait states N times faster."
)
@TEMPLATE_OPTION
@HOME_OPTION
def workflows_start(
    state_machine: str,
    input_json: str,
    name: str | None,
    wait: bool,
    clock_factor: float | None,
    templates: tuple[Path, ...],
    home: Path,
) -> None:
    """Start STATE_MACHINE with --input; print the execution (and its result with --wait)."""
    from stratus.platform import connect
    from stratus.platform.ports import PortError

    try:
        payload = json.loads(input_json)
    except json.JSONDecodeError as exc:
        _fail(f"--input is not valid JSON: {exc.msg} at column {exc.colno}")
    with _runtime(_templates(templates), home, clock_factor=clock_factor) as runtime:
        connect.install(runtime.resources)
        try:
            arn = runtime.workflows.start(state_machine, payload, name=name)
        except PortError as exc:
            _fail(str(exc))
        click.echo(arn)
        if wait:
            execution = runtime.workflows.wait(arn)
            _print_execution(execution)
            if execution.status != "SUCCEEDED":
                sys.exit(1)


@workflows.command("describe")
@click.argument("execution_arn")
@click.option("--history", is_flag=True, help="Also print the event history.")
@TEMPLATE_OPTION
@HOME_OPTION
def workflows_describe(
    execution_arn: str, history: bool, templates: tuple[Path, ...], home: Path
) -> None:
    """Print an execution's status, input, output or error."""
    from stratus.platform.ports import PortError

    with _runtime(_templates(templates), home) as runtime:
        try:
            execution = runtime.workflows.describe(execution_arn)
        except PortError as exc:
            _fail(str(exc))
        _print_execution(execution)
        if history:
            for event in runtime.workflows.history(execution_arn):
                click.echo(f"  {event.id:>4} {event.timestamp:%H:%M:%S.%f} {event.type}")


def _print_execution(execution: Any) -> None:
    click.echo(f"status: {execution.status}")
    click.echo(f"input:  {json.dumps(execution.input)}")
    if execution.status == "SUCCEEDED":
        click.echo(f"output: {json.dumps(execution.output)}")
    elif execution.error or execution.cause:
        click.echo(f"error:  {execution.error}: {execution.cause}")


def _register_commands() -> None:
    """`stratus lint-infra`, and each solution's `cli.command` group (e.g. `stratus ami`)."""
    import importlib
    import pkgutil

    import stratus.solutions
    from stratus.platform.runtime.infra import lint_infra_command

    main.add_command(lint_infra_command)
    for info in pkgutil.iter_modules(stratus.solutions.__path__):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"stratus.solutions.{info.name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"stratus.solutions.{info.name}.cli":
                raise
            continue
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            main.add_command(command)


_register_commands()
