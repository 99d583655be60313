"""The rollout state machine's control flow on the local ASL runner, tasks scripted.

The definition file is the one Step Functions runs (substitutions applied as SAM does). The
tasks are scripted answers, so each path is checked on its own: the health loop, the
terminate loop, Catch → Rollback, Retry on transient errors, no targets. (moto's Step
Functions interpreter only echoes Lambda payloads, which cannot drive these Choice loops, so
there is no moto differential for this machine; tests/functional/amirollout runs it with the
real handlers.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.workflow import LocalWorkflowRunner
from stratus.platform.asl import TaskFailedError

DEFINITION = (
    Path(__file__).resolve().parents[3]
    / "src/stratus/solutions/amirollout/infra/statemachines/rollout.asl.json"
)
STEPS = ("UpdateAmi", "ScaleOut", "CheckHealth", "TerminateOld", "Rollback", "SendReport")
INPUT = {"image_arn": "arn:img", "ami_id": "ami-new", "image_name": "web-image"}


def definition() -> dict[str, Any]:
    text = DEFINITION.read_text()
    for step in STEPS:
        text = text.replace(
            "${" + step + "FunctionArn}", f"arn:aws:lambda:us-east-1:1:function:{step}"
        )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


Script = dict[str, Callable[[dict[str, Any]], Any]]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Callable[[Script], tuple[Any, list[tuple[str, Any]]]]]:
    runners: list[LocalWorkflowRunner] = []

    def run(script: Script) -> tuple[Any, list[tuple[str, Any]]]:
        calls: list[tuple[str, Any]] = []

        def invoke(resource: str, payload: Any) -> Any:
            step = str(payload["FunctionName"]).rsplit(":", 1)[-1]
            calls.append((step, payload["Payload"]))
            return script[step](payload["Payload"])

        runner = LocalWorkflowRunner(
            tmp_path / f"wf{len(runners)}.sqlite3", invoke=invoke, clock=FakeClock()
        )
        runners.append(runner)
        arn = runner.register("rollout", definition())
        execution = runner.wait(runner.start(arn, INPUT), timeout=30)
        return execution, calls

    yield run
    for runner in runners:
        runner.close()


def targets(*names: str) -> dict[str, Any]:
    return {
        "targets": [
            {"image_arn": "arn:img", "ami_id": "ami-new", "asg_arn": f"arn:{n}", "asg_name": n}
            for n in names
        ],
        "count": len(names),
    }


def answers(results: list[Any]) -> Callable[[dict[str, Any]], Any]:
    """Answer each call with the next result (an exception is raised)."""
    pending = list(results)

    def answer(_: dict[str, Any]) -> Any:
        value = pending.pop(0) if len(pending) > 1 else pending[0]
        if isinstance(value, Exception):
            raise value
        return value

    return answer


def report(_: dict[str, Any]) -> dict[str, Any]:
    return {"sent": True, "subject": "s", "rolled_back": False}


def test_each_asg_waits_for_health_then_terminates_until_done_then_one_report(run: Any) -> None:
    execution, calls = run(
        {
            "UpdateAmi": lambda _: targets("web", "api"),
            "ScaleOut": lambda _: {"wait_s": 15},
            "CheckHealth": answers(
                [{"status": "WAIT", "wait_s": 15}, {"status": "HEALTHY", "wait_s": 15}]
            ),
            "TerminateOld": answers([{"done": False, "wait_s": 15}, {"done": True, "wait_s": 15}]),
            "SendReport": report,
        }
    )

    assert execution.status == "SUCCEEDED"
    steps = [step for step, _ in calls]
    assert steps[0] == "UpdateAmi"
    assert steps[-1] == "SendReport"
    assert steps.count("ScaleOut") == 2
    assert "Rollback" not in steps
    web = [s for s, p in calls if p.get("asg_name") == "web"]
    assert web == ["ScaleOut", "CheckHealth", "CheckHealth", "TerminateOld", "TerminateOld"]


def test_a_health_timeout_is_caught_and_rolls_that_asg_back_with_the_error(run: Any) -> None:
    timeout = TaskFailedError("RolloutHealthTimeoutError", "0 of 2 healthy after 900 s")
    execution, calls = run(
        {
            "UpdateAmi": lambda _: targets("web"),
            "ScaleOut": lambda _: {"wait_s": 15},
            "CheckHealth": answers([timeout]),
            "TerminateOld": lambda _: {"done": True, "wait_s": 15},
            "Rollback": lambda _: {"rolled_back": True},
            "SendReport": report,
        }
    )

    assert execution.status == "SUCCEEDED"
    rollback = [p for s, p in calls if s == "Rollback"]
    assert len(rollback) == 1
    assert rollback[0]["asg_name"] == "web"
    assert rollback[0]["error"]["Error"] == "RolloutHealthTimeoutError"
    assert "TerminateOld" not in [s for s, _ in calls]
    assert [s for s, _ in calls][-1] == "SendReport"


def test_a_transient_backend_error_is_retried(run: Any) -> None:
    throttled = TaskFailedError("BackendUnavailableError", "Throttling: Rate exceeded")
    execution, calls = run(
        {
            "UpdateAmi": lambda _: targets("web"),
            "ScaleOut": answers([throttled, {"wait_s": 15}]),
            "CheckHealth": lambda _: {"status": "HEALTHY", "wait_s": 15},
            "TerminateOld": lambda _: {"done": True, "wait_s": 15},
            "SendReport": report,
        }
    )

    assert execution.status == "SUCCEEDED"
    assert [s for s, _ in calls].count("ScaleOut") == 2
    assert "Rollback" not in [s for s, _ in calls]


def test_no_opted_in_asg_still_sends_the_report(run: Any) -> None:
    execution, calls = run({"UpdateAmi": lambda _: targets(), "SendReport": report})

    assert execution.status == "SUCCEEDED"
    assert [s for s, _ in calls] == ["UpdateAmi", "SendReport"]
    assert execution.output == {"sent": True, "subject": "s", "rolled_back": False}


def test_a_failing_update_ami_is_caught_and_reverted_then_reported(run: Any) -> None:
    refused = TaskFailedError("InvalidRequestError", "ValidationError on web-b")
    execution, calls = run(
        {
            "UpdateAmi": answers([refused]),
            "Rollback": lambda _: {"rolled_back": True, "reverted": ["web-a", "web-b"]},
            "SendReport": report,
        }
    )

    assert execution.status == "SUCCEEDED"  # a clean rollback
    assert [s for s, _ in calls] == ["UpdateAmi", "Rollback", "SendReport"]
    revert = calls[1][1]
    assert revert["scope"] == "update"
    assert revert["image_arn"] == "arn:img"
    assert revert["error"] == {"Error": "InvalidRequestError", "Cause": "ValidationError on web-b"}


def test_a_transient_error_in_update_ami_is_retried_not_reverted(run: Any) -> None:
    throttled = TaskFailedError("BackendUnavailableError", "Throttling: Rate exceeded")
    execution, calls = run(
        {
            "UpdateAmi": answers([throttled, targets("web")]),
            "ScaleOut": lambda _: {"wait_s": 15},
            "CheckHealth": lambda _: {"status": "HEALTHY", "wait_s": 15},
            "TerminateOld": lambda _: {"done": True, "wait_s": 15},
            "SendReport": report,
        }
    )

    assert execution.status == "SUCCEEDED"
    steps = [s for s, _ in calls]
    assert steps[:2] == ["UpdateAmi", "UpdateAmi"]
    assert "Rollback" not in steps


def test_an_alarm_raised_by_a_later_termination_batch_stops_the_loop_and_rolls_back(
    run: Any,
) -> None:
    alarm = TaskFailedError("RolloutAlarmError", "web-5xx in ALARM during the termination")
    execution, calls = run(
        {
            "UpdateAmi": lambda _: targets("web"),
            "ScaleOut": lambda _: {"wait_s": 15},
            "CheckHealth": lambda _: {"status": "HEALTHY", "wait_s": 15},
            "TerminateOld": answers([{"done": False, "wait_s": 15}, alarm]),
            "Rollback": lambda _: {"rolled_back": True},
            "SendReport": report,
        }
    )

    assert execution.status == "SUCCEEDED"
    steps = [s for s, _ in calls]
    assert steps == [
        "UpdateAmi",
        "ScaleOut",
        "CheckHealth",
        "TerminateOld",
        "TerminateOld",
        "Rollback",
        "SendReport",
    ]
    rollback = calls[5][1]
    assert rollback["asg_name"] == "web"
    assert rollback["error"]["Error"] == "RolloutAlarmError"


class ProcessKilledError(BaseException):
    """Not an Exception: nothing catches it, as nothing survives a killed process."""


def test_a_runner_killed_inside_update_ami_resumes_into_it_and_its_interruption_reverts(
    tmp_path: Path,
) -> None:
    """The first runner "dies" inside UpdateAmi; a second one on the same file resumes the
    execution from UpdateAmi, which reports the interruption (as the real step does): the
    Catch sends it to RevertUpdate, then the report."""
    calls: list[tuple[str, Any]] = []
    attempts = {"UpdateAmi": 0}

    def invoke(resource: str, payload: Any) -> Any:
        step = str(payload["FunctionName"]).rsplit(":", 1)[-1]
        calls.append((step, payload["Payload"]))
        if step == "UpdateAmi":
            attempts["UpdateAmi"] += 1
            if attempts["UpdateAmi"] == 1:
                raise ProcessKilledError
            raise TaskFailedError("RolloutInterruptedError", "UpdateAmi was interrupted")
        if step == "Rollback":
            return {"rolled_back": True, "reverted": ["web"]}
        return report(payload["Payload"])

    db = tmp_path / "wf.sqlite3"
    first = LocalWorkflowRunner(db, invoke=invoke, clock=FakeClock())
    arn = first.start(first.register("rollout", definition()), INPUT)
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert first.describe(arn).status == "RUNNING"
    first.close()

    second = LocalWorkflowRunner(db, invoke=invoke, clock=FakeClock())  # resumes on opening
    try:
        execution = second.wait(arn, timeout=30)
    finally:
        second.close()

    assert execution.status == "SUCCEEDED"
    assert [s for s, _ in calls] == ["UpdateAmi", "UpdateAmi", "Rollback", "SendReport"]
    assert calls[2][1]["scope"] == "update"
    assert calls[2][1]["error"]["Error"] == "RolloutInterruptedError"
