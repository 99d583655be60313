"""Rehearse a rollout in the sandbox: a scenario (YAML/JSON) in, a per-ASG record out.

A scenario describes the fleet (applications, ASGs, held instances, failing images, alarms)
and the Image Builder events to publish; :func:`run` builds it in the moto sandbox, runs this
solution's SAM template in a :class:`LocalRuntime` on an accelerated clock, publishes the
events to the topic and waits for every rollout. The format is documented in
docs/solutions/amirollout.md.
"""

from __future__ import annotations

import email
import email.policy
import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from stratus.platform.ports import Clock

TEMPLATE = Path(__file__).resolve().parent / "infra" / "template.yaml"
ACCOUNT = "123456789012"


class ScenarioError(Exception):
    """The scenario is invalid: the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlarmSpec(_Strict):
    """A guarding CloudWatch alarm; it goes to ALARM ``at_seconds`` after the run starts."""

    name: str
    at_seconds: float | None = None


class AsgSpec(_Strict):
    """One Auto Scaling group."""

    name: str
    min: int = Field(ge=0)
    max: int = Field(ge=0)
    desired: int = Field(ge=0)
    launch: Literal["template", "mixed", "configuration"] = "template"
    protected: int = Field(0, ge=0, description="old instances protected from scale-in")
    standby: int = Field(0, ge=0, description="old instances moved to Standby")
    opt_in: bool = True

    @model_validator(mode="after")
    def _sizes(self) -> AsgSpec:
        if not self.min <= self.desired <= self.max:
            raise ValueError(f"{self.name}: min <= desired <= max must hold")
        if self.protected + self.standby > self.desired:
            raise ValueError(f"{self.name}: more held instances than desired capacity")
        return self


class ApplicationSpec(_Strict):
    """An application: its ASGs run ``ami`` and opt in to rollouts of ``image``."""

    name: str
    image: str = Field(description="Image Builder image (recipe) name the ASGs opt in to")
    ami: str = Field(min_length=3, max_length=128, description="name of the AMI they run now")
    alarms: list[AlarmSpec] = []
    asgs: list[AsgSpec] = Field(min_length=1)


class EventSpec(_Strict):
    """One Image Builder SNS message to publish."""

    image: str
    ami: str = Field(min_length=3, max_length=128, description="name of the new AMI")
    version: str = "1.0.1/1"
    status: str = "AVAILABLE"
    regions: list[str] = Field(default_factory=lambda: ["us-east-1"])
    repeat: int = Field(1, ge=1, le=10)
    arn: str | None = Field(None, description="the image ARN (default: built from image)")


class Scenario(_Strict):
    """A sandbox fleet, the events to publish, and how the health simulator behaves."""

    applications: list[ApplicationSpec] = Field(min_length=1)
    events: list[EventSpec] = Field(min_length=1)
    failing_amis: list[str] = []
    boot_seconds: float = Field(60, ge=0)
    settings: dict[str, str | int] = {}

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        names = [a.name for app in self.applications for a in app.asgs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"ASG names must be unique: {', '.join(dupes)}")
        return self


def load_scenario(path: Path) -> Scenario:
    """Read and validate a YAML/JSON scenario; ScenarioError says what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path} is not YAML/JSON: {exc}") from exc
    return parse_scenario(raw, str(path))


