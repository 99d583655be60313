"""Differential tests: one definition, one input, two engines, one documented result.

Every case runs on the local ASL runner and on moto's Step Functions interpreter; both must
give the result the Step Functions documentation describes. Where moto departs from AWS the
moto half is marked ``xfail(strict=True)`` with the reason, so a fixed moto shows up.

Checked on the local runner only (tests/unit/asl), because moto cannot show them:
* task errors, States.TaskFailed and Task TimeoutSeconds: moto's no-Docker Lambda always
  succeeds at once (Retry/Catch are compared here on Parallel states with a failing branch);
* States.MathRandom: moto draws from [start, end], AWS documents [start, end);
* States.ArrayRange with a negative step: moto refuses it; the local runner counts down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.workflows.conftest import ECHO_ARN, LocalEngine, MotoEngine, Outcome

INPUT: dict[str, Any] = {
    "n": 4,
    "f": 1.5,
    "b": True,
    "s": "hello",
    "o": {"a": 1},
    "o2": {"b": 2},
    "arr": [1, 2, 3],
    "ts": "2026-01-01T00:00:00Z",
    "zero": 0,
    "nothing": None,
    "csv": "a,b;c",
}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


@dataclass(frozen=True)
class Case:
    """A definition, its input and the result AWS documents for it."""

    id: str
    definition: dict[str, Any]
    expected: Outcome
    input: Any = None
    moto_xfail: str | None = None
    counts: tuple[tuple[str, int], ...] = ()


def ok(output: Any) -> Outcome:
    return Outcome("SUCCEEDED", output)


def pass_with(parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": parameters, "End": True}},
    }


def choose(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }


def failing_branch(error: str = "Boom", cause: str = "it broke") -> dict[str, Any]:
    return {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": error, "Cause": cause}}}


CHOICE_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("numeric-equals", {"Variable": "$.n", "NumericEquals": 4}, "yes"),
    ("numeric-less-than", {"Variable": "$.f", "NumericLessThan": 1}, "no"),
    ("numeric-greater-than-equals", {"Variable": "$.n", "NumericGreaterThanEquals": 4}, "yes"),
    (
        "numeric-less-than-equals-path",
        {"Variable": "$.f", "NumericLessThanEqualsPath": "$.n"},
        "yes",
    ),
    ("string-equals", {"Variable": "$.s", "StringEquals": "hello"}, "yes"),
    ("string-greater-than", {"Variable": "$.s", "StringGreaterThan": "world"}, "no"),
    ("string-equals-path", {"Variable": "$.s", "StringEqualsPath": "$.csv"}, "no"),
    ("string-matches", {"Variable": "$.s", "StringMatches": "he*o"}, "yes"),
    ("boolean-equals", {"Variable": "$.b", "BooleanEquals": True}, "yes"),
    (
        "timestamp-less-than",
        {"Variable": "$.ts", "TimestampLessThan": "2030-01-01T00:00:00Z"},
        "yes",
    ),
    ("timestamp-equals", {"Variable": "$.ts", "TimestampEquals": "2026-01-01T00:00:01Z"}, "no"),
    ("is-present", {"Variable": "$.missing", "IsPresent": False}, "yes"),
    ("is-null", {"Variable": "$.nothing", "IsNull": True}, "yes"),
    ("is-numeric", {"Variable": "$.s", "IsNumeric": True}, "no"),
    ("is-string", {"Variable": "$.s", "IsString": True}, "yes"),
    ("is-boolean", {"Variable": "$.b", "IsBoolean": True}, "yes"),
    ("is-timestamp", {"Variable": "$.ts", "IsTimestamp": True}, "yes"),
    ("wrong-type-is-false", {"Variable": "$.s", "NumericEquals": 4}, "no"),
    (
        "and",
        {
            "And": [
                {"Variable": "$.n", "NumericGreaterThan": 1},
                {"Variable": "$.b", "BooleanEquals": True},
            ]
        },
        "yes",
    ),
    (
        "or",
        {
            "Or": [
                {"Variable": "$.n", "NumericLessThan": 1},
                {"Variable": "$.s", "StringEquals": "x"},
            ]
        },
        "no",
    ),
    ("not", {"Not": {"Variable": "$.s", "StringEquals": "x"}}, "yes"),
]

CASES: list[Case] = [
    Case(
        "task-lambda-invoke-payload",
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Parameters": {"FunctionName": ECHO_ARN, "Payload.$": "$.o"},
                    # moto returns {"StatusCode", "Payload"}; AWS adds metadata: compare Payload.
                    "OutputPath": "$.Payload",
                    "End": True,
                }
            },
        },
        ok({"a": 1}),
    ),
    Case(
        "task-lambda-invoke-result-selector-and-result-path",
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Parameters": {"FunctionName": "echo", "Payload": {"x.$": "$.n"}},
                    "ResultSelector": {"x.$": "$.Payload.x", "status.$": "$.StatusCode"},
                    "ResultPath": "$.result",
                    "OutputPath": "$.result",
                    "End": True,
                }
            },
        },
        ok({"x": 4, "status": 200}),
    ),
    Case(
        "task-direct-function-arn",
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": ECHO_ARN,
                    "InputPath": "$.o",
                    "Parameters": {"got.$": "$.a", "fixed": [1, {"k": "v"}]},
                    "End": True,
                }
            },
        },
        ok({"got": 1, "fixed": [1, {"k": "v"}]}),
    ),
    Case(
        "pass-result-result-path-output-path",
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "InputPath": "$.o",
                    "Result": {"z": 1},
                    "ResultPath": "$.res",
                    "OutputPath": "$.res",
                    "End": True,
                }
            },
        },
        ok({"z": 1}),
    ),
    Case(
        "pass-result-path-null-keeps-the-input",
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Result": 1,
                    "ResultPath": None,
                    "OutputPath": "$.o",
                    "End": True,
                }
            },
        },
        ok({"a": 1}),
    ),
    Case(
        "pass-result-path-creates-nested-fields",
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Result": 7,
                    "ResultPath": "$.x.y",
                    "OutputPath": "$.x",
                    "End": True,
                }
            },
        },
        ok({"y": 7}),
    ),
    Case(
        "pass-parameters-with-context-object",
        pass_with(
            {"state.$": "$$.State.Name", "n.$": "$$.Execution.Input.n", "first.$": "$.arr[0]"}
        ),
        ok({"state": "P", "n": 4, "first": 1}),
    ),
    Case(
        "input-path-to-a-missing-field-fails-with-states-runtime",
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}},
        Outcome("FAILED", error="States.Runtime"),
    ),
    Case(
        "wait-seconds",
        {
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 1, "OutputPath": "$.o", "End": True}},
        },
        ok({"a": 1}),
    ),
    Case(
        "wait-seconds-path",
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "SecondsPath": "$.zero", "OutputPath": "$.n", "End": True}
            },
        },
        ok(4),
    ),
    Case(
        "wait-timestamp-in-the-past",
        {
            "StartAt": "W",
            "States": {
                "W": {
                    "Type": "Wait",
                    "Timestamp": "2020-01-01T00:00:00Z",
                    "OutputPath": "$.s",
                    "End": True,
                }
            },
        },
        ok("hello"),
    ),
    Case(
        "wait-timestamp-path",
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "TimestampPath": "$.past", "OutputPath": "$.s", "End": True}
            },
        },
        ok("hello"),
        input={**INPUT, "past": "2020-06-01T12:00:00Z"},
    ),
    *[Case(f"choice-{name}", choose(rule), ok(result)) for name, rule, result in CHOICE_RULES],
    Case(
        "choice-without-match-or-default-fails",
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.n", "NumericEquals": 7, "Next": "S"}],
                },
                "S": {"Type": "Succeed"},
            },
        },
        Outcome("FAILED", error="States.NoChoiceMatched"),
        moto_xfail="moto 5.2 fails with States.Runtime, not States.NoChoiceMatched",
    ),
    Case(
        "map-items-path-item-selector-max-concurrency",
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.arr",
                    "MaxConcurrency": 2,
                    "ItemSelector": {
                        "i.$": "$$.Map.Item.Index",
                        "v.$": "$$.Map.Item.Value",
                        "s.$": "$.s",
                    },
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": ECHO_ARN, "End": True}},
                    },
                    "ResultPath": "$.out",
                    "OutputPath": "$.out",
                    "End": True,
                }
            },
        },
        ok(
            [
                {"i": 0, "v": 1, "s": "hello"},
                {"i": 1, "v": 2, "s": "hello"},
                {"i": 2, "v": 3, "s": "hello"},
            ]
        ),
    ),
    Case(
        "map-legacy-iterator-and-parameters",
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.arr",
                    "Parameters": {"v.$": "$$.Map.Item.Value"},
                    "Iterator": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "InputPath": "$.v", "End": True}},
                    },
                    "End": True,
                }
            },
        },
        ok([1, 2, 3]),
    ),
    Case(
        "parallel-results-in-branch-order",
        {
            "StartAt": "Par",
            "States": {
                "Par": {
                    "Type": "Parallel",
                    "End": True,
                    "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
                    "Branches": [
                        {
                            "StartAt": "A",
                            "States": {"A": {"Type": "Pass", "InputPath": "$.n", "End": True}},
                        },
                        {
                            "StartAt": "B",
                            "States": {
                                "B": {
                                    "Type": "Task",
                                    "Resource": ECHO_ARN,
                                    "InputPath": "$.o",
                                    "End": True,
                                }
                            },
                        },
                    ],
                }
            },
        },
        ok({"first": 4, "second": {"a": 1}}),
    ),
    Case(
        "succeed-with-output-path",
        {"StartAt": "S", "States": {"S": {"Type": "Succeed", "OutputPath": "$.arr"}}},
        ok([1, 2, 3]),
    ),
    Case(
        "fail-with-error-and-cause",
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "very bad"}}},
        Outcome("FAILED", error="Bad", cause="very bad"),
    ),
    Case(
        "fail-with-error-path-and-cause-path",
        {
            "StartAt": "F",
            "States": {
                "F": {"Type": "Fail", "ErrorPath": "$.s", "CausePath": "States.Format('n={}', $.n)"}
            },
        },
        Outcome("FAILED", error="hello", cause="n=4"),
    ),
    Case(
        "catch-puts-error-and-cause-at-result-path",
        {
            "StartAt": "Par",
            "States": {
                "Par": {
                    "Type": "Parallel",
                    "Branches": [failing_branch()],
                    "Next": "Done",
                    "Catch": [
                        {"ErrorEquals": ["Other"], "Next": "Done"},
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"},
                    ],
                },
                "Done": {"Type": "Pass", "InputPath": "$.err", "End": True},
            },
        },
        ok({"Error": "Boom", "Cause": "it broke"}),
    ),
    Case(
        "uncaught-branch-error-fails-the-execution",
        {
            "StartAt": "Par",
            "States": {
                "Par": {
                    "Type": "Parallel",
                    "Branches": [failing_branch()],
                    "End": True,
                    "Catch": [{"ErrorEquals": ["Other"], "Next": "Par"}],
                }
            },
        },
        Outcome("FAILED", error="Boom", cause="it broke"),
    ),
    Case(
        "retry-then-catch",
        {
            "StartAt": "Par",
            "States": {
                "Par": {
                    "Type": "Parallel",
                    "Branches": [failing_branch()],
                    "Next": "Done",
                    "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Done"}],
                },
                "Done": {"Type": "Pass", "OutputPath": "$.err.Error", "End": True},
            },
        },
        ok("Boom"),
        counts=(("FailStateEntered", 2),),
    ),
    Case(
        "retry-with-max-attempts-zero-does-not-retry",
        {
            "StartAt": "Par",
            "States": {
                "Par": {
                    "Type": "Parallel",
                    "Branches": [failing_branch()],
                    "End": True,
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                }
            },
        },
        Outcome("FAILED", error="Boom", cause="it broke"),
        counts=(("FailStateEntered", 1),),
    ),
    Case(
        "intrinsic-functions",
        pass_with(
            {
                "format.$": "States.Format('{} {} {} {}', $.n, $.f, $.b, $.s)",
                "json.$": "States.StringToJson('{\"k\":[1,2]}')",
                "string.$": "States.JsonToString($.o)",
                "array.$": "States.Array(1, 'two', $.o)",
                "partition.$": "States.ArrayPartition(States.ArrayRange(1, 7, 1), 3)",
                "contains.$": "States.ArrayContains($.arr, 2)",
                "range.$": "States.ArrayRange(1, 9, 2)",
                "item.$": "States.ArrayGetItem($.arr, 1)",
                "length.$": "States.ArrayLength($.arr)",
                "unique.$": "States.ArrayUnique(States.Array(1, 2, 2, 'x', 'x'))",
                "add.$": "States.MathAdd($.n, -3)",
                "split.$": "States.StringSplit($.csv, ',;')",
                "uuid_parts.$": "States.ArrayLength(States.StringSplit(States.UUID(), '-'))",
                "b64.$": "States.Base64Encode('hi')",
                "unb64.$": "States.Base64Decode('aGk=')",
                "sha256.$": "States.Hash('abc', 'SHA-256')",
                "md5.$": "States.Hash($.s, 'MD5')",
                "merged.$": "States.JsonMerge($.o, $.o2, false)",
            }
        ),
        ok(
            {
                "format": "4 1.5 true hello",
                "json": {"k": [1, 2]},
                "string": '{"a":1}',
                "array": [1, "two", {"a": 1}],
                "partition": [[1, 2, 3], [4, 5, 6], [7]],
                "contains": True,
                "range": [1, 3, 5, 7, 9],
                "item": 2,
                "length": 3,
                "unique": [1, 2, "x"],
                "add": 1,
                "split": ["a", "b", "c"],
                "uuid_parts": 5,
                "b64": "aGk=",
                "unb64": "hi",
                "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "md5": "5d41402abc4b2a76b9719d911017c592",
                "merged": {"a": 1, "b": 2},
            }
        ),
    ),
]


def _params(moto: bool) -> list[Any]:
    out = []
    for case in CASES:
        marks = []
        if moto and case.moto_xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.moto_xfail))
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def _check(outcome: Outcome, case: Case) -> None:
    expected = case.expected
    assert (outcome.status, outcome.output, outcome.error) == (
        expected.status,
        expected.output,
        expected.error,
    )
    if expected.cause is not None:
        assert outcome.cause == expected.cause
    for event_type, count in case.counts:
        assert outcome.count(event_type) == count, event_type


@pytest.mark.parametrize("case", _params(moto=False))
def test_local_runner_gives_the_documented_result(case: Case, local_engine: LocalEngine) -> None:
    _check(local_engine.run(case.definition, INPUT if case.input is None else case.input), case)


@pytest.mark.parametrize("case", _params(moto=True))
def test_moto_interpreter_gives_the_same_result(case: Case, moto_engine: MotoEngine) -> None:
    _check(moto_engine.run(case.definition, INPUT if case.input is None else case.input), case)


def test_every_moto_case_has_a_local_twin() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
