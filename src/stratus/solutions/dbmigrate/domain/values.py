"""Values: source value -> target value (conversions), and the normal form verify compares.

A conversion is chosen per column by the type map (``TargetColumn.convert``). The normal
form is a string per value that is the same whether the value was read from the source (and
converted) or read back from PostgreSQL: decimals without trailing zeros, ``real`` rounded to
4-byte floats, timestamps in ISO form (UTC when zoned), bytes in hex, ``char(n)`` without its
padding. A row's digest is a 64-bit BLAKE2b of its normal forms; a table's checksum is the sum
of its rows' digests modulo 2**64: independent of row order, sensitive to duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from hashlib import blake2b
from operator import is_not
from typing import Any

Converter = Callable[[Any], Any]
MASK64 = (1 << 64) - 1


class ConversionError(ValueError):
    """A source value that does not fit its target type."""


_DATE_PATTERNS = {
    "ymd": re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    "compact": re.compile(r"^(\d{4})(\d{2})(\d{2})(?=$|[ T])"),
    "slashed": re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})"),
}
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?\s*([AaPp][Mm])?")


def parse_datetime(text: str, dateformat: str = "mdy") -> dt.datetime:
    """A T-SQL date/time literal: ``2021/1/1``, ``7/4/1996`` (by ``dateformat``),
    ``19970101``, ISO 8601 with optional time and fraction."""
    text = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return parsed
    match = _DATE_PATTERNS["ymd"].match(text) or _DATE_PATTERNS["compact"].match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DATE_PATTERNS["slashed"].match(text)
        if not match:
            raise ConversionError(f"{text!r} is not a date")
        first, second, third = (int(g) for g in match.groups())
        if third < 100:
            third += 1900 if third >= 50 else 2000
        if dateformat == "dmy":
            day, month, year = first, second, third
        else:
            month, day, year = first, second, third
    rest = text[match.end() :]
    hour = minute = second_ = micro = 0
    time_match = _TIME.search(rest)
    if time_match:
        hour, minute = int(time_match.group(1)), int(time_match.group(2))
        second_ = int(time_match.group(3) or 0)
        fraction = time_match.group(4) or ""
        micro = int((fraction + "000000")[:6])
        meridiem = (time_match.group(5) or "").lower()
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
    try:
        return dt.datetime(year, month, day, hour, minute, second_, micro)  # noqa: DTZ001
    except ValueError as exc:
        raise ConversionError(f"{text!r}: {exc}") from exc


def _bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | float):
        return value != 0
    if isinstance(value, bytes):
        return any(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "t", "yes", "y"}:
        return True
    if text in {"0", "false", "f", "no", "n"}:
        return False
    raise ConversionError(f"{value!r} is not a boolean")


def _int(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, Decimal | float):
        if value != int(value):
            raise ConversionError(f"{value!r} is not an integer")
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise ConversionError(f"{value!r} is not an integer") from exc


def _decimal(value: Any) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise ConversionError(f"{value!r} is not a number") from exc


def _float(value: Any) -> Any:
    if value is None or isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ConversionError(f"{value!r} is not a number") from exc


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace").replace("\x00", "")
    return str(value)


def _bytes(value: Any) -> Any:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise ConversionError(f"{value!r} is not binary")


def _uuid(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    if isinstance(value, bytes) and len(value) == 16:
        return uuid.UUID(bytes_le=value)
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ConversionError(f"{value!r} is not a uuid") from exc


def _time(value: Any) -> Any:
    if value is None or isinstance(value, dt.time):
        return value
    if isinstance(value, dt.timedelta):  # MySQL TIME arrives as a timedelta
        seconds = int(value.total_seconds())
        return dt.time(seconds // 3600 % 24, seconds // 60 % 60, seconds % 60)
    if isinstance(value, dt.datetime):
        return value.time()
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ConversionError(f"{value!r} is not a time") from exc


def converter(kind: str, dateformat: str = "mdy") -> Converter:
    """The conversion function for a ``TargetColumn.convert`` kind."""

    def timestamp(value: Any) -> Any:
        if value is None or isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)  # noqa: DTZ001
        return parse_datetime(str(value), dateformat)

    def timestamptz(value: Any) -> Any:
        stamp = timestamp(value)
        if stamp is not None and stamp.tzinfo is None:
            return stamp.replace(tzinfo=dt.UTC)
        return stamp

    def date(value: Any) -> Any:
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        stamp = timestamp(value)
        return stamp.date()

    table: dict[str, Converter] = {
        "bool": _bool,
        "int": _int,
        "decimal": _decimal,
        "float": _float,
        "real": _float,
        "text": _text,
        "bytes": _bytes,
        "uuid": _uuid,
        "time": _time,
        "timestamp": timestamp,
        "timestamptz": timestamptz,
        "date": date,
    }
    return table.get(kind, _text)


_READY: dict[str, frozenset[type]] = {
    "int": frozenset({int, type(None)}),
    "text": frozenset({str, type(None)}),
    "float": frozenset({float, int, type(None)}),
    "real": frozenset({float, int, type(None)}),
    # PostgreSQL reads a float's shortest repr into numeric(p,s) exactly as Decimal(repr()).
    "decimal": frozenset({Decimal, int, float, type(None)}),
    "bool": frozenset({bool, type(None)}),
    "bytes": frozenset({bytes, type(None)}),
    "timestamp": frozenset({dt.datetime, type(None)}),
    "date": frozenset({dt.date, type(None)}),
    "uuid": frozenset({uuid.UUID, type(None)}),
    "time": frozenset({dt.time, type(None)}),
}


_INTS = frozenset({int, bool, type(None)})
_BITS = frozenset({0, 1, None})
_STRS = frozenset({str, type(None)})
_ISO_RUN = re.compile(r"(?:\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?)?\n)*")


def _iso_dates(column: Sequence[Any]) -> bool:
    """Whether every string of ``column`` is an ISO date or timestamp without zone (one regex
    over the joined batch: C speed)."""
    present = list(filter(partial(is_not, None), column))
    if "" in present:
        return False
    joined = "\n".join(present) + "\n" if present else ""
    return _ISO_RUN.fullmatch(joined) is not None


def batch_converter(
    kinds: Sequence[str], dateformat: str = "mdy", *, strict: bool = False
) -> Callable[[list[Any]], list[Any]]:
    """Convert a batch of rows column by column.

    A column whose values already have the target's Python type is passed through untouched
    (checked per batch with C-speed ``map(type, ...)``); others go through :func:`converter`
    with ``map``. This is the loader's hot path: far fewer Python calls than per-value work.
    With ``strict`` (verify) every value gets its Python target type: nothing is left to
    PostgreSQL's input parsing.
    """
    converters = [converter(kind, dateformat) for kind in kinds]
    ready = [_READY.get(kind) for kind in kinds]

    def convert(rows: list[Any]) -> list[Any]:
        if not rows:
            return rows
        columns: list[Any] = list(zip(*rows, strict=True))
        changed = False
        for i, column in enumerate(columns):
            allowed = ready[i]
            types = set(map(type, column))
            if allowed is not None and types <= allowed:
                continue
            if strict:
                pass
            elif kinds[i] == "bool" and types <= _INTS and set(column) <= _BITS:
                continue  # PostgreSQL's boolean input takes 0 and 1
            elif kinds[i] in {"timestamp", "date"} and types <= _STRS and _iso_dates(column):
                continue  # ISO text: PostgreSQL parses it as the converter would
            columns[i] = list(map(converters[i], column))
            changed = True
        return list(zip(*columns, strict=True)) if changed else rows

    return convert


# ------------------------------------------------------------------------------ normal form


def _f32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def normaliser(pg_type: str) -> Callable[[Any], str]:
    """The normal-form function for values of a PostgreSQL type (see the module docstring)."""
    base = pg_type.lower().split("(")[0].strip()

    def norm(value: Any) -> str:
        if value is None:
            return "\\N"
        if base == "real":
            return repr(_f32(float(value)))
        if base == "double precision":
            return repr(float(value))
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            return _decimal_text(value)
        if isinstance(value, float):
            return _decimal_text(Decimal(repr(value)))
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return str(value.isoformat(sep=" "))
        if isinstance(value, dt.date | dt.time):
            return str(value.isoformat())
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).hex()
        if isinstance(value, uuid.UUID):
            return str(value)
        if base in {"json", "jsonb"}:
            parsed = json.loads(value) if isinstance(value, str) else value
            return json.dumps(parsed, sort_keys=True, separators=(",", ":"))
        if base in {"char", "character", "bpchar"}:
            return str(value).rstrip(" ")
        return str(value)

    return norm


def row_digest(normals: Sequence[str]) -> int:
    """The 64-bit digest of one row's normal forms."""
    payload = "\x1f".join(normals).encode("utf-8", errors="surrogatepass")
    return int.from_bytes(blake2b(payload, digest_size=8).digest(), "big")
