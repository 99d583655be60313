"""``stratus ami``: rehearse AMI rollouts in the sandbox (demo, publish, simulate)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from stratus.solutions.amirollout import scenario as sc
from stratus.solutions.amirollout.demo import DEMO


def _fail(message: str) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


def _print_run(result: dict[str, Any]) -> None:
    for execution in result["executions"]:
        click.echo(f"execution {execution['name']}: {execution['status']}")
    for name, asg in result["asgs"].items():
        images = sorted({i["image"] for i in asg["instances"]})
        click.echo(
            f"  {name:<16} desired {asg['desired']} (max seen {asg['max_desired_seen']}, "
            f"MaxSize seen {asg['max_size_seen']}, min healthy {asg['min_healthy_seen']})"
            f"{'  ROLLED BACK' if asg['rolled_back'] else ''}  images {', '.join(images)}"
        )
    for mail in result["emails"]:
        click.echo("")
        click.echo(f"To: {', '.join(mail['to'])}")
        click.echo(f"Subject: {mail['subject']}")
        click.echo("")
        click.echo(mail["body"])


@click.group(name="ami")
def command() -> None:
    """Automatic AMI rollout to Auto Scaling groups, rehearsed in a sandbox account."""


@command.command()
@click.option(
    "--clock-factor",
    type=float,
    default=2000,
    show_default=True,
    help="How much faster than real time the rollout's clock runs.",
)
def demo(clock_factor: float) -> None:
    """Build a sandbox fleet (3 applications / 5 ASGs), publish an Image Builder event, run
    the rollout on an accelerated clock and print the report email."""
    from stratus.platform.adapters.local.clock import AcceleratedClock

    try:
        result = sc.run(sc.parse_scenario(DEMO, "demo"), clock=AcceleratedClock(clock_factor))
    except sc.ScenarioError as exc:
        _fail(str(exc))
    _print_run(result)
    if not result["ok"]:
        _fail("the demo rollout did not end as designed")


@command.command()
@click.option(
    "--image-arn", required=True, help="Image Builder image ARN (…:image/NAME/VER/BUILD)."
)
@click.option("--ami", "ami_name", required=True, help="New AMI (name registered in the sandbox).")
@click.option(
    "--region",
    "regions",
    multiple=True,
    default=["us-east-1"],
    show_default=True,
    help="Region the AMI is distributed to (repeatable).",
)
@click.option("--status", default="AVAILABLE", show_default=True)
@click.option("--clock-factor", type=float, default=2000, show_default=True)
def publish(
    image_arn: str, ami_name: str, regions: tuple[str, ...], status: str, clock_factor: float
) -> None:
    """Run a custom Image Builder event against the demo fleet and print the report."""
    from stratus.platform.adapters.local.clock import AcceleratedClock

    parts = image_arn.split(":image/")
    if not image_arn.startswith("arn:aws:imagebuilder:") or len(parts) != 2 or "/" not in parts[1]:
        _fail(
            f"--image-arn must look like arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/1.0.0/1, "
            f"not {image_arn!r}"
        )
    name, _, version = parts[1].partition("/")
    scenario = dict(DEMO)
    scenario["events"] = [
        {
            "image": name,
            "version": version,
            "ami": ami_name,
            "regions": list(regions),
            "status": status,
            "arn": image_arn,
        }
    ]
    try:
        parsed = sc.parse_scenario(scenario, "publish")
    except sc.ScenarioError as exc:
        _fail(str(exc))
    try:
        result = sc.run(parsed, clock=AcceleratedClock(clock_factor))
    except sc.ScenarioError as exc:
        _fail(str(exc))
    _print_run(result)


@command.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--json",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the per-ASG record of the run.",
)
@click.option("--clock-factor", type=float, default=2000, show_default=True)
def simulate(scenario: Path, out: Path, clock_factor: float) -> None:
    """Run a scenario (YAML/JSON, see docs/solutions/amirollout.md) in the sandbox.

    Exit 0 when the run ended as designed (success or clean rollback)."""
    from stratus.platform.adapters.local.clock import AcceleratedClock

    try:
        parsed = sc.load_scenario(scenario)
    except sc.ScenarioError as exc:
        _fail(str(exc))
    try:
        result = sc.run(parsed, clock=AcceleratedClock(clock_factor))
    except sc.ScenarioError as exc:
        _fail(str(exc))
    try:
        out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    rolled = sum(1 for a in result["asgs"].values() if a["rolled_back"])
    click.echo(
        f"{len(result['executions'])} rollout(s), {len(result['asgs'])} ASG(s), "
        f"{rolled} rolled back, {len(result['emails'])} email(s); written to {out}"
    )
    if not result["ok"]:
        _fail("the run did not end as designed (see the JSON)")
