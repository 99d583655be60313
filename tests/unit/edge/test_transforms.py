"""WAFv2 text transformations, one by one, and their order."""

from __future__ import annotations

import pytest

from stratus.solutions.edge.domain.transforms import TRANSFORMATIONS, apply


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("NONE", "A b", "A b"),
        ("URL_DECODE", "a%20b%27%zz", "a b'%zz"),
        ("URL_DECODE", "%ff", "\ufffd"),  # invalid UTF-8 becomes U+FFFD, never an error
        ("URL_DECODE_UNI", "%u0041%41", "AA"),
        ("HTML_ENTITY_DECODE", "&lt;a&gt;&#39;&#x41;", "<a>'A"),
        ("LOWERCASE", "AbC", "abc"),
        ("COMPRESS_WHITE_SPACE", "a \t\n  b", "a b"),
        ("CMD_LINE", 'C^MD.exe /c "dir" ;ls', "cmd.exe/c dir ls"),
        ("BASE64_DECODE", "aGVsbG8", "hello"),
        ("BASE64_DECODE_EXT", "aGV s bG8", "hello"),
        ("HEX_DECODE", "414243", "ABC"),
        ("HEX_DECODE", "zz", "zz"),
        ("REPLACE_COMMENTS", "a/*x*/b/*open", "a b "),
        ("SQL_HEX_DECODE", "0x414243", "ABC"),
        ("CSS_DECODE", "\\6a avascript", "javascript"),
        ("JS_DECODE", "\\u0061\\x62\\143\\n", "abc\n"),
        ("ESCAPE_SEQ_DECODE", "\\x41", "A"),
        ("NORMALIZE_PATH", "/a//b/./c/../d", "/a/b/d"),
        ("NORMALIZE_PATH_WIN", "\\a\\..\\b", "/b"),
        ("REMOVE_NULLS", "a\x00b", "ab"),
        ("REPLACE_NULLS", "a\x00b", "a b"),
        ("TRIM", "  a  ", "a"),
        ("UTF8_TO_UNICODE", "é", "é"),
    ],
)
def test_each_transformation(name, value, expected):
    assert TRANSFORMATIONS[name](value) == expected


def test_md5_gives_the_sixteen_byte_digest():
    assert len(TRANSFORMATIONS["MD5"]("abc")) == 16


def test_transformations_apply_in_order():
    assert apply("%3CSCRIPT%3E", ["URL_DECODE", "LOWERCASE"]) == "<script>"
    assert apply("%253C", ["URL_DECODE", "URL_DECODE"]) == "<"
