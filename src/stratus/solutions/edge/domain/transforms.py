"""WAFv2 text transformations, applied in priority order before a statement inspects a value.

Each function copies the AWS WAF transformation of the same name (see "Text transformation
options" in the AWS WAF developer guide); differences are noted where they exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from urllib.parse import unquote_to_bytes

_WS = re.compile(r"[\t\n\x0b\x0c\r \xa0]+")
_SQL_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_SQL_HEX = re.compile(r"0x([0-9a-fA-F]{2,})")
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.DOTALL)
_JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\([0-7]{1,3})|\\(.)", re.DOTALL)
_UNI = re.compile(r"%u([0-9a-fA-F]{4})")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@lru_cache(maxsize=512)
def html_entity_decode(value: str) -> str:
    """``html.unescape``, memoised: one request's value is decoded by several chains (and
    again by the XSS detector), and headers repeat across requests."""
    return html.unescape(value) if "&" in value else value


def _url_decode(value: str) -> str:
    # AWS decodes %XX (and "+" is left alone in URL_DECODE); invalid escapes stay as they are.
    if "%" not in value:
        return value
    return unquote_to_bytes(value).decode("utf-8", "replace")


def _url_decode_uni(value: str) -> str:
    return _url_decode(_UNI.sub(lambda m: chr(int(m.group(1), 16)), value))


def _compress_white_space(value: str) -> str:
    return _WS.sub(" ", value)


def _cmd_line(value: str) -> str:
    # delete \ " ' ^ ; spaces before / and (, commas and semicolons become spaces,
    # compress white space, lowercase
    value = re.sub(r"[\\\"'^]", "", value)
    value = re.sub(r"\s+(?=[/(])", "", value)
    value = re.sub(r"[,;]", " ", value)
    return _WS.sub(" ", value).lower()


def _base64_decode(value: str) -> str:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=False).decode(
            "utf-8", "replace"
        )
    except (binascii.Error, ValueError):
        return value


def _base64_decode_ext(value: str) -> str:
    return _base64_decode(
        re.sub(r"[^A-Za-z0-9+/=_-]", "", value).replace("-", "+").replace("_", "/")
    )


def _hex_decode(value: str) -> str:
    try:
        return bytes.fromhex(value).decode("utf-8", "replace")
    except ValueError:
        return value


def _sql_hex_decode(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        digits = match.group(1)
        if len(digits) % 2:
            return match.group(0)
        return bytes.fromhex(digits).decode("latin-1")

    return _SQL_HEX.sub(repl, value)


def _css_decode(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code < 0x110000 else ""
        return match.group(2)

    return _CSS_ESCAPE.sub(repl, value)


def _js_decode(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        uni, hx, octal, other = match.groups()
        if uni:
            return chr(int(uni, 16))
        if hx:
            return chr(int(hx, 16))
        if octal:
            return chr(int(octal, 8) & 0xFF)
        return _ESCAPES.get(other, other)

    return _JS_ESCAPE.sub(repl, value)


def _escape_seq_decode(value: str) -> str:
    return _js_decode(value)


def _normalize_path(value: str) -> str:
    parts: list[str] = []
    for part in re.sub(r"/+", "/", value).split("/"):
        if part == ".":
            continue
        if part == "..":
            if len(parts) > 1:
                parts.pop()
            continue
        parts.append(part)
    joined = "/".join(parts)
    return joined if joined else "/"


def _md5(value: str) -> str:
    # AWS yields the raw 16-byte digest; we keep it as latin-1 text so matching stays on str.
    return hashlib.md5(value.encode(), usedforsecurity=False).digest().decode("latin-1")


TRANSFORMATIONS: dict[str, Callable[[str], str]] = {
    "NONE": lambda v: v,
    "COMPRESS_WHITE_SPACE": _compress_white_space,
    "HTML_ENTITY_DECODE": html_entity_decode,
    "LOWERCASE": str.lower,
    "CMD_LINE": _cmd_line,
    "URL_DECODE": _url_decode,
    "URL_DECODE_UNI": _url_decode_uni,
    "BASE64_DECODE": _base64_decode,
    "BASE64_DECODE_EXT": _base64_decode_ext,
    "HEX_DECODE": _hex_decode,
    "MD5": _md5,
    "REPLACE_COMMENTS": lambda v: _SQL_COMMENT.sub(" ", v),
    "ESCAPE_SEQ_DECODE": _escape_seq_decode,
    "SQL_HEX_DECODE": _sql_hex_decode,
    "CSS_DECODE": _css_decode,
    "JS_DECODE": _js_decode,
    "NORMALIZE_PATH": _normalize_path,
    "NORMALIZE_PATH_WIN": lambda v: _normalize_path(v.replace("\\", "/")),
    "REMOVE_NULLS": lambda v: v.replace("\x00", ""),
    "REPLACE_NULLS": lambda v: v.replace("\x00", " "),
    "TRIM": str.strip,
    "UTF8_TO_UNICODE": lambda v: v,  # values are already decoded as UTF-8 text
}


def apply(value: str, names: Sequence[str]) -> str:
    """Apply the named transformations in order (WAFv2 allows at most 10 per statement)."""
    if not names or (len(names) == 1 and names[0] == "NONE"):
        return value
    return _apply(value, tuple(names))


@lru_cache(maxsize=16384)
def _apply(value: str, names: tuple[str, ...]) -> str:
    # memoised: headers and cookies repeat across requests, and several statements inspect
    # the same field with the same transformations
    for name in names:
        value = TRANSFORMATIONS[name](value)
    return value
