"""SNS filter policies on message attributes (stratus.platform.filterpolicy)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stratus.platform.filterpolicy import matches, validate
from stratus.platform.ports.errors import InvalidRequestError


def test_an_empty_policy_matches_every_message() -> None:
    assert matches({}, {})
    assert matches({}, {"a": "b"})


def test_exact_strings_match_one_of_the_listed_values() -> None:
    policy = {"color": ["red", "blue"]}
    assert matches(policy, {"color": "red"})
    assert matches(policy, {"color": "blue"})
    assert not matches(policy, {"color": "green"})
    assert not matches(policy, {})


def test_string_matching_is_case_sensitive_unless_equals_ignore_case() -> None:
    assert not matches({"color": ["red"]}, {"color": "RED"})
    assert matches({"color": [{"equals-ignore-case": "red"}]}, {"color": "ReD"})


def test_a_string_array_attribute_matches_when_any_element_matches() -> None:
    policy = {"interests": ["rugby", "tennis"]}
    assert matches(policy, {"interests": ["golf", "tennis"]})
    assert not matches(policy, {"interests": ["baseball"]})


def test_numbers_match_numerically_and_only_number_attributes() -> None:
    assert matches({"price": [301.5]}, {"price": 301.5})
    assert matches({"price": [100]}, {"price": 100.0})
    assert matches({"price": [0.1]}, {"price": 0.1000001})
    assert not matches({"price": [100]}, {"price": "100"})
    assert not matches({"price": ["100"]}, {"price": 100})


def test_an_exact_number_does_not_stop_the_other_values_of_its_list() -> None:
    # OR within a list, as SNS documents (moto 5 answers False here).
    assert matches({"k": [0, "a"]}, {"k": "a"})


def test_prefix_and_suffix_match_the_start_and_end_of_strings() -> None:
    assert matches({"event": [{"prefix": "order-"}]}, {"event": "order-created"})
    assert not matches({"event": [{"prefix": "order-"}]}, {"event": "payment-created"})
    assert matches({"file": [{"suffix": ".csv"}]}, {"file": "data.csv"})
    assert not matches({"file": [{"suffix": ".csv"}]}, {"file": "data.json"})


def test_anything_but_a_value_a_list_or_a_prefix() -> None:
    assert matches({"size": [{"anything-but": "small"}]}, {"size": "large"})
    assert not matches({"size": [{"anything-but": "small"}]}, {"size": "small"})
    assert not matches({"size": [{"anything-but": ["small", "medium"]}]}, {"size": "medium"})
    assert matches({"n": [{"anything-but": [100]}]}, {"n": 101})
    assert not matches({"n": [{"anything-but": [100]}]}, {"n": 100})
    assert not matches({"e": [{"anything-but": {"prefix": "test-"}}]}, {"e": "test-1"})
    assert matches({"e": [{"anything-but": {"prefix": "test-"}}]}, {"e": "prod-1"})
    assert not matches({"e": [{"anything-but": {"suffix": "-dev"}}]}, {"e": "api-dev"})


def test_anything_but_does_not_match_a_missing_attribute() -> None:
    assert not matches({"size": [{"anything-but": "small"}]}, {})


def test_anything_but_on_an_array_needs_every_element_to_be_allowed() -> None:
    policy = {"tags": [{"anything-but": "secret"}]}
    assert matches(policy, {"tags": ["a", "b"]})
    assert not matches(policy, {"tags": ["a", "secret"]})


@pytest.mark.parametrize(
    ("numeric", "value", "expected"),
    [
        (["=", 5], 5, True),
        (["=", 5], 5.5, False),
        ([">", 0], 0, False),
        ([">=", 0], 0, True),
        (["<", 10], 9.99, True),
        (["<=", 10], 10.01, False),
        ([">", 0, "<=", 150], 150, True),
        ([">", 0, "<=", 150], 0, False),
        ([">=", 100, "<", 200], 200, False),
    ],
)
def test_numeric_comparisons_and_ranges(numeric: list[Any], value: float, expected: bool) -> None:
    assert matches({"price": [{"numeric": numeric}]}, {"price": value}) is expected


def test_numeric_rules_ignore_string_attributes() -> None:
    assert not matches({"price": [{"numeric": [">", 0]}]}, {"price": "5"})


def test_exists_true_and_false_test_presence_only() -> None:
    assert matches({"store": [{"exists": True}]}, {"store": "x"})
    assert not matches({"store": [{"exists": True}]}, {})
    assert matches({"store": [{"exists": False}]}, {})
    assert not matches({"store": [{"exists": False}]}, {"store": "x"})


def test_keys_are_anded_and_values_within_a_key_are_ored() -> None:
    policy = {"color": ["red", {"prefix": "bl"}], "size": [{"anything-but": "small"}]}
    assert matches(policy, {"color": "blue", "size": "large"})
    assert not matches(policy, {"color": "blue", "size": "small"})
    assert not matches(policy, {"color": "green", "size": "large"})


def test_or_matches_when_any_nested_policy_matches() -> None:
    policy = {
        "source": ["billing"],
        "$or": [{"kind": ["invoice"]}, {"amount": [{"numeric": [">", 1000]}]}],
    }
    assert matches(policy, {"source": "billing", "kind": "invoice"})
    assert matches(policy, {"source": "billing", "amount": 5000})
    assert not matches(policy, {"source": "billing", "kind": "refund", "amount": 10})
    assert not matches(policy, {"source": "ops", "kind": "invoice"})


def test_valid_policies_pass_validation() -> None:
    validate({})
    validate(
        {
            "color": ["red", {"prefix": "bl"}, {"suffix": "ue"}, {"equals-ignore-case": "X"}],
            "size": [{"anything-but": ["small", 3]}, {"anything-but": {"prefix": "t"}}],
            "price": [{"numeric": [">=", 0, "<", 10]}, {"numeric": ["=", 5]}, 7],
            "store": [{"exists": True}],
            "$or": [{"a": ["1"]}, {"b": ["2"]}],
        }
    )


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"a": "red"}, "must be an array"),
        ({"a": []}, "empty arrays"),
        ({"a": {"b": ["c"]}}, "nested"),
        ({"a": [{"prefix": 1}]}, "prefix"),
        ({"a": [{"exists": "yes"}]}, "exists"),
        ({"a": [{"wildcard": "x*"}]}, "unrecognized match type"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "exactly one operator"),
        ({"a": [{"numeric": [">"]}]}, "numeric"),
        ({"a": [{"numeric": ["~", 1]}]}, "unrecognized numeric operator"),
        ({"a": [{"numeric": ["<", 1, ">", 0]}]}, "lower then an upper"),
        ({"a": [{"numeric": [">", 5, "<", 1]}]}, "bottom must be less than top"),
        ({"a": [{"numeric": [">", "5"]}]}, "must be a number"),
        ({"a": [2_000_000_000]}, "between -1e9 and 1e9"),
        ({"a": [{"anything-but": []}]}, "non-empty list"),
        ({"a": [{"anything-but": {"exists": True}}]}, "anything-but takes"),
        ({"a": [[1]]}, "match value"),
        ({"$or": [{"a": ["1"]}]}, "at least two"),
        ({k: ["v"] for k in "abcdef"}, "more than 5 keys"),
        ({k: [str(i) for i in range(6)] for k in "abc"}, "too complex"),
    ],
)
def test_malformed_policies_are_rejected_with_a_reason(policy: Any, reason: str) -> None:
    with pytest.raises(InvalidRequestError, match=reason):
        validate(policy)


def test_a_policy_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="JSON object"):
        validate(["a"])  # type: ignore[arg-type]


# ------------------------------------------------------------------ differential against moto

_WORDS = st.text(alphabet="ab", min_size=1, max_size=3)
_NUMBERS = st.integers(min_value=-5, max_value=5)
_RULE = st.one_of(
    _WORDS,
    st.builds(lambda w: {"prefix": w}, _WORDS),
    st.builds(lambda w: {"suffix": w}, _WORDS),
    st.builds(lambda w: {"equals-ignore-case": w}, _WORDS),
    st.builds(lambda w: {"anything-but": w}, _WORDS),  # moto crashes on a scalar number,
    st.builds(
        lambda ws: {"anything-but": ws},
        st.lists(st.one_of(_WORDS, _NUMBERS), min_size=1, max_size=3),
    ),
    st.builds(lambda w: {"anything-but": {"prefix": w}}, _WORDS),
    st.builds(
        lambda op, n: {"numeric": [op, n]}, st.sampled_from(["=", "<", "<=", ">", ">="]), _NUMBERS
    ),
    st.builds(
        lambda lo, op1, op2, width: {"numeric": [op1, lo, op2, lo + width]},
        _NUMBERS,
        st.sampled_from([">", ">="]),
        st.sampled_from(["<", "<="]),
        st.integers(min_value=1, max_value=4),
    ),
)
# Where moto departs from SNS the generator steers clear: moto gives up on the whole list at an
# exact number when the attribute is a String, or at any rule when the attribute is missing, so
# exact numbers and exists rules only come in lists of their own.
_RULES = st.one_of(
    st.lists(_RULE, min_size=1, max_size=3),
    st.lists(_NUMBERS, min_size=1, max_size=3),
    st.builds(lambda b: [{"exists": b}], st.booleans()),
)
_POLICY = st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), _RULES, min_size=1, max_size=3)
_ATTRIBUTES = st.dictionaries(
    st.sampled_from(["k1", "k2", "k3"]),
    st.one_of(st.text(alphabet="abAB", min_size=1, max_size=3), _NUMBERS),
    max_size=3,
)


def _moto_matches(policy: dict[str, Any], attributes: dict[str, Any]) -> bool:
    from moto.sns.utils import FilterPolicyMatcher

    typed = {
        name: {"Type": "String" if isinstance(value, str) else "Number", "Value": str(value)}
        for name, value in attributes.items()
    }
    return bool(FilterPolicyMatcher(policy, "MessageAttributes").matches(typed, ""))


@settings(max_examples=400, derandomize=True, deadline=None)
@given(policy=_POLICY, attributes=_ATTRIBUTES)
def test_matching_agrees_with_moto_on_string_and_number_attributes(
    policy: dict[str, Any], attributes: dict[str, Any]
) -> None:
    validate(policy)
    assert matches(policy, attributes) == _moto_matches(policy, attributes)
