"""LocalWorkflowRunner: asynchronous executions persisted in SQLite, with a FakeClock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.workflow import LocalWorkflowRunner
from stratus.platform.ports.errors import ConditionFailedError, InvalidRequestError, NotFoundError
from stratus.platform.ports.workflow import WorkflowRunner

FN = "arn:aws:lambda:us-east-1:000000000000:function:work"
CHAIN = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 180, "Next": "Work"},
        "Work": {"Type": "Task", "Resource": FN, "ResultPath": "$.result", "End": True},
    },
}


def double(_resource: str, payload: Any) -> Any:
    return payload["n"] * 2


@pytest.fixture
def runner(tmp_path: Path, clock: FakeClock) -> Iterator[LocalWorkflowRunner]:
    r = LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=double, clock=clock)
    r.register("chain", CHAIN)
    yield r
    r.close()


def test_the_runner_implements_the_workflow_runner_port(runner: LocalWorkflowRunner) -> None:
    assert isinstance(runner, WorkflowRunner)


def test_register_returns_the_state_machine_arn(runner: LocalWorkflowRunner) -> None:
    assert runner.register("other", json.dumps(CHAIN)) == (
        "arn:aws:states:us-east-1:000000000000:stateMachine:other"
    )
    assert runner.state_machines() == ["chain", "other"]


def test_an_invalid_definition_is_refused_with_every_problem_listed(
    runner: LocalWorkflowRunner,
) -> None:
    bad = {"StartAt": "X", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    with pytest.raises(InvalidRequestError) as err:
        runner.register("bad", bad)
    assert "StartAt 'X' is not a state" in str(err.value)
    assert "state 'A': Next 'B' is not a state" in str(err.value)


def test_a_three_minute_wait_finishes_at_once_on_a_fake_clock(
    runner: LocalWorkflowRunner, clock: FakeClock
) -> None:
    start = clock.now()
    execution = runner.start_sync("chain", {"n": 21}, name="first")
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"n": 21, "result": 42}
    assert execution.name == "first"
    assert execution.execution_arn == "arn:aws:states:us-east-1:000000000000:execution:chain:first"
    assert clock.now() - start == timedelta(seconds=180)
    assert execution.stopped_at is not None
    assert execution.started_at is not None
    assert execution.stopped_at - execution.started_at == timedelta(seconds=180)


def test_start_returns_before_the_execution_ends(tmp_path: Path, clock: FakeClock) -> None:
    release = threading.Event()

    def blocked(_resource: str, payload: Any) -> Any:
        release.wait(10)
        return payload

    with LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=blocked, clock=clock) as r:
        r.register(
            "t", {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": True}}}
        )
        arn = r.start("t", {"a": 1})
        assert r.describe(arn).status == "RUNNING"
        release.set()
        assert r.wait(arn).output == {"a": 1}


def test_starting_again_with_the_same_name_and_input_returns_the_same_execution(
    runner: LocalWorkflowRunner,
) -> None:
    first = runner.start("chain", {"n": 1}, name="once")
    assert runner.start("chain", {"n": 1}, name="once") == first
    assert len(runner.list_executions("chain")) == 1


def test_starting_again_with_the_same_name_and_another_input_is_refused(
    runner: LocalWorkflowRunner,
) -> None:
    runner.start("chain", {"n": 1}, name="once")
    with pytest.raises(ConditionFailedError):
        runner.start("chain", {"n": 2}, name="once")


def test_the_state_machine_may_be_named_by_its_arn(runner: LocalWorkflowRunner) -> None:
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:chain"
    assert runner.start_sync(arn, {"n": 2}).status == "SUCCEEDED"


def test_unknown_machines_and_executions_are_not_found(runner: LocalWorkflowRunner) -> None:
    with pytest.raises(NotFoundError):
        runner.start("nope", {})
    with pytest.raises(NotFoundError):
        runner.describe("arn:aws:states:us-east-1:000000000000:execution:chain:none")
    with pytest.raises(NotFoundError):
        runner.history("arn:aws:states:us-east-1:000000000000:execution:chain:none")


def test_an_invalid_execution_name_is_refused(runner: LocalWorkflowRunner) -> None:
    with pytest.raises(InvalidRequestError):
        runner.start("chain", {}, name="has space")


def test_the_history_records_every_step_in_order(runner: LocalWorkflowRunner) -> None:
    execution = runner.start_sync("chain", {"n": 1})
    events = runner.history(execution.execution_arn)
    assert [e.type for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert json.loads(events[0].details["input"]) == {"n": 1}
    assert events[3].timestamp + timedelta(seconds=180) == events[4].timestamp


def test_a_handler_exception_fails_the_execution_with_a_lambda_shaped_error(
    tmp_path: Path, clock: FakeClock
) -> None:
    def broken(_resource: str, _payload: Any) -> Any:
        raise RuntimeError("disk full")

    with LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=broken, clock=clock) as r:
        r.register(
            "t", {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": True}}}
        )
        execution = r.start_sync("t", {})
        assert execution.status == "FAILED"
        assert execution.error == "RuntimeError"
        assert json.loads(execution.cause or "")["errorMessage"] == "disk full"
        assert r.history(execution.execution_arn)[-1].type == "ExecutionFailed"


def test_a_fail_state_without_error_leaves_error_empty(runner: LocalWorkflowRunner) -> None:
    runner.register("f", {"StartAt": "F", "States": {"F": {"Type": "Fail"}}})
    execution = runner.start_sync("f", {})
    assert (execution.status, execution.error, execution.cause) == ("FAILED", None, None)


def test_executions_are_listed_newest_first(runner: LocalWorkflowRunner, clock: FakeClock) -> None:
    runner.start_sync("chain", {"n": 1}, name="old")
    clock.advance(60)
    runner.start_sync("chain", {"n": 2}, name="new")
    assert [e.name for e in runner.list_executions("chain")] == ["new", "old"]


def test_executions_and_history_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    with LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=double, clock=clock) as first:
        first.register("chain", CHAIN)
        arn = first.start_sync("chain", {"n": 5}).execution_arn
        events = first.history(arn)
    with LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=double, clock=clock) as second:
        assert second.describe(arn).output == {"n": 5, "result": 10}
        assert second.history(arn) == events
        assert second.state_machines() == ["chain"]


KILLED_PROCESS = """
import json, os, signal, sys
from pathlib import Path
from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.workflow import LocalWorkflowRunner