def parse_scenario(raw: Any, where: str = "scenario") -> Scenario:
    """Validate a scenario given as a mapping."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where}: a scenario is a mapping")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise ScenarioError(f"{where}: {problems}") from exc


def image_builder_message(
    image: str,
    version: str,
    status: str,
    amis: list[tuple[str, str]],
    *,
    arn: str | None = None,
) -> dict[str, Any]:
    """An EC2 Image Builder SNS message (the real shape, trimmed to what matters)."""
    region = amis[0][0] if amis else "us-east-1"
    build = version.rsplit("/", maxsplit=1)[-1]
    arn = arn or f"arn:aws:imagebuilder:{region}:{ACCOUNT}:image/{image}/{version}"
    return {
        "versionlessArn": f"arn:aws:imagebuilder:{region}:{ACCOUNT}:image/{image}",
        "semver": 1,
        "arn": arn,
        "name": image,
        "version": version.split("/", maxsplit=1)[0],
        "type": "AMI",
        "buildVersion": int(build) if build.isdigit() else 1,
        "state": {"status": status},
        "outputResources": {
            "amis": [
                {
                    "region": r,
                    "image": ami,
                    "name": f"{image} {version}",
                    "accountId": ACCOUNT,
                }
                for r, ami in amis
            ]
        },
    }


@contextmanager
def sandbox_runtime(
    home: Path,
    clock: Clock,
    *,
    boot_seconds: float = 60,
    parameters: Mapping[str, str] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """A fresh sandbox fleet and this solution's template in a started LocalRuntime."""
    try:
        from stratus.platform.adapters.aws.fleet_sandbox import SandboxFleet, install_sandbox
    except ImportError as exc:
        raise ScenarioError(
            f"the sandbox needs boto3 and moto ({exc.name} is missing): "
            "pip install 'stratus[sandbox]'"
        ) from exc
    from stratus.platform.runtime.app import LocalRuntime

    runtime = LocalRuntime([TEMPLATE], home=home, clock=clock, parameters=parameters)
    sandbox = SandboxFleet(runtime.apps[0].region, clock=clock, boot_seconds=boot_seconds)
    install_sandbox(sandbox)
    try:
        runtime.start()
        yield runtime, sandbox
    finally:
        runtime.stop()
        install_sandbox(None)
        sandbox.close()


def topic_arn(runtime: Any) -> str:
    """The local ARN of the ImageTopic."""
    app = runtime.apps[0]
    return f"arn:aws:sns:{app.region}:{app.account}:{app.topics['ImageTopic'].name}"


def state_machine_arn(runtime: Any) -> str:
    """The local ARN of the rollout state machine."""
    return str(next(a for a in runtime.workflows.state_machines() if "Rollout" in a))


def publish(runtime: Any, message: Mapping[str, Any]) -> str:
    """Publish an Image Builder message to the ImageTopic (as Image Builder does)."""
    return str(runtime.resources.topic(topic_arn(runtime)).publish(json.dumps(message)))


def wait_for_rollouts(runtime: Any, deliveries: int = 0, timeout_s: float = 120.0) -> list[Any]:
    """Wait until StartRollout has handled ``deliveries`` SNS messages (SNS invokes it
    asynchronously) and no rollout execution runs; return the executions."""
    arn = state_machine_arn(runtime)
    deadline = time.monotonic() + timeout_s
    starter = runtime.find_function("StartRolloutFunction")
    while starter.stats.invocations + starter.stats.throttles < deliveries:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    while True:
        executions = runtime.workflows.list_executions(arn)
        running = [e for e in executions if e.status == "RUNNING"]
        if not running or time.monotonic() > deadline:
            return list(executions)
        runtime.workflows.wait(
            running[0].execution_arn, timeout=max(0.1, deadline - time.monotonic())
        )


def emails(runtime: Any) -> list[dict[str, Any]]:
    """Every email in the outbox: recipients, subject, body."""
    out = []
    for path in runtime.resources.mailer().messages():
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        out.append(
            {
                "to": [a.strip() for a in str(msg.get("To", "")).split(",") if a.strip()],
                "subject": str(msg.get("Subject", "")),
                "body": body.get_content() if body is not None else "",
            }
        )
    return out


