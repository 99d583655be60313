"""Every state type, Retry/Catch and task errors on the pure interpreter, with a FakeClock."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.asl import Interpreter, StatesError, TaskFailedError

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
FN = "arn:aws:lambda:us-east-1:000000000000:function:work"


class Recorder:
    """A task invoker that records its calls and replays scripted outcomes."""

    def __init__(self, *outcomes: Any) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.outcomes = list(outcomes)

    def __call__(self, resource: str, payload: Any) -> Any:
        self.calls.append((resource, payload))
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return payload


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def run(
    definition: dict[str, Any],
    data: Any,
    invoke: Any = None,
    clock: FakeClock | None = None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
) -> Any:
    interpreter = Interpreter(definition, invoke=invoke or Recorder(), clock=clock or FakeClock())
    sink = (lambda t, d: events.append((t, d))) if events is not None else None
    return interpreter.run(data, on_event=sink)


def failure(
    definition: dict[str, Any], data: Any, invoke: Any = None, clock: FakeClock | None = None
) -> StatesError:
    with pytest.raises(StatesError) as err:
        run(definition, data, invoke, clock)
    return err.value


# -- Task ------------------------------------------------------------------------------------


def test_lambda_invoke_wraps_the_function_result_as_step_functions_does() -> None:
    invoke = Recorder({"ok": True})
    out = run(
        machine(
            T={
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "End": True,
                "Parameters": {"FunctionName": "work", "Payload.$": "$"},
            }
        ),
        {"n": 1},
        invoke,
    )
    assert invoke.calls == [(LAMBDA_INVOKE, {"FunctionName": "work", "Payload": {"n": 1}})]
    assert out["Payload"] == {"ok": True}
    assert out["StatusCode"] == 200
    assert out["ExecutedVersion"] == "$LATEST"
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert out["SdkResponseMetadata"]["RequestId"]


def test_a_direct_function_arn_returns_the_function_result_unwrapped() -> None:
    invoke = Recorder({"ok": True})
    out = run(machine(T={"Type": "Task", "Resource": FN, "End": True}), {"n": 1}, invoke)
    assert out == {"ok": True}
    assert invoke.calls == [(FN, {"n": 1})]


def test_other_service_integrations_go_to_the_invoker_with_their_parameters() -> None:
    invoke = Recorder({"MessageId": "m-1"})
    resource = "arn:aws:states:::sqs:sendMessage"
    out = run(
        machine(
            T={
                "Type": "Task",
                "Resource": resource,
                "End": True,
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$.body"},
                "ResultPath": "$.sent",
            }
        ),
        {"body": "hi"},
        invoke,
    )
    assert invoke.calls == [(resource, {"QueueUrl": "q", "MessageBody": "hi"})]
    assert out == {"body": "hi", "sent": {"MessageId": "m-1"}}


def test_wait_for_task_token_passes_a_token_and_returns_the_callback_output() -> None:
    invoke = Recorder({"approved": True})
    resource = LAMBDA_INVOKE + ".waitForTaskToken"
    out = run(
        machine(
            T={
                "Type": "Task",
                "Resource": resource,
                "End": True,
                "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            }
        ),
        {},
        invoke,
    )
    assert out == {"approved": True}
    assert invoke.calls[0][1]["Payload"]["token"]


def test_a_python_exception_becomes_an_error_named_after_its_class_with_a_lambda_cause() -> None:
    err = failure(
        machine(T={"Type": "Task", "Resource": FN, "End": True}),
        {},
        Recorder(ValueError("bad amount")),
    )
    assert err.error == "ValueError"
    cause = json.loads(err.cause or "")
    assert cause["errorMessage"] == "bad amount"
    assert cause["errorType"] == "ValueError"
    assert isinstance(cause["stackTrace"], list)


def test_a_task_failed_error_keeps_its_error_and_cause() -> None:
    err = failure(
        machine(T={"Type": "Task", "Resource": FN, "End": True}),
        {},
        Recorder(TaskFailedError("Payment.Declined", "card expired")),
    )
    assert (err.error, err.cause) == ("Payment.Declined", "card expired")


def test_a_task_running_longer_than_its_timeout_fails_with_states_timeout() -> None:
    clock = FakeClock()

    def slow(_resource: str, payload: Any) -> Any:
        clock.sleep(30)
        return payload

    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "TimeoutSeconds": 10,
            "Next": "Done",
            "Catch": [
                {"ErrorEquals": ["States.TaskFailed"], "Next": "Done"},
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Done"},
            ],
        },
        Done={"Type": "Pass", "End": True},
    )
    out = run(definition, {"a": 1}, slow, clock)
    assert out["timeout"]["Error"] == "States.Timeout"


def test_a_task_within_its_timeout_succeeds() -> None:
    out = run(
        machine(T={"Type": "Task", "Resource": FN, "TimeoutSeconds": 10, "End": True}), {"a": 1}
    )
    assert out == {"a": 1}


# -- Retry and Catch ---------------------------------------------------------------------------


def test_retry_waits_interval_times_backoff_on_the_clock_then_succeeds() -> None:
    clock = FakeClock()
    start = clock.now()
    boom = TaskFailedError("Flaky", "try again")
    invoke = Recorder(boom, boom, boom, "finally")
    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "End": True,
            "Retry": [
                {"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}
            ],
        }
    )
    assert run(definition, {}, invoke, clock) == "finally"
    assert len(invoke.calls) == 4
    assert clock.now() - start == timedelta(seconds=2 + 6 + 18)


def test_max_delay_seconds_caps_the_backoff() -> None:
    clock = FakeClock()
    start = clock.now()
    boom = TaskFailedError("Flaky", "")
    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "End": True,
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": 10,
                    "BackoffRate": 10,
                    "MaxAttempts": 3,
                    "MaxDelaySeconds": 15,
                }
            ],
        }
    )
    run(definition, {}, Recorder(boom, boom, boom, "ok"), clock)
    assert clock.now() - start == timedelta(seconds=10 + 15 + 15)


def test_retry_defaults_to_three_attempts_then_the_error_goes_to_catch() -> None:
    boom = TaskFailedError("Flaky", "still failing")
    invoke = Recorder(boom, boom, boom, boom, "never")
    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "Next": "Done",
            "Retry": [{"ErrorEquals": ["Flaky"]}],
            "Catch": [{"ErrorEquals": ["Flaky"], "ResultPath": "$.error", "Next": "Done"}],
        },
        Done={"Type": "Pass", "End": True},
    )
    out = run(definition, {"id": 7}, invoke)
    assert len(invoke.calls) == 4
    assert out == {"id": 7, "error": {"Error": "Flaky", "Cause": "still failing"}}


def test_max_attempts_zero_never_retries() -> None:
    invoke = Recorder(TaskFailedError("Flaky", ""), "unused")
    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "End": True,
            "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 0}],
        }
    )
    assert failure(definition, {}, invoke).error == "Flaky"
    assert len(invoke.calls) == 1


def test_the_first_matching_retrier_decides() -> None:
    invoke = Recorder(TaskFailedError("A", ""), "ok")
    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "End": True,
            "Retry": [
                {"ErrorEquals": ["A"], "MaxAttempts": 0},
                {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
            ],
        }
    )
    assert failure(definition, {}, invoke).error == "A"


def test_states_task_failed_matches_task_errors_but_not_timeouts() -> None:
    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Done"}],
        },
        Done={"Type": "Pass", "Result": "caught", "End": True},
    )
    assert run(definition, {}, Recorder(KeyError("k"))) == "caught"
    assert failure(definition, {}, Recorder(TaskFailedError("States.Timeout", ""))).error == (
        "States.Timeout"
    )


def test_states_all_does_not_catch_states_runtime() -> None:
    definition = machine(
        P={"Type": "Pass", "InputPath": "$.missing", "Next": "Done"},
        Done={"Type": "Pass", "End": True},
    )
    definition["States"]["P"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Done"}]
    assert failure(definition, {}).error == "States.Runtime"


def test_catch_result_path_applies_to_the_raw_state_input() -> None:
    definition = machine(
        T={
            "Type": "Task",
            "Resource": FN,
            "InputPath": "$.inner",
            "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
        },
        Done={"Type": "Pass", "End": True},
    )
    out = run(definition, {"inner": {"x": 1}, "keep": True}, Recorder(TaskFailedError("E", "c")))
    assert out == {"inner": {"x": 1}, "keep": True, "err": {"Error": "E", "Cause": "c"}}


# -- Pass, Wait, Choice, Succeed, Fail -------------------------------------------------------------


def test_pass_applies_input_path_parameters_result_path_and_output_path_in_order() -> None:
    definition = machine(
        P={
            "Type": "Pass",
            "InputPath": "$.order",
            "Parameters": {"id.$": "$.id", "src": "web"},
            "ResultPath": "$.order.summary",
            "OutputPath": "$.order",
            "End": True,
        }
    )
    out = run(definition, {"order": {"id": 9, "total": 3}, "other": 1})
    assert out == {"id": 9, "total": 3, "summary": {"id": 9, "src": "web"}}


def test_a_three_minute_wait_advances_the_fake_clock_by_180_seconds() -> None:
    clock = FakeClock()
    start = clock.now()
    run(machine(W={"Type": "Wait", "Seconds": 180, "End": True}), {}, clock=clock)
    assert clock.now() - start == timedelta(seconds=180)


def test_wait_seconds_path_reads_the_input() -> None:
    clock = FakeClock()
    start = clock.now()
    run(
        machine(W={"Type": "Wait", "SecondsPath": "$.delay", "End": True}),
        {"delay": 42},
        clock=clock,
    )
    assert clock.now() - start == timedelta(seconds=42)


def test_wait_timestamp_sleeps_until_that_instant() -> None:
    clock = FakeClock()
    target = clock.now() + timedelta(hours=2)
    stamp = target.strftime("%Y-%m-%dT%H:%M:%SZ")
    run(
        machine(W={"Type": "Wait", "TimestampPath": "$.at", "End": True}),
        {"at": stamp},
        clock=clock,
    )
    assert clock.now() == target


def test_a_negative_wait_is_a_runtime_error() -> None:
    assert failure(
        machine(W={"Type": "Wait", "SecondsPath": "$.d", "End": True}), {"d": -1}
    ).error == ("States.Runtime")


def test_choice_follows_the_first_matching_rule_and_applies_output_path() -> None:
    definition = machine(
        C={
            "Type": "Choice",
            "OutputPath": "$.v",
            "Default": "Low",
            "Choices": [
                {"Variable": "$.v", "NumericGreaterThan": 100, "Next": "High"},
                {"Variable": "$.v", "NumericGreaterThan": 10, "Next": "Mid"},
            ],
        },
        High={"Type": "Pass", "Result": "high", "End": True},
        Mid={"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True},
        Low={"Type": "Pass", "Result": "low", "End": True},
    )
    assert run(definition, {"v": 50}) == {"v": 50}
    assert run(definition, {"v": 500}) == "high"
    assert run(definition, {"v": 1}) == "low"


def test_choice_without_a_match_or_default_fails_with_no_choice_matched() -> None:
    definition = machine(
        C={"Type": "Choice", "Choices": [{"Variable": "$.v", "StringEquals": "x", "Next": "S"}]},
        S={"Type": "Succeed"},
    )
    assert failure(definition, {"v": "y"}).error == "States.NoChoiceMatched"


def test_succeed_stops_the_machine_with_its_output() -> None:
    definition = machine(S={"Type": "Succeed", "InputPath": "$.a"}, Never={"Type": "Fail"})
    assert run(definition, {"a": [1]}) == [1]


def test_fail_reports_error_and_cause_from_paths() -> None:
    definition = machine(
        F={
            "Type": "Fail",
            "ErrorPath": "$.code",
            "CausePath": "States.Format('order {} failed', $.id)",
        }
    )
    err = failure(definition, {"code": "Order.Failed", "id": 3})
    assert (err.error, err.cause) == ("Order.Failed", "order 3 failed")


# -- Map and Parallel ------------------------------------------------------------------------


def test_map_runs_up_to_max_concurrency_items_at_once_and_keeps_order() -> None:
    lock = threading.Lock()
    running = [0, 0]  # now, peak
    together = threading.Barrier(2, timeout=10)

    def work(_resource: str, payload: Any) -> Any:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        together.wait()  # passes only when two items run at the same time
        with lock:
            running[0] -= 1
        return payload["v"] * 10

    definition = machine(
        M={
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "End": True,
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            "ItemProcessor": {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": FN, "End": True}},
            },
        }
    )
    assert run(definition, {"items": [1, 2, 3, 4, 5, 6]}, work) == [10, 20, 30, 40, 50, 60]
    assert running[1] == 2


def test_map_with_max_concurrency_one_runs_items_one_by_one() -> None:
    order: list[int] = []
    definition = machine(
        M={
            "Type": "Map",
            "MaxConcurrency": 1,
            "End": True,
            "Iterator": {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": FN, "End": True}},
            },
        }
    )
    run(definition, [3, 1, 2], lambda _r, p: order.append(p))
    assert order == [3, 1, 2]


def test_a_failing_map_item_fails_the_map_and_catch_handles_it() -> None:
    def work(_resource: str, payload: Any) -> Any:
        if payload == 2:
            raise TaskFailedError("Item.Bad", "item 2")
        return payload

    definition = machine(
        M={
            "Type": "Map",
            "Next": "Done",
            "Iterator": {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": FN, "End": True}},
            },
            "Catch": [{"ErrorEquals": ["Item.Bad"], "Next": "Done"}],
        },
        Done={"Type": "Pass", "End": True},
    )
    assert run(definition, [1, 2, 3], work) == {"Error": "Item.Bad", "Cause": "item 2"}


def test_a_map_over_a_non_array_is_a_runtime_error() -> None:
    definition = machine(
        M={
            "Type": "Map",
            "ItemsPath": "$.x",
            "End": True,
            "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        }
    )
    assert failure(definition, {"x": {"not": "a list"}}).error == "States.Runtime"


def test_parallel_gives_each_branch_the_input_and_returns_results_in_branch_order() -> None:
    definition = machine(
        P={
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {
                    "StartAt": "A",
                    "States": {
                        "A": {"Type": "Wait", "Seconds": 5, "Next": "A2"},
                        "A2": {"Type": "Pass", "InputPath": "$.a", "End": True},
                    },
                },
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Pass", "InputPath": "$.b", "End": True}},
                },
            ],
        }
    )
    assert run(definition, {"a": 1, "b": 2}) == [1, 2]


def test_a_failing_branch_fails_the_parallel_state() -> None:
    definition = machine(
        P={
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "F",
                    "States": {"F": {"Type": "Fail", "Error": "Branch", "Cause": "b"}},
                },
            ],
        }
    )
    assert failure(definition, {}).error == "Branch"


# -- events and checkpoints ------------------------------------------------------------------


def test_events_use_step_functions_type_names() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    definition = machine(
        T={
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Next": "W",
            "Parameters": {"FunctionName": "f", "Payload": {}},
        },
        W={"Type": "Wait", "Seconds": 1, "Next": "C"},
        C={
            "Type": "Choice",
            "Choices": [{"Variable": "$.StatusCode", "NumericEquals": 200, "Next": "S"}],
        },
        S={"Type": "Succeed"},
    )
    run(definition, {}, events=events)
    assert [t for t, _ in events] == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
    ]
    assert events[1][1]["resourceType"] == "lambda"
    assert events[1][1]["resource"] == "invoke"


def test_checkpoints_name_each_top_level_state_with_its_input() -> None:
    checkpoints: list[tuple[str, Any]] = []
    definition = machine(
        A={"Type": "Pass", "Result": {"x": 1}, "Next": "M"},
        M={
            "Type": "Map",
            "ItemsPath": "$.items",
            "End": True,
            "ResultPath": "$.r",
            "Iterator": {"StartAt": "In", "States": {"In": {"Type": "Pass", "End": True}}},
        },
    )
    definition["States"]["A"]["Result"] = {"items": [1, 2]}
    Interpreter(definition, invoke=Recorder(), clock=FakeClock()).run(
        {}, on_checkpoint=lambda s, d: checkpoints.append((s, d))
    )
    assert checkpoints == [("A", {}), ("M", {"items": [1, 2]})]


def test_run_can_resume_at_a_named_state_with_its_input() -> None:
    definition = machine(
        A={"Type": "Fail", "Error": "NotHere"},
        B={"Type": "Pass", "Parameters": {"got.$": "$.v"}, "End": True},
    )
    out = Interpreter(definition, invoke=Recorder(), clock=FakeClock()).run({"v": 5}, start_at="B")
    assert out == {"got": 5}