def die(resource, payload):
    os.kill(os.getpid(), signal.SIGKILL)  # the process is killed inside the 'Work' task

runner = LocalWorkflowRunner(Path(sys.argv[1]), invoke=die, clock=FakeClock())
runner.register("chain", json.loads(sys.argv[2]))
runner.wait(runner.start("chain", {"n": 4, "extra": "dropped by Prepare"}, name="killed"))
"""


def test_an_execution_of_a_killed_process_resumes_from_its_last_state(
    tmp_path: Path, clock: FakeClock
) -> None:
    """GIVEN a process killed inside 'Work', WHEN a runner opens the store, THEN the execution
    resumes at 'Work' with the input 'Work' was given; earlier states do not run again."""
    db = tmp_path / "wf.sqlite3"
    script = tmp_path / "killed.py"
    script.write_text(KILLED_PROCESS)
    done = subprocess.run(
        [sys.executable, str(script), str(db), json.dumps(CHAIN)],
        check=False,
        timeout=60,
        capture_output=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    calls: list[Any] = []

    def works(resource: str, payload: Any) -> Any:
        calls.append(payload)
        return double(resource, payload)

    with LocalWorkflowRunner(db, invoke=works, clock=clock) as runner:
        arn = "arn:aws:states:us-east-1:000000000000:execution:chain:killed"
        execution = runner.wait(arn, timeout=30)
        assert execution.status == "SUCCEEDED"
        assert execution.output == {"n": 4, "result": 8}
        assert calls == [{"n": 4}]
        types = [e.type for e in runner.history(arn)]
        assert types.count("PassStateEntered") == 1  # Prepare did not run again
        assert types.count("TaskStateEntered") == 2  # Work: entered by both processes


def test_a_second_runner_on_the_same_store_leaves_live_executions_alone(
    tmp_path: Path, clock: FakeClock
) -> None:
    release = threading.Event()
    calls: list[str] = []

    def blocked(_resource: str, payload: Any) -> Any:
        calls.append("first")
        release.wait(10)
        return payload

    def other(_resource: str, payload: Any) -> Any:
        calls.append("second")
        return payload

    first = LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=blocked, clock=clock)
    try:
        first.register(
            "t", {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": True}}}
        )
        arn = first.start("t", {"a": 1})
        with LocalWorkflowRunner(tmp_path / "wf.sqlite3", invoke=other, clock=clock) as second:
            assert second.resume() == []
            assert second.describe(arn).status == "RUNNING"
        release.set()
        assert first.wait(arn).status == "SUCCEEDED"
        assert calls == ["first"]
    finally:
        release.set()
        first.close()