def build_fleet(sandbox: Any, scenario: Scenario, clock: Clock) -> dict[str, dict[str, Any]]:
    """Create the scenario's fleet; returns per ASG what it started with."""
    start = clock.now()
    built: dict[str, dict[str, Any]] = {}
    for app in scenario.applications:
        ami = sandbox.image(app.ami)
        for alarm in app.alarms:
            at = None if alarm.at_seconds is None else start + timedelta(seconds=alarm.at_seconds)
            sandbox.alarm(alarm.name, at=at)
        for spec in app.asgs:
            tags = {"ami-rollout:app": app.name}
            if spec.opt_in:
                tags["ami-rollout:image"] = app.image
            if app.alarms:
                tags["ami-rollout:alarms"] = ",".join(a.name for a in app.alarms)
            group = sandbox.add_group(
                spec.name,
                image_id=ami,
                min_size=spec.min,
                max_size=spec.max,
                desired=spec.desired,
                launch=spec.launch,
                tags=tags,
            )
            ids = [i.instance_id for i in group.instances]
            if spec.protected:
                sandbox.protect(spec.name, ids[: spec.protected])
            if spec.standby:
                sandbox.standby(spec.name, ids[spec.protected : spec.protected + spec.standby])
            after = sandbox.group(spec.name)
            built[spec.name] = {
                "application": app.name,
                "opted_in": spec.opt_in,
                "original_desired": after.desired,
                "original_max": after.max_size,
                "original_image": ami,
            }
    for name in scenario.failing_amis:
        sandbox.fail_image(sandbox.image(name))
    sandbox.observe_all()
    return built


def run(
    scenario: Scenario,
    *,
    home: Path | None = None,
    clock: Clock | None = None,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Run the scenario end to end; the result is what ``stratus ami simulate`` writes."""
    from stratus.platform.adapters.local.clock import AcceleratedClock

    clock = clock or AcceleratedClock(2000)
    parameters = {k: str(v) for k, v in scenario.settings.items()}
    with tempfile.TemporaryDirectory(prefix="stratus-ami-") as tmp:
        where = home or Path(tmp)
        with sandbox_runtime(
            where, clock, boot_seconds=scenario.boot_seconds, parameters=parameters
        ) as (runtime, sandbox):
            built = build_fleet(sandbox, scenario, clock)
            published = []
            region = runtime.apps[0].region
            for event in scenario.events:
                new_ami = sandbox.image(event.ami)
                amis = [(r, new_ami if r == region else f"ami-{r}-copy") for r in event.regions]
                message = image_builder_message(
                    event.image, event.version, event.status, amis, arn=event.arn
                )
                for _ in range(event.repeat):
                    publish(runtime, message)
                    published.append(message["arn"])
            executions = wait_for_rollouts(runtime, len(published), timeout_s)
            return _result(runtime, sandbox, built, executions, published)


def _result(
    runtime: Any,
    sandbox: Any,
    built: dict[str, dict[str, Any]],
    executions: list[Any],
    published: list[str],
) -> dict[str, Any]:
    from stratus.solutions.amirollout.domain.model import Settings
    from stratus.solutions.amirollout.service import Deps, outcomes

    table_name = runtime.apps[0].tables["RolloutTable"].spec.name
    table = runtime.resources.table(table_name)
    deps = Deps(
        table=table,
        fleet=sandbox,
        mailer=runtime.resources.mailer(),
        clock=runtime.clock,
        settings=Settings(),
    )
    rolled_back: dict[str, bool] = {}
    for arn in sorted(set(published)):
        for outcome in outcomes(arn, deps):
            rolled_back[outcome.name] = rolled_back.get(outcome.name, False) or outcome.rolled_back
    snapshot = sandbox.snapshot()
    asgs = {}
    for name, state in sorted(snapshot.items()):
        stats = sandbox.stats.get(name)
        info = built.get(name, {})
        asgs[name] = {
            **info,
            "instances": state["instances"],
            "desired": state["desired"],
            "max_size": state["max_size"],
            "image": state["image"],
            "max_desired_seen": stats.max_desired if stats else state["desired"],
            "max_size_seen": stats.max_max_size if stats else state["max_size"],
            "min_healthy_seen": stats.min_healthy if stats else None,
            "violations": stats.violations if stats else [],
            "rolled_back": rolled_back.get(name, False),
        }
    statuses = [e.status for e in executions]
    ok = all(s == "SUCCEEDED" for s in statuses) and not any(a["violations"] for a in asgs.values())
    return {
        "ok": ok,
        "executions": [{"name": e.name, "status": e.status} for e in executions],
        "asgs": asgs,
        "emails": emails(runtime),
        "api_calls": sandbox.calls,
    }
