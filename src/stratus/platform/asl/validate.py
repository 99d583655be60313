"""Load-time validation of an ASL definition: the problems, each naming its state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stratus.platform.asl.choice import rule_operator

STATE_TYPES = frozenset({"Task", "Pass", "Wait", "Choice", "Map", "Parallel", "Succeed", "Fail"})
_TERMINAL = frozenset({"Choice", "Succeed", "Fail"})


def validate(definition: Any) -> list[str]:
    """Problems found in ``definition`` (an empty list when it is valid).

    Checks what breaks an execution: StartAt, Next targets, End/Next, Choice rules, state
    types, Map/Parallel sub-machines, Retry/Catch shapes. Step Functions checks more
    (field types, ARNs); this is the subset that matters to a local run."""
    problems: list[str] = []
    _machine(definition, "", problems)
    return problems


def _machine(machine: Any, path: str, problems: list[str]) -> None:
    # A nested machine is named after its state: 'M/' (Map) or 'P[0]/' (Parallel branch).
    where = f"state '{path}'" if path else ""
    if not isinstance(machine, Mapping):
        problems.append(f"{where or 'definition'}: must be a JSON object")
        return
    states = machine.get("States")
    if not isinstance(states, Mapping) or not states:
        problems.append(f"{where or 'definition'}: missing or empty 'States'")
        return
    start = machine.get("StartAt")
    if not isinstance(start, str):
        problems.append(f"{where or 'definition'}: missing 'StartAt'")
    elif start not in states:
        problems.append(f"{where or 'definition'}: StartAt '{start}' is not a state")
    for name, state in states.items():
        _state(f"{path}{name}", state, states, problems)


def _next(label: str, target: Any, states: Mapping[str, Any], problems: list[str]) -> None:
    if not isinstance(target, str) or target not in states:
        problems.append(f"state '{label}': Next '{target}' is not a state")


def _state(label: str, state: Any, states: Mapping[str, Any], problems: list[str]) -> None:
    if not isinstance(state, Mapping):
        problems.append(f"state '{label}': must be a JSON object")
        return
    kind = state.get("Type")
    if kind not in STATE_TYPES:
        problems.append(f"state '{label}': unknown state type {kind!r}")
        return
    if kind not in _TERMINAL:
        has_next, has_end = "Next" in state, state.get("End") is True
        if has_next == has_end:
            problems.append(f"state '{label}': needs exactly one of 'Next' or 'End: true'")
        if has_next:
            _next(label, state["Next"], states, problems)
    if kind == "Task" and not isinstance(state.get("Resource"), str):
        problems.append(f"state '{label}': Task needs a 'Resource'")
    if kind == "Fail" and ("Next" in state or "End" in state):
        problems.append(f"state '{label}': Fail cannot have Next or End")
    if kind == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            problems.append(f"state '{label}': Choice needs a non-empty 'Choices' list")
        else:
            for i, rule in enumerate(choices):
                _rule(f"{label}.Choices[{i}]", rule, True, problems)
                if isinstance(rule, Mapping) and "Next" in rule:
                    _next(label, rule["Next"], states, problems)
        if "Default" in state:
            _next(label, state["Default"], states, problems)
    if kind == "Wait":
        keys = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in state]
        if len(keys) != 1:
            problems.append(f"state '{label}': Wait needs exactly one of Seconds/Timestamp(Path)")
    if kind == "Map":
        sub = state.get("ItemProcessor", state.get("Iterator"))
        _machine(sub, f"{label}/", problems)
    if kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            problems.append(f"state '{label}': Parallel needs a non-empty 'Branches' list")
        else:
            for i, branch in enumerate(branches):
                _machine(branch, f"{label}[{i}]/", problems)
    for field in ("Retry", "Catch"):
        for i, item in enumerate(state.get(field, [])):
            if not isinstance(item, Mapping) or not isinstance(item.get("ErrorEquals"), list):
                problems.append(f"state '{label}': {field}[{i}] needs an 'ErrorEquals' list")
            elif field == "Catch":
                _next(label, item.get("Next"), states, problems)


def _rule(label: str, rule: Any, top: bool, problems: list[str]) -> None:
    if not isinstance(rule, Mapping):
        problems.append(f"state '{label}': a Choice rule must be an object")
        return
    if top and "Next" not in rule:
        problems.append(f"state '{label}': a Choice rule needs 'Next'")
    if "And" in rule or "Or" in rule:
        subs = rule.get("And", rule.get("Or"))
        if not isinstance(subs, list) or not subs:
            problems.append(f"state '{label}': And/Or need a non-empty list")
            return
        for i, sub in enumerate(subs):
            _rule(f"{label}[{i}]", sub, False, problems)
        return
    if "Not" in rule:
        _rule(f"{label}.Not", rule["Not"], False, problems)
        return
    if not isinstance(rule.get("Variable"), str) or not str(rule["Variable"]).startswith("$"):
        problems.append(f"state '{label}': a Choice rule needs a 'Variable' path")
    if rule_operator(rule) is None:
        problems.append(f"state '{label}': a Choice rule needs exactly one comparison operator")
