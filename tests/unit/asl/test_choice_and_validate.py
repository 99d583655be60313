"""Choice rules and load-time validation."""

from __future__ import annotations

from typing import Any

import pytest

from stratus.platform.asl import StatesError, validate
from stratus.platform.asl.choice import evaluate

DATA = {
    "n": 5,
    "m": 5.0,
    "s": "file*.txt",
    "b": False,
    "t": "2026-03-01T10:00:00+02:00",
    "t2": "2026-03-01T08:00:00Z",
    "nil": None,
    "list": [1],
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.n", "NumericEqualsPath": "$.m"}, True),
        ({"Variable": "$.n", "NumericLessThanEquals": 5}, True),
        ({"Variable": "$.b", "NumericEquals": 0}, False),  # a boolean is not a number
        ({"Variable": "$.s", "StringMatches": "file\\*.txt"}, True),
        ({"Variable": "$.s", "StringMatches": "file\\*.csv"}, False),
        ({"Variable": "$.s", "StringMatches": "*.txt"}, True),
        ({"Variable": "$.s", "StringLessThanEquals": "file*.txt"}, True),
        ({"Variable": "$.b", "BooleanEqualsPath": "$.b"}, True),
        ({"Variable": "$.t", "TimestampEqualsPath": "$.t2"}, True),
        ({"Variable": "$.t", "TimestampGreaterThan": "2026-03-01T07:59:59Z"}, True),
        ({"Variable": "$.s", "TimestampEquals": "2026-03-01T08:00:00Z"}, False),
        ({"Variable": "$.nil", "IsNull": True}, True),
        ({"Variable": "$.list", "IsPresent": True}, True),
        ({"Variable": "$.list[3]", "IsPresent": True}, False),
        ({"Variable": "$.n", "IsNumeric": True}, True),
        ({"Variable": "$.b", "IsBoolean": False}, False),
        ({"Variable": "$.t2", "IsTimestamp": True}, True),
        ({"Variable": "$.s", "IsTimestamp": True}, False),
        (
            {
                "Not": {
                    "Or": [
                        {"Variable": "$.n", "NumericEquals": 1},
                        {
                            "And": [
                                {"Variable": "$.b", "BooleanEquals": False},
                                {"Variable": "$.n", "NumericGreaterThan": 4},
                            ]
                        },
                    ]
                }
            },
            False,
        ),
    ],
)
def test_a_choice_rule_evaluates_as_step_functions_does(
    rule: dict[str, Any], expected: bool
) -> None:
    assert evaluate(rule, DATA, {}) is expected


def test_a_missing_variable_is_a_runtime_error_unless_tested_with_is_present() -> None:
    with pytest.raises(StatesError) as err:
        evaluate({"Variable": "$.zz", "StringEquals": "x"}, DATA, {})
    assert err.value.error == "States.Runtime"


def valid() -> dict[str, Any]:
    return {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Next": "C",
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
            },
            "C": {
                "Type": "Choice",
                "Default": "M",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.x", "IsPresent": True},
                            {"Variable": "$.x", "NumericEquals": 1},
                        ],
                        "Next": "S",
                    }
                ],
            },
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "Next": "P",
            },
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
                ],
                "End": True,
            },
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "E"},
        },
    }


def test_a_valid_definition_has_no_problems() -> None:
    assert validate(valid()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("StartAt"), "missing 'StartAt'"),
        (lambda d: d.update(StartAt="Nope"), "StartAt 'Nope' is not a state"),
        (lambda d: d["States"]["A"].update(Next="Nowhere"), "state 'A': Next 'Nowhere'"),
        (lambda d: d["States"]["P"].pop("End"), "state 'P': needs exactly one of"),
        (lambda d: d["States"]["S"].update(Type="Sleep"), "state 'S': unknown state type 'Sleep'"),
        (lambda d: d["States"]["C"]["Choices"][0].pop("Next"), "a Choice rule needs 'Next'"),
        (
            lambda d: d["States"]["C"]["Choices"][0]["And"][1].update(StringEquals="x"),
            "exactly one comparison operator",
        ),
        (lambda d: d["States"]["C"].update(Default="Gone"), "state 'C': Next 'Gone'"),
        (lambda d: d["States"]["M"]["ItemProcessor"].update(StartAt="Z"), "'M/'"),
        (lambda d: d["States"]["P"]["Branches"][0]["States"]["W"].pop("Seconds"), "state 'P[0]/W'"),
        (lambda d: d["States"]["A"]["Catch"][0].update(Next="X"), "state 'A': Next 'X'"),
        (lambda d: d["States"]["A"].pop("Resource"), "Task needs a 'Resource'"),
    ],
)
def test_validation_names_the_state_with_the_problem(change: Any, problem: str) -> None:
    definition = valid()
    change(definition)
    problems = validate(definition)
    assert any(problem in p for p in problems), problems


def test_validation_rejects_a_definition_that_is_not_an_object() -> None:
    assert validate([]) == ["definition: must be a JSON object"]
