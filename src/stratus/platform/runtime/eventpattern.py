"""EventBridge event patterns: does an event match a rule's pattern?

Copied from EventBridge: a pattern is a nested object whose leaves are arrays of matchers; every
field of the pattern must match (AND), any matcher of a leaf may match (OR); a leaf matches an
array value when any element matches. Matchers: literal values (string, number, bool, null),
``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (value, list or ``prefix``),
``numeric`` (pairs of operator and number), ``exists``, ``wildcard`` (``*`` only).
"""

from __future__ import annotations

import fnmatch
import operator
from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class PatternError(ValueError):
    """The pattern is not a valid EventBridge event pattern."""


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """True when ``event`` matches ``pattern``."""
    if not isinstance(pattern, Mapping):
        raise PatternError("an event pattern must be an object")
    for key, sub in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(sub, Mapping):
            if value is _MISSING or not matches(sub, value):
                return False
        elif isinstance(sub, list):
            if not _leaf(sub, value):
                return False
        else:
            raise PatternError(f"pattern field {key!r} must be an object or an array")
    return True


def _leaf(matchers: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_one(m, v) for m in matchers for v in values) or (
        value is _MISSING
        and any(isinstance(m, Mapping) and m.get("exists") is False for m in matchers)
    )


def _one(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _literal(matcher, value)
    if len(matcher) != 1:
        raise PatternError(f"a matcher has exactly one key: {dict(matcher)!r}")
    kind, arg = next(iter(matcher.items()))
    if kind == "exists":
        return bool(arg) == (value is not _MISSING)
    if value is _MISSING:
        return False
    if kind == "prefix":
        return isinstance(value, str) and value.startswith(_text(arg, kind))
    if kind == "suffix":
        return isinstance(value, str) and value.endswith(_text(arg, kind))
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == _text(arg, kind).lower()
    if kind == "wildcard":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, _text(arg, kind))
    if kind == "anything-but":
        if isinstance(arg, Mapping):
            return not any(_one({k: v}, value) for k, v in arg.items())
        excluded = arg if isinstance(arg, list) else [arg]
        return value not in excluded
    if kind == "numeric":
        return _numeric(arg, value)
    raise PatternError(f"unknown matcher {kind!r}")


def _literal(matcher: Any, value: Any) -> bool:
    """Exact match by JSON type: strings with strings, numbers with numbers (1 == 1.0),
    booleans with booleans, null with null. Subclasses (YAML loaders' str nodes) count."""
    if value is _MISSING:
        return False
    if isinstance(matcher, bool) or isinstance(value, bool):
        return isinstance(matcher, bool) and isinstance(value, bool) and matcher == value
    if isinstance(matcher, int | float) and isinstance(value, int | float):
        return float(matcher) == float(value)
    if isinstance(matcher, str) and isinstance(value, str):
        return str(matcher) == str(value)
    return matcher is None and value is None


def _text(arg: Any, kind: str) -> str:
    if not isinstance(arg, str):
        raise PatternError(f"{kind} takes a string")
    return arg


def _numeric(arg: Any, value: Any) -> bool:
    if not isinstance(arg, list) or len(arg) % 2:
        raise PatternError("numeric takes pairs of operator and number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    for op, bound in zip(arg[::2], arg[1::2], strict=True):
        if op not in _NUMERIC:
            raise PatternError(f"unknown numeric operator {op!r}")
        if not _NUMERIC[op](float(value), float(bound)):
            return False
    return True
