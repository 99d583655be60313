"""SNS subscription filter policies on message attributes, as a pure function.

Implements the attribute-scope ("MessageAttributes") syntax of
https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html :

* ``{"key": [rule, rule, ...]}`` - AND across keys, OR within a key's list;
* rules: an exact string or number, ``{"prefix": s}``, ``{"suffix": s}``,
  ``{"equals-ignore-case": s}``, ``{"anything-but": v | [v...] | {"prefix"|"suffix": s}}``,
  ``{"numeric": [op, n]}`` or ``{"numeric": [">"|">=", lo, "<"|"<=", hi]}``,
  ``{"exists": true|false}``;
* ``{"$or": [policy, policy, ...]}`` - any of the nested policies.

A String.Array attribute (a list here) matches when any of its elements matches a rule; for
``anything-but`` none of its elements may be excluded (SNS: "values that don't include any of
the policy values"). Strings only match string rules and numbers only numeric rules, as in SNS
where a String attribute "5" does not match the number 5. A missing attribute matches nothing
but ``{"exists": false}``.

Departures from SNS: nested (payload-scope) policies are refused; ``true``/``false``/``null``
rules are accepted (SNS accepts them) but never match an attribute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from stratus.platform.ports.errors import InvalidRequestError
from stratus.platform.ports.topic import AttributeValue

__all__ = ["matches", "validate"]

#: SNS limits (subscription-filter-policy-constraints): keys per policy, value combinations,
#: and the numeric range with five decimal digits.
MAX_KEYS = 5
MAX_COMBINATIONS = 150
NUMERIC_LIMIT = 1_000_000_000
_PRECISION = 5

_OPERATORS = {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"}
_LOWER = {">", ">="}
_UPPER = {"<", "<="}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------- validate


def validate(policy: Mapping[str, Any]) -> None:
    """Raise InvalidRequestError (with the reason) when ``policy`` is not a valid filter policy."""
    if not isinstance(policy, Mapping):
        raise InvalidRequestError("filter policy must be a JSON object")
    if len(policy) > MAX_KEYS:
        raise InvalidRequestError(f"filter policy can not have more than {MAX_KEYS} keys")
    combinations = _validate_object(policy, path="")
    if combinations > MAX_COMBINATIONS:
        raise InvalidRequestError(
            f"filter policy is too complex: {combinations} combinations > {MAX_COMBINATIONS}"
        )


def _validate_object(policy: Mapping[str, Any], *, path: str) -> int:
    """Validate one (possibly nested ``$or``) object; return its number of combinations."""
    combinations = 1
    for key, rules in policy.items():
        where = f"{path}{key}"
        if not isinstance(key, str) or not key:
            raise InvalidRequestError(f"filter policy key {key!r} must be a non-empty string")
        if key == "$or":
            if not isinstance(rules, list) or len(rules) < 2:
                raise InvalidRequestError(f'"{where}" must be an array of at least two objects')
            total = 0
            for i, branch in enumerate(rules):
                if not isinstance(branch, Mapping) or not branch:
                    raise InvalidRequestError(f'"{where}[{i}]" must be a non-empty object')
                total += _validate_object(branch, path=f"{where}[{i}].")
            combinations *= total
            continue
        if isinstance(rules, Mapping):
            raise InvalidRequestError(
                f'"{where}": nested properties need the MessageBody scope, which is not supported'
            )
        if not isinstance(rules, list):
            raise InvalidRequestError(f'"{where}" must be an array')
        if not rules:
            raise InvalidRequestError(f'"{where}": empty arrays are not allowed')
        for rule in rules:
            _validate_rule(rule, where)
        combinations *= len(rules)
    return combinations


def _validate_number(value: object, where: str) -> None:
    if not _is_number(value):
        raise InvalidRequestError(f'"{where}": {value!r} must be a number')
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number) or abs(number) >= NUMERIC_LIMIT:
        raise InvalidRequestError(f'"{where}": numbers must lie between -1e9 and 1e9')


def _validate_rule(rule: object, where: str) -> None:
    if rule is None or isinstance(rule, bool | str):
        return
    if _is_number(rule):
        _validate_number(rule, where)
        return
    if not isinstance(rule, Mapping):
        raise InvalidRequestError(
            f'"{where}": match value must be a string, number, true, false, null or an object'
        )
    if len(rule) != 1:
        raise InvalidRequestError(f'"{where}": a rule object must have exactly one operator')
    ((operator, operand),) = rule.items()
    if operator not in _OPERATORS:
        raise InvalidRequestError(f'"{where}": unrecognized match type {operator!r}')
    if operator in {"prefix", "suffix", "equals-ignore-case"}:
        if not isinstance(operand, str) or not operand:
            raise InvalidRequestError(f'"{where}": {operator} needs a non-empty string')
    elif operator == "exists":
        if not isinstance(operand, bool):
            raise InvalidRequestError(f'"{where}": exists match pattern must be true or false')
    elif operator == "numeric":
        _validate_numeric(operand, where)
    else:
        _validate_anything_but(operand, where)


def _validate_numeric(operand: object, where: str) -> None:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise InvalidRequestError(
            f'"{where}": numeric needs [op, number] or [">"|">=", low, "<"|"<=", high]'
        )
    operator, value = operand[0], operand[1]
    if operator not in _LOWER | _UPPER | {"="}:
        raise InvalidRequestError(f'"{where}": unrecognized numeric operator {operator!r}')
    _validate_number(value, where)
    if len(operand) == 4:
        upper_op, upper = operand[2], operand[3]
        if operator not in _LOWER or upper_op not in _UPPER:
            raise InvalidRequestError(f'"{where}": a numeric range is a lower then an upper bound')
        _validate_number(upper, where)
        if upper <= value:
            raise InvalidRequestError(f'"{where}": numeric range bottom must be less than top')


def _validate_anything_but(operand: object, where: str) -> None:
    if isinstance(operand, str) or _is_number(operand):
        return
    if isinstance(operand, list):
        if not operand:
            raise InvalidRequestError(f'"{where}": anything-but needs a non-empty list')
        for item in operand:
            if not (isinstance(item, str) or _is_number(item)):
                raise InvalidRequestError(
                    f'"{where}": anything-but values must be strings or numbers'
                )
        return
    if isinstance(operand, Mapping) and len(operand) == 1:
        ((inner, value),) = operand.items()
        if inner in {"prefix", "suffix"} and isinstance(value, str) and value:
            return
    raise InvalidRequestError(
        f'"{where}": anything-but takes a value, a list of values, or {{"prefix"|"suffix": s}}'
    )


# ----------------------------------------------------------------------------------- matches


def matches(policy: Mapping[str, Any], attributes: Mapping[str, AttributeValue]) -> bool:
    """True when a message with these attributes is delivered under ``policy``.

    An empty policy matches every message. The policy is assumed valid (see :func:`validate`);
    an unknown operator raises InvalidRequestError rather than silently not matching.
    """
    for key, rules in policy.items():
        if key == "$or":
            if not any(matches(branch, attributes) for branch in rules):
                return False
            continue
        present = key in attributes
        value = attributes.get(key)
        values: Sequence[object] = (
            () if not present else value if isinstance(value, list) else (value,)
        )
        if not any(_rule_matches(rule, present, values) for rule in rules):
            return False
    return True


def _same_number(a: object, b: float) -> bool:
    # SNS compares numbers with five digits of precision after the decimal point.
    return _is_number(a) and round(float(a), _PRECISION) == round(b, _PRECISION)  # type: ignore[arg-type]


def _rule_matches(rule: object, present: bool, values: Sequence[object]) -> bool:
    if isinstance(rule, bool) or rule is None:
        return False
    if isinstance(rule, str):
        return any(isinstance(v, str) and v == rule for v in values)
    if _is_number(rule):
        return any(_same_number(v, float(rule)) for v in values)  # type: ignore[arg-type]
    if not isinstance(rule, Mapping) or len(rule) != 1:
        raise InvalidRequestError(f"invalid filter policy rule {rule!r}")
    ((operator, operand),) = rule.items()
    if operator == "exists":
        return present is bool(operand)
    if operator == "prefix":
        return any(isinstance(v, str) and v.startswith(operand) for v in values)
    if operator == "suffix":
        return any(isinstance(v, str) and v.endswith(operand) for v in values)
    if operator == "equals-ignore-case":
        folded = str(operand).casefold()
        return any(isinstance(v, str) and v.casefold() == folded for v in values)
    if operator == "numeric":
        return any(_in_range(v, operand) for v in values)
    if operator == "anything-but":
        # SNS: a missing attribute does not match anything-but.
        return present and not any(_excluded(v, operand) for v in values)
    raise InvalidRequestError(f"unrecognized filter policy operator {operator!r}")


def _compare(value: float, operator: str, bound: float) -> bool:
    if operator == "=":
        return round(value, _PRECISION) == round(bound, _PRECISION)
    if operator == ">":
        return value > bound
    if operator == ">=":
        return value >= bound
    if operator == "<":
        return value < bound
    if operator == "<=":
        return value <= bound
    raise InvalidRequestError(f"unrecognized numeric operator {operator!r}")


def _in_range(value: object, operand: Sequence[Any]) -> bool:
    if not _is_number(value):
        return False
    number = float(value)  # type: ignore[arg-type]
    return all(
        _compare(number, operand[i], float(operand[i + 1])) for i in range(0, len(operand), 2)
    )


def _excluded(value: object, operand: object) -> bool:
    if isinstance(operand, Mapping):
        ((inner, text),) = operand.items()
        if not isinstance(value, str):
            return False
        return value.startswith(text) if inner == "prefix" else value.endswith(text)
    excluded = operand if isinstance(operand, list) else [operand]
    for item in excluded:
        if isinstance(item, str):
            if isinstance(value, str) and value == item:
                return True
        elif _is_number(item) and _same_number(value, float(item)):  # type: ignore[arg-type]
            return True
    return False
