"""One behaviour, two adapters: LocalWorkflowRunner and StepFunctionsWorkflowRunner (moto)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.workflow import LocalWorkflowRunner
from stratus.platform.ports.errors import ConditionFailedError, NotFoundError
from stratus.platform.ports.workflow import Execution, WorkflowRunner
from tests.workflows.conftest import MotoEngine, echo

GREET = {
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('Hi {}', $.who)"},
            "Next": "Check",
        },
        "Check": {
            "Type": "Choice",
            "Default": "Done",
            "Choices": [{"Variable": "$.greeting", "StringEquals": "Hi nobody", "Next": "Refuse"}],
        },
        "Refuse": {"Type": "Fail", "Error": "Greeting.Refused", "Cause": "nobody to greet"},
        "Done": {"Type": "Succeed"},
    },
}


@dataclass
class Target:
    """A runner and a way to create a state machine on its backend."""

    runner: WorkflowRunner
    register: Callable[[str, dict[str, Any]], str]


@pytest.fixture(params=["local", "stepfunctions"])
def target(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Target]:
    if request.param == "local":
        local = LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=echo, clock=clock)
        yield Target(local, local.register)
        local.close()
        return
    moto = request.getfixturevalue("moto_engine")
    assert isinstance(moto, MotoEngine)
    from stratus.platform.adapters.aws.workflow import StepFunctionsWorkflowRunner

    def register(name: str, definition: dict[str, Any]) -> str:
        return str(
            moto.sfn.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=moto.role
            )["stateMachineArn"]
        )

    yield Target(StepFunctionsWorkflowRunner(client=moto.sfn), register)


def finished(runner: WorkflowRunner, arn: str) -> Execution:
    """Poll DescribeExecution until the execution stops (both backends are asynchronous)."""
    deadline = time.monotonic() + 30
    while True:
        execution = runner.describe(arn)
        if execution.status != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(0.01)


def test_an_execution_runs_to_success_with_its_output(target: Target) -> None:
    target.register("greet", GREET)
    arn = target.runner.start("greet", {"who": "Ada"}, name="ada")
    execution = finished(target.runner, arn)
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"greeting": "Hi Ada"}
    assert execution.input == {"who": "Ada"}
    assert execution.name == "ada"
    assert execution.state_machine.endswith(":stateMachine:greet")
    assert execution.started_at is not None
    assert execution.started_at.tzinfo is not None


def test_a_failed_execution_reports_error_and_cause(target: Target) -> None:
    target.register("greet", GREET)
    execution = finished(target.runner, target.runner.start("greet", {"who": "nobody"}))
    assert (execution.status, execution.error, execution.cause) == (
        "FAILED",
        "Greeting.Refused",
        "nobody to greet",
    )


def test_the_state_machine_may_be_named_by_its_arn(target: Target) -> None:
    arn = target.register("greet", GREET)
    assert finished(target.runner, target.runner.start(arn, {"who": "Bo"})).status == "SUCCEEDED"


def test_the_same_name_and_input_return_the_first_execution(target: Target) -> None:
    target.register("greet", GREET)
    first = target.runner.start("greet", {"who": "Ada"}, name="once")
    finished(target.runner, first)
    assert target.runner.start("greet", {"who": "Ada"}, name="once") == first


def test_the_same_name_with_another_input_is_refused(target: Target) -> None:
    target.register("greet", GREET)
    finished(target.runner, target.runner.start("greet", {"who": "Ada"}, name="once"))
    with pytest.raises(ConditionFailedError):
        target.runner.start("greet", {"who": "Bo"}, name="once")


def test_unknown_names_are_not_found(target: Target) -> None:
    target.register("greet", GREET)
    with pytest.raises(NotFoundError):
        target.runner.start("missing", {})
    arn = target.runner.start("greet", {"who": "x"}, name="real")
    with pytest.raises(NotFoundError):
        target.runner.describe(arn.replace(":real", ":ghost"))


def test_the_history_runs_from_execution_started_to_execution_succeeded(target: Target) -> None:
    target.register("greet", GREET)
    arn = target.runner.start("greet", {"who": "Ada"})
    finished(target.runner, arn)
    events = target.runner.history(arn)
    types = [e.type for e in events]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert {"PassStateEntered", "ChoiceStateEntered", "SucceedStateEntered"} <= set(types)
    assert json.loads(events[0].details["input"]) == {"who": "Ada"}
    assert [e.id for e in events] == sorted(e.id for e in events)


def test_executions_are_listed_newest_first_and_machines_by_name(
    target: Target, clock: FakeClock
) -> None:
    target.register("greet", GREET)
    finished(target.runner, target.runner.start("greet", {"who": "a"}, name="older"))
    clock.advance(1)
    time.sleep(0.01)  # moto stamps executions with the wall clock
    finished(target.runner, target.runner.start("greet", {"who": "b"}, name="newer"))
    assert [e.name for e in target.runner.list_executions("greet")] == ["newer", "older"]
    assert "greet" in target.runner.state_machines()


class ThrottledClient:
    """A Step Functions client whose every call is throttled."""

    def __getattr__(self, name: str) -> Any:
        from botocore.exceptions import ClientError  # noqa: TID251 - building a backend error

        def call(**_kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, name
            )

        return call


def test_backend_errors_become_port_errors() -> None:
    from stratus.platform.adapters.aws.workflow import StepFunctionsWorkflowRunner
    from stratus.platform.ports.errors import BackendUnavailableError

    runner = StepFunctionsWorkflowRunner(
        arns={"greet": "arn:aws:states:us-east-1:123456789012:stateMachine:greet"},
        client=ThrottledClient(),
    )
    with pytest.raises(BackendUnavailableError, match="ThrottlingException"):
        runner.start("greet", {})


def test_names_resolve_through_the_template_arn_map(moto_engine: MotoEngine) -> None:
    from stratus.platform.adapters.aws.workflow import StepFunctionsWorkflowRunner

    arn = moto_engine.sfn.create_state_machine(
        name="Greet-AbC123", definition=json.dumps(GREET), roleArn=moto_engine.role
    )["stateMachineArn"]
    runner = StepFunctionsWorkflowRunner(arns={"greet": arn}, client=moto_engine.sfn)
    execution = finished(runner, runner.start("greet", {"who": "Ada"}))
    assert execution.output == {"greeting": "Hi Ada"}
    assert isinstance(runner, WorkflowRunner)


def test_closing_the_local_runner_ends_a_wait_at_once_and_a_new_runner_resumes_it(tmp_path):
    """A three-minute Wait on the wall clock must not hold `stratus up`'s shutdown."""
    import time as _time

    from stratus.platform.adapters.local.clock import AcceleratedClock, SystemClock
    from stratus.platform.adapters.local.workflow import LocalWorkflowRunner

    definition = {
        "StartAt": "Sleep",
        "States": {
            "Sleep": {"Type": "Wait", "Seconds": 180, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "woke", "End": True},
        },
    }
    db = tmp_path / "wf.sqlite3"
    first = LocalWorkflowRunner(db, invoke=lambda r, p: p, clock=SystemClock())
    first.register("sleepy", definition)
    arn = first.start("sleepy", {})
    _time.sleep(0.3)
    started = _time.monotonic()
    first.close()
    assert _time.monotonic() - started < 5
    second = LocalWorkflowRunner(db, invoke=lambda r, p: p, clock=AcceleratedClock(10_000))
    second.register("sleepy", definition)
    try:
        assert second.wait(arn, timeout=10).output == "woke"
    finally:
        second.close()
