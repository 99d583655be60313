"""Intrinsic functions (``States.Format(...)`` and friends) of the Amazon States Language.

Arguments are string literals in single quotes (escapes ``\\'``, ``\\{``, ``\\}``, ``\\\\``),
numbers, ``true``/``false``/``null``, paths (``$.x``, ``$$.x``) and nested calls.
Errors raise ``States.IntrinsicFailure`` as Step Functions does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

from stratus.platform.asl.errors import StatesError
from stratus.platform.asl.paths import lookup

FAILURE = "States.IntrinsicFailure"


class _Call:
    __slots__ = ("args", "name")

    def __init__(self, name: str, args: list[Any]) -> None:
        self.name = name
        self.args = args


class _Literal(str):
    """A string literal of the expression, with the positions of its ``{}`` placeholders."""

    placeholders: list[int]


class _Path:
    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> StatesError:
        return StatesError(FAILURE, f"{message} in '{self.text}' at {self.pos}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> _Call:
        self.skip_ws()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "._"
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        if not name.startswith("States."):
            raise self.fail("Expected an intrinsic function 'States.*'")
        self.skip_ws()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.fail("Expected '('")
        self.pos += 1
        args: list[Any] = []
        self.skip_ws()
        if self.pos < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
            return _Call(name, args)
        while True:
            args.append(self.arg())
            self.skip_ws()
            if self.pos >= len(self.text):
                raise self.fail("Unclosed '('")
            ch = self.text[self.pos]
            self.pos += 1
            if ch == ")":
                return _Call(name, args)
            if ch != ",":
                raise self.fail("Expected ',' or ')'")

    def arg(self) -> Any:
        self.skip_ws()
        text = self.text
        if self.pos >= len(text):
            raise self.fail("Missing argument")
        ch = text[self.pos]
        if ch == "'":
            return self.string()
        if ch == "$":
            start = self.pos
            depth = 0
            while self.pos < len(text):
                c = text[self.pos]
                if c == "[":
                    depth += 1
                elif c == "]":
                    depth -= 1
                elif depth == 0 and (c in ",)" or c.isspace()):
                    break
                self.pos += 1
            return _Path(text[start : self.pos])
        if text.startswith("States.", self.pos):
            return self.call()
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in ",)" and not text[self.pos].isspace():
            self.pos += 1
        token = text[start : self.pos]
        literals = {"true": True, "false": False, "null": None}
        if token in literals:
            return literals[token]
        try:
            number = float(token)
        except ValueError:
            raise self.fail(f"Unexpected token '{token}'") from None
        return int(number) if number.is_integer() and "." not in token else number

    def string(self) -> str:
        self.pos += 1
        out: list[str] = []
        escaped: set[int] = set()
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                escaped.add(len(out))
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == "'":
                self.pos += 1
                text = "".join(out)
                # Remember where the unescaped '{}' placeholders are, for States.Format.
                literal = _Literal(text)
                literal.placeholders = [
                    i
                    for i in range(len(text) - 1)
                    if text[i : i + 2] == "{}" and i not in escaped and i + 1 not in escaped
                ]
                return literal
            out.append(ch)
            self.pos += 1
        raise self.fail("Unterminated string")


def evaluate(expression: str, data: Any, context: Any) -> Any:
    """Evaluate an intrinsic call such as ``States.Format('Hi {}', $.name)``."""
    parser = _Parser(expression)
    call = parser.call()
    parser.skip_ws()
    if parser.pos != len(expression):
        raise parser.fail("Trailing characters")
    return _apply(call, data, context)


def _value(arg: Any, data: Any, context: Any) -> Any:
    if isinstance(arg, _Call):
        return _apply(arg, data, context)
    if isinstance(arg, _Path):
        return lookup(arg.path, data, context)
    return arg


def _apply(call: _Call, data: Any, context: Any) -> Any:
    fn = _FUNCTIONS.get(call.name)
    if fn is None:
        raise StatesError(FAILURE, f"Unknown intrinsic function {call.name}")
    args = [_value(a, data, context) for a in call.args]
    try:
        return fn(*args)
    except StatesError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, json.JSONDecodeError) as exc:
        raise StatesError(FAILURE, f"{call.name}: {exc}") from exc


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise StatesError(FAILURE, message)


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    _need(v is None or isinstance(v, int | float | bool), "States.Format takes scalars only")
    return json.dumps(v)


def _format(template: str, *args: Any) -> str:
    _need(isinstance(template, str), "States.Format needs a string template")
    out: list[str] = []
    i = 0
    used = 0
    # '{}' is the only placeholder; in a literal, '\\{' and '\\}' are plain braces.
    slots = set(getattr(template, "placeholders", [])) if isinstance(template, _Literal) else None
    while i < len(template):
        if template.startswith("{}", i) and (slots is None or i in slots):
            _need(used < len(args), "States.Format has more placeholders than arguments")
            out.append(_fmt_value(args[used]))
            used += 1
            i += 2
        else:
            out.append(template[i])
            i += 1
    _need(used == len(args), "States.Format has more arguments than placeholders")
    return "".join(out)


def _partition(array: list[Any], size: int) -> list[list[Any]]:
    _need(isinstance(array, list) and _is_int(size) and size > 0, "bad ArrayPartition args")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _range(start: int, end: int, step: int) -> list[int]:
    _need(_is_int(start) and _is_int(end) and _is_int(step) and step != 0, "bad ArrayRange")
    out = list(range(start, end + (1 if step > 0 else -1), step))
    _need(len(out) <= 1000, "States.ArrayRange returns at most 1000 items")
    return out


def _get_item(array: list[Any], index: int) -> Any:
    _need(isinstance(array, list) and _is_int(index), "bad ArrayGetItem args")
    _need(0 <= index < len(array), f"index {index} out of bounds")
    return array[index]


def _unique(array: list[Any]) -> list[Any]:
    _need(isinstance(array, list), "States.ArrayUnique needs an array")
    out: list[Any] = []
    for item in array:
        if item not in out:
            out.append(item)
    return out


def _math_add(a: int, b: int) -> int:
    _need(_is_int(a) and _is_int(b), "States.MathAdd takes integers")
    return a + b


def _math_random(start: int, end: int, seed: int | None = None) -> int:
    _need(_is_int(start) and _is_int(end) and start < end, "bad MathRandom range")
    rng = random.Random(seed) if seed is not None else random  # noqa: S311 - not crypto
    # Step Functions: start inclusive, end exclusive.
    return rng.randrange(start, end)


def _split(text: str, delimiters: str) -> list[str]:
    _need(isinstance(text, str) and isinstance(delimiters, str), "StringSplit takes strings")
    # Each character of the delimiter string splits; empty pieces are dropped.
    parts = [text]
    for d in delimiters:
        parts = [p for piece in parts for p in piece.split(d)]
    return [p for p in parts if p != ""]


def _hash(data: Any, algorithm: str) -> str:
    names = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384",
             "SHA-512": "sha512"}  # fmt: skip
    _need(algorithm in names, f"States.Hash: unsupported algorithm {algorithm}")
    _need(isinstance(data, str), "States.Hash hashes strings only")
    return hashlib.new(names[algorithm], data.encode()).hexdigest()


def _merge(a: Any, b: Any, deep: bool) -> dict[str, Any]:
    _need(isinstance(a, dict) and isinstance(b, dict), "States.JsonMerge takes two objects")
    # Step Functions only supports shallow merging (the flag must be false).
    _need(deep is False, "States.JsonMerge supports only shallow merge (false)")
    return {**a, **b}


def _b64decode(s: str) -> str:
    return base64.b64decode(s.encode(), validate=True).decode()


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.StringToJson": json.loads,
    "States.JsonToString": lambda v: json.dumps(v, separators=(",", ":")),
    "States.Array": lambda *a: list(a),
    "States.ArrayPartition": _partition,
    "States.ArrayContains": lambda arr, v: isinstance(arr, list) and v in arr,
    "States.ArrayRange": _range,
    "States.ArrayGetItem": _get_item,
    "States.ArrayLength": lambda arr: len(arr) if isinstance(arr, list) else _need(False, "?"),
    "States.ArrayUnique": _unique,
    "States.MathAdd": _math_add,
    "States.MathRandom": _math_random,
    "States.StringSplit": _split,
    "States.UUID": lambda: str(uuid.uuid4()),
    "States.Base64Encode": lambda s: base64.b64encode(s.encode()).decode(),
    "States.Base64Decode": _b64decode,
    "States.Hash": _hash,
    "States.JsonMerge": _merge,
}
