"""Choice rules: comparison operators, And/Or/Not and the type tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from stratus.platform.asl.errors import runtime_error
from stratus.platform.asl.paths import find, is_missing, lookup

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def parse_timestamp(v: Any) -> datetime | None:
    """An RFC 3339 timestamp as ASL accepts it (``T`` separator, zone required), else None."""
    if not isinstance(v, str) or not _TIMESTAMP.match(v):
        return None
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        return None


def _matches(value: str, pattern: str) -> bool:
    # '*' is a wildcard, '\*' a literal star (Step Functions' StringMatches).
    regex = "".join(
        ".*" if part == "*" else re.escape(part.replace("\\*", "*"))
        for part in re.split(r"(?<!\\)(\*)", pattern)
    )
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_KINDS: dict[str, Callable[[Any], Any]] = {
    "String": lambda v: v if isinstance(v, str) else None,
    "Numeric": lambda v: v if _is_number(v) else None,
    "Boolean": lambda v: v if isinstance(v, bool) else None,
    "Timestamp": parse_timestamp,
}
TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
OPERATORS: frozenset[str] = frozenset(
    [f"{k}{c}" for k in _KINDS for c in _CMP if not (k == "Boolean" and c != "Equals")]
    + [f"{k}{c}Path" for k in _KINDS for c in _CMP if not (k == "Boolean" and c != "Equals")]
    + ["StringMatches", *TYPE_TESTS]
)


def rule_operator(rule: Mapping[str, Any]) -> str | None:
    """The comparison operator key of a rule (None when it has none or several)."""
    ops = [k for k in rule if k in OPERATORS]
    return ops[0] if len(ops) == 1 else None


def evaluate(rule: Mapping[str, Any], data: Any, context: Any) -> bool:
    """True when ``rule`` (a Choices entry or a nested And/Or/Not rule) holds for ``data``."""
    if "And" in rule:
        return all(evaluate(r, data, context) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate(r, data, context) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate(rule["Not"], data, context)
    op = rule_operator(rule)
    variable = rule.get("Variable")
    if op is None or not isinstance(variable, str):
        raise runtime_error(f"Invalid Choice rule {dict(rule)!r}")
    expected = rule[op]
    if op == "IsPresent":
        return bool((not is_missing(find(variable, data, context))) == expected)
    value = lookup(variable, data, context)
    if op in TYPE_TESTS:
        actual = {
            "IsNull": value is None,
            "IsNumeric": _is_number(value),
            "IsString": isinstance(value, str),
            "IsBoolean": isinstance(value, bool),
            "IsTimestamp": parse_timestamp(value) is not None,
        }[op]
        return bool(actual == expected)
    if op.endswith("Path"):
        op = op[: -len("Path")]
        expected = lookup(expected, data, context)
    if op == "StringMatches":
        return isinstance(value, str) and isinstance(expected, str) and _matches(value, expected)
    kind = next(k for k in _KINDS if op.startswith(k))
    convert = _KINDS[kind]
    left, right = convert(value), convert(expected)
    # A value of the wrong type makes the comparison false, as in Step Functions.
    if left is None or right is None:
        return False
    return _CMP[op[len(kind) :]](left, right)
