"""Paths, payload templates, ResultPath merging and intrinsic functions."""

from __future__ import annotations

import base64
import uuid

import pytest

from stratus.platform.asl import StatesError
from stratus.platform.asl.intrinsics import evaluate
from stratus.platform.asl.paths import find, is_missing, lookup, merge_result, render, select

DATA = {"a": {"b": [10, {"c": "deep"}]}, "name": "Ada", "odd key": 1, "list": [{"x": 1}, {"x": 2}]}
CONTEXT = {"Execution": {"Id": "arn:x", "Input": {"k": 1}}, "Map": {"Item": {"Index": 3}}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DATA),
        ("$.name", "Ada"),
        ("$.a.b[0]", 10),
        ("$.a.b[1].c", "deep"),
        ("$.a.b[-1].c", "deep"),
        ("$['odd key']", 1),
        ("$.list[*].x", [1, 2]),
        ("$$.Execution.Id", "arn:x"),
        ("$$.Execution.Input.k", 1),
        ("$$.Map.Item.Index", 3),
    ],
)
def test_a_path_selects_the_value_it_names(path: str, expected: object) -> None:
    assert lookup(path, DATA, CONTEXT) == expected


def test_a_missing_path_is_a_states_runtime_error() -> None:
    with pytest.raises(StatesError) as err:
        lookup("$.nope", DATA, CONTEXT)
    assert err.value.error == "States.Runtime"
    assert "$.nope" in (err.value.cause or "")


def test_find_reports_a_missing_path_without_raising() -> None:
    assert is_missing(find("$.a.zz", DATA, CONTEXT))
    assert not is_missing(find("$.name", DATA, CONTEXT))


def test_a_null_input_path_selects_an_empty_object() -> None:
    assert select(None, DATA, CONTEXT) == {}


def test_result_path_dollar_replaces_the_input() -> None:
    assert merge_result("$", {"a": 1}, [1]) == [1]


def test_result_path_null_discards_the_result() -> None:
    assert merge_result(None, {"a": 1}, "ignored") == {"a": 1}


def test_result_path_creates_missing_objects_and_leaves_the_input_untouched() -> None:
    raw = {"a": 1}
    assert merge_result("$.x.y", raw, 2) == {"a": 1, "x": {"y": 2}}
    assert raw == {"a": 1}


def test_result_path_into_a_non_object_input_fails_with_result_path_match_failure() -> None:
    with pytest.raises(StatesError) as err:
        merge_result("$.x", [1, 2], 3)
    assert err.value.error == "States.ResultPathMatchFailure"


def test_a_template_resolves_dollar_keys_recursively_and_keeps_literals() -> None:
    template = {
        "who.$": "$.name",
        "nested": {"first.$": "$.a.b[0]", "fixed": [1, {"idx.$": "$$.Map.Item.Index"}]},
        "greeting.$": "States.Format('Hi {}', $.name)",
        "plain": "$.not-a-path-without-the-suffix",
    }
    assert render(template, DATA, CONTEXT, evaluate) == {
        "who": "Ada",
        "nested": {"first": 10, "fixed": [1, {"idx": 3}]},
        "greeting": "Hi Ada",
        "plain": "$.not-a-path-without-the-suffix",
    }


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('{} is {} years', $.name, 36)", "Ada is 36 years"),
        ("States.Format('brace \\{\\} and quote \\'')", "brace {} and quote '"),
        ("States.Format('{} {} {}', true, null, 1.5)", "true null 1.5"),
        ("States.StringToJson('{\"a\": [1]}')", {"a": [1]}),
        ("States.JsonToString($.a.b[1])", '{"c":"deep"}'),
        ("States.Array('a', 1, $.list[0])", ["a", 1, {"x": 1}]),
        ("States.ArrayPartition(States.Array(1, 2, 3, 4, 5), 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayContains($.a.b, 10)", True),
        ("States.ArrayContains($.a.b, 11)", False),
        ("States.ArrayRange(0, 10, 5)", [0, 5, 10]),
        ("States.ArrayGetItem($.a.b, 0)", 10),
        ("States.ArrayLength($.list)", 2),
        ("States.ArrayUnique(States.Array(1, 1, 'x', 1, 'x'))", [1, "x"]),
        ("States.MathAdd(40, 2)", 42),
        ("States.MathAdd(1, -5)", -4),
        ("States.MathRandom(7, 8)", 7),
        ("States.StringSplit('a.b+c', '.+')", ["a", "b", "c"]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('input data', 'SHA-1')", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        (
            'States.JsonMerge(States.StringToJson(\'{"a":1,"b":{"c":1}}\'), '
            'States.StringToJson(\'{"b":{"d":2}}\'), false)',
            {"a": 1, "b": {"d": 2}},
        ),
    ],
)
def test_an_intrinsic_function_returns_what_step_functions_documents(
    expression: str, expected: object
) -> None:
    assert evaluate(expression, DATA, CONTEXT) == expected


def test_states_uuid_returns_a_version_4_uuid() -> None:
    assert uuid.UUID(evaluate("States.UUID()", DATA, CONTEXT)).version == 4


def test_states_math_random_with_a_seed_is_repeatable() -> None:
    first = evaluate("States.MathRandom(1, 1000, 42)", DATA, CONTEXT)
    assert first == evaluate("States.MathRandom(1, 1000, 42)", DATA, CONTEXT)
    assert 1 <= first < 1000


def test_base64_round_trips_unicode() -> None:
    encoded = evaluate("States.Base64Encode('héllo')", DATA, CONTEXT)
    assert base64.b64decode(encoded).decode() == "héllo"


@pytest.mark.parametrize(
    "expression",
    [
        "States.Format('{} {}', 'only one')",
        "States.ArrayGetItem($.a.b, 5)",
        "States.MathAdd('1', 2)",
        "States.JsonMerge($.a, $.a, true)",
        "States.Hash('x', 'SHA-3')",
        "States.Nope(1)",
        "States.Format('unterminated)",
    ],
)
def test_a_bad_intrinsic_call_fails_with_intrinsic_failure(expression: str) -> None:
    with pytest.raises(StatesError) as err:
        evaluate(expression, DATA, CONTEXT)
    assert err.value.error == "States.IntrinsicFailure"
