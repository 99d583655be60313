"""Two engines for the same ASL definition: moto's Step Functions interpreter and ours.

moto 5.2 runs state machines only when ``mock_aws`` is configured with
``{"stepfunctions": {"execute_state_machine": True}}`` (its interpreter is ported from
LocalStack). Lambda tasks run on moto's no-Docker Lambda (``{"lambda": {"use_docker":
False}}``), which echoes the payload it is given: the local runner gets the same echo.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.workflow import LocalWorkflowRunner

ACCOUNT = "123456789012"
ECHO_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo"


@dataclass(frozen=True)
class Outcome:
    """What both engines are compared on."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: tuple[str, ...] = field(default=(), compare=False)

    def count(self, event_type: str) -> int:
        """How many history events of ``event_type`` the execution recorded."""
        return self.events.count(event_type)


def echo(resource: str, payload: Any) -> Any:
    """The local twin of moto's no-Docker Lambda: the function returns its event."""
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        return payload.get("Payload")
    return payload


class MotoEngine:
    """Runs definitions on moto's Step Functions interpreter (real time: keep Waits short)."""

    def __init__(self) -> None:
        import boto3

        self.sfn = boto3.client("stepfunctions", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        self.role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("lambda", region_name="us-east-1").create_function(
            FunctionName="echo",
            Runtime="python3.11",
            Role=self.role,
            Handler="echo.handler",
            Code={"ZipFile": b"unused by moto's no-Docker Lambda"},
        )
        self.count = 0

    def run(self, definition: dict[str, Any], data: Any) -> Outcome:
        self.count += 1
        arn = self.sfn.create_state_machine(
            name=f"m{self.count}", definition=json.dumps(definition), roleArn=self.role
        )["stateMachineArn"]
        execution = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps(data))
        deadline = time.monotonic() + 30
        while True:
            r = self.sfn.describe_execution(executionArn=execution["executionArn"])
            if r["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        output = _parse(r["output"]) if r.get("output") else None
        pages = self.sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution["executionArn"]
        )
        events = tuple(e["type"] for page in pages for e in page["events"])
        return Outcome(r["status"], output, r.get("error"), r.get("cause"), events)


def _parse(text: str) -> Any:
    # moto 5.2 writes a top-level string output unquoted ("hello", not "\"hello\"").
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class LocalEngine:
    """Runs definitions on the local runner with a FakeClock and the echo invoker."""

    def __init__(self, runner: LocalWorkflowRunner) -> None:
        self.runner = runner
        self.count = 0

    def run(self, definition: dict[str, Any], data: Any) -> Outcome:
        self.count += 1
        self.runner.register(f"m{self.count}", definition)
        e = self.runner.start_sync(f"m{self.count}", data, timeout=30)
        events = tuple(h.type for h in self.runner.history(e.execution_arn))
        return Outcome(e.status, e.output, e.error, e.cause, events)


@pytest.fixture
def moto_engine(aws_env: None) -> Iterator[MotoEngine]:
    from moto import mock_aws

    # moto's interpreter logs every failed state with its whole parse tree: keep it quiet.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    config: Any = {
        "stepfunctions": {"execute_state_machine": True},
        "lambda": {"use_docker": False},
    }
    with mock_aws(config=config):
        yield MotoEngine()


@pytest.fixture
def local_engine(tmp_path: Path, clock: FakeClock) -> Iterator[LocalEngine]:
    runner = LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=echo, clock=clock)
    try:
        yield LocalEngine(runner)
    finally:
        runner.close()
