"""The JSONPath subset of ASL, payload templates (``.$`` keys) and ResultPath merging.

Supported paths: ``$``, ``$.a.b``, ``$.a[0]``, ``$['a']``, ``$.a[*]`` (and ``.b`` after it),
``$$`` / ``$$.`` for the context object. Step Functions accepts full JSONPath (filters,
slices); those are out of scope here and rejected with States.Runtime.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from stratus.platform.asl.errors import StatesError, runtime_error

_MISSING = object()
_TOKEN = re.compile(
    r"\.(?P<name>[^.\[\]]+)|\[(?P<index>-?\d+)\]|\[(?P<star>\*)\]|\['(?P<quoted>[^']*)'\]|\.\*"
)

Segment = tuple[str, Any]


@functools.lru_cache(maxsize=4096)
def parse_path(path: str) -> tuple[bool, tuple[Segment, ...]]:
    """Split ``path`` into (is_context, segments); raises States.Runtime on bad syntax.

    Cached: a definition uses the same few paths over and over."""
    if path.startswith("$$"):
        context, rest = True, path[2:]
    elif path.startswith("$"):
        context, rest = False, path[1:]
    else:
        raise runtime_error(f"Invalid path '{path}': a path starts with '$'")
    segments: list[Segment] = []
    pos = 0
    while pos < len(rest):
        m = _TOKEN.match(rest, pos)
        if not m:
            raise runtime_error(f"Invalid path '{path}': unsupported syntax at '{rest[pos:]}'")
        if m.group("name") is not None:
            segments.append(("key", m.group("name")))
        elif m.group("index") is not None:
            segments.append(("index", int(m.group("index"))))
        elif m.group("quoted") is not None:
            segments.append(("key", m.group("quoted")))
        else:
            segments.append(("star", None))
        pos = m.end()
    return context, tuple(segments)


def _walk(value: Any, segments: tuple[Segment, ...]) -> Any:
    for i, (kind, arg) in enumerate(segments):
        if kind == "star":
            items = list(value.values()) if isinstance(value, dict) else value
            if not isinstance(items, list):
                return _MISSING
            rest = segments[i + 1 :]
            found = [_walk(item, rest) for item in items]
            return [f for f in found if f is not _MISSING]
        if kind == "key":
            if not isinstance(value, dict) or arg not in value:
                return _MISSING
            value = value[arg]
        else:
            if not isinstance(value, list) or not -len(value) <= arg < len(value):
                return _MISSING
            value = value[arg]
    return value


def lookup(path: str, data: Any, context: Any) -> Any:
    """The value at ``path``; a missing path raises States.Runtime as Step Functions does."""
    found = find(path, data, context)
    if found is _MISSING:
        raise runtime_error(
            f"Invalid path '{path}' : No results for path: $['{path}'] in the input"
        )
    return found


def find(path: str, data: Any, context: Any) -> Any:
    """The value at ``path`` or the ``MISSING`` sentinel (for IsPresent)."""
    is_context, segments = parse_path(path)
    return _walk(context if is_context else data, segments)


def is_missing(value: Any) -> bool:
    """True for the sentinel :func:`find` returns when a path matches nothing."""
    return value is _MISSING


def select(path: str | None, data: Any, context: Any) -> Any:
    """InputPath/OutputPath: ``None`` (JSON null) selects ``{}``, as Step Functions does."""
    if path is None:
        return {}
    return lookup(path, data, context)


def merge_result(path: str | None, raw_input: Any, result: Any) -> Any:
    """ResultPath: place ``result`` into a copy of ``raw_input`` at ``path``.

    ``null`` discards the result (output = input); ``$`` replaces the input. Missing
    intermediate objects are created, as Step Functions does."""
    if path is None:
        return raw_input
    is_context, segments = parse_path(path)
    if is_context:
        raise runtime_error(f"ResultPath '{path}' cannot refer to the context object")
    if not segments:
        return result
    if not isinstance(raw_input, dict):
        raise StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply ResultPath '{path}' to input {raw_input!r}",
        )
    out = copy.deepcopy(raw_input)
    node: Any = out
    for kind, arg in segments[:-1]:
        if kind != "key":
            raise runtime_error(f"ResultPath '{path}' may only use object fields")
        nxt = node.get(arg)
        if not isinstance(nxt, dict):
            nxt = {}
            node[arg] = nxt
        node = nxt
    kind, arg = segments[-1]
    if kind != "key" or not isinstance(node, dict):
        raise StatesError("States.ResultPathMatchFailure", f"Unable to apply ResultPath '{path}'")
    node[arg] = result
    return out


Intrinsic = Callable[[str, Any, Any], Any]


def render(template: Any, data: Any, context: Any, intrinsic: Intrinsic) -> Any:
    """Parameters/ItemSelector/ResultSelector: copy ``template``, resolving ``key.$`` entries.

    A ``key.$`` value is a path (``$...``/``$$...``) or an intrinsic function call; the
    output key drops the ``.$`` suffix. Nested objects and arrays are rendered recursively."""
    if isinstance(template, Mapping):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise runtime_error(f"The value of '{key}' must be a path or intrinsic")
                if value.startswith("$"):
                    out[key[:-2]] = copy.deepcopy(lookup(value, data, context))
                else:
                    out[key[:-2]] = intrinsic(value, data, context)
            else:
                out[key] = render(value, data, context, intrinsic)
        return out
    if isinstance(template, list):
        return [render(v, data, context, intrinsic) for v in template]
    return template
