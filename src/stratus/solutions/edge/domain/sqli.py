"""SQL injection detection: a SQL tokenizer and rules over token sequences.

The design follows libinjection's idea, not its code or fingerprint list: user input is
tokenized as SQL in three contexts — as is (a number or bare word), and as if it started
inside a single- or a double-quoted string (the attacker's quote closes the application's
string). Each context gives a short sequence of typed tokens; rules over that sequence ask
"does this read as SQL that changes the query?" (UNION SELECT, a stacked statement, a boolean
operator followed by a comparison after a break-out, a time or error function, a MySQL
executable comment ...). Natural language rarely forms those sequences; attacks must.

``sensitivity="LOW"`` keeps the strong rules only; ``"HIGH"`` (WAFv2's default) adds weaker
ones (a break-out followed by a comment, ORDER BY n, a lone comparison after a break-out),
as AWS WAF's HIGH catches more at the price of more false positives.
"""

# ruff: noqa: SIM102 - one nested `if` per rule keeps the rule table readable
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Sensitivity = Literal["LOW", "HIGH"]

# token types
STRING, NUMBER, BAREWORD, KEYWORD, STATEMENT, UNION, LOGIC, FUNCTION = "snwkEUBf"
OPERATOR, COMPARE, COMMENT, VARIABLE, LPAREN, RPAREN, COMMA, SEMI, EVIL, DOT = "oxcv(),;X."

_STATEMENTS = frozenset(
    [
        "select",
        "insert",
        "update",
        "delete",
        "drop",
        "create",
        "alter",
        "exec",
        "execute",
        "declare",
        "waitfor",
        "shutdown",
        "truncate",
        "merge",
        "grant",
        "revoke",
        "rename",
        "begin",
        "call",
        "handler",
        "load",
    ]
)
_UNIONS = frozenset({"union", "intersect", "except", "minus"})
_LOGIC = frozenset({"and", "or", "xor", "not", "&&", "||"})
_COMPARE_WORDS = frozenset({"like", "rlike", "regexp", "in", "between", "sounds", "is", "glob"})
_KEYWORDS = frozenset(
    [
        "from",
        "where",
        "order",
        "by",
        "group",
        "having",
        "limit",
        "offset",
        "into",
        "outfile",
        "dumpfile",
        "values",
        "set",
        "case",
        "when",
        "then",
        "else",
        "end",
        "null",
        "as",
        "all",
        "distinct",
        "top",
        "delay",
        "procedure",
        "table",
        "database",
        "schema",
        "union",
        "information_schema",
        "sysobjects",
        "syscolumns",
        "sysdatabases",
        "mysql.user",
        "pg_catalog",
        "collate",
        "escape",
        "asc",
        "desc",
        "join",
        "inner",
        "outer",
        "left",
        "right",
        "cross",
        "on",
        "using",
        "true",
        "false",
        "returns",
        "language",
        "strict",
        "function",
        "replace",
        "if",
        "elseif",
        "while",
        "loop",
        "char",
        "varchar",
        "nvarchar",
        "int",
        "integer",
        "binary",
        "cast",
        "convert",
        "mode",
        "boolean",
        "row",
        "exists",
    ]
)
# Functions whose call is SQL beyond doubt (time-based, error-based, file and OS access).
_DANGEROUS_FUNCTIONS = frozenset(
    [
        "sleep",
        "benchmark",
        "pg_sleep",
        "extractvalue",
        "updatexml",
        "load_file",
        "xp_cmdshell",
        "sp_executesql",
        "sp_oacreate",
        "dbms_pipe.receive_message",
        "dbms_lock.sleep",
        "utl_inaddr.get_host_name",
        "utl_http.request",
        "dbms_xmlgen.getxml",
        "ctxsys.drithsx.sn",
        "randomblob",
        "make_set",
        "elt",
        "geometrycollection",
        "multipoint",
        "polygon",
        "linestring",
        "exp",
        "json_keys",
        "gtid_subset",
        "name_const",
        "row_count",
        "version",
        "database",
        "user",
        "current_user",
        "system_user",
        "session_user",
        "schema",
        "@@version",
        "@@datadir",
        "sqlite_version",
        "pg_read_file",
        "lo_import",
        "dblink",
        "openrowset",
        "opendatasource",
        "bulk",
    ]
)
_FUNCTIONS = _DANGEROUS_FUNCTIONS | frozenset(
    [
        "char",
        "chr",
        "concat",
        "concat_ws",
        "substring",
        "substr",
        "mid",
        "ascii",
        "ord",
        "hex",
        "unhex",
        "count",
        "cast",
        "convert",
        "if",
        "ifnull",
        "isnull",
        "nullif",
        "coalesce",
        "case",
        "md5",
        "sha1",
        "rand",
        "floor",
        "length",
        "len",
        "lower",
        "upper",
        "group_concat",
        "string_agg",
        "char_length",
        "left",
        "right",
        "replace",
        "reverse",
        "insert",
        "instr",
        "locate",
        "position",
        "now",
        "sysdate",
        "iif",
        "cot",
        "ln",
        "log",
        "exp",
        "sin",
        "cos",
    ]
)
# SQL built-ins whose call alone reads as SQL (HIGH only): CRS 942151-style fragments.
_SQL_ONLY_FUNCTIONS = frozenset(
    [
        "abs",
        "acos",
        "asin",
        "atan",
        "atan2",
        "avg",
        "bin",
        "bit_and",
        "bit_count",
        "bit_length",
        "bit_or",
        "bit_xor",
        "ceil",
        "ceiling",
        "char_length",
        "character_length",
        "charset",
        "coercibility",
        "collation",
        "compress",
        "concat_ws",
        "conv",
        "convert_tz",
        "crc32",
        "curdate",
        "current_date",
        "current_time",
        "current_timestamp",
        "curtime",
        "datediff",
        "date_add",
        "date_format",
        "date_sub",
        "dayname",
        "dayofmonth",
        "dayofweek",
        "dayofyear",
        "db_name",
        "degrees",
        "des_decrypt",
        "des_encrypt",
        "encode",
        "encrypt",
        "export_set",
        "field",
        "find_in_set",
        "floor",
        "format",
        "from_base64",
        "from_days",
        "from_unixtime",
        "get_format",
        "get_lock",
        "greatest",
        "group_concat",
        "hex",
        "ifnull",
        "inet_aton",
        "inet_ntoa",
        "instr",
        "is_free_lock",
        "is_used_lock",
        "isnull",
        "json_extract",
        "last_insert_id",
        "lcase",
        "least",
        "load_file",
        "localtime",
        "localtimestamp",
        "locate",
        "log10",
        "log2",
        "lower",
        "lpad",
        "ltrim",
        "make_set",
        "master_pos_wait",
        "microsecond",
        "mid",
        "now",
        "nullif",
        "oct",
        "octet_length",
        "old_password",
        "ord",
        "password",
        "period_add",
        "period_diff",
        "pi",
        "pow",
        "power",
        "quarter",
        "quote",
        "radians",
        "rand",
        "release_lock",
        "repeat",
        "rlike",
        "round",
        "rpad",
        "rtrim",
        "sec_to_time",
        "sha",
        "sha1",
        "sha2",
        "sign",
        "sin",
        "soundex",
        "space",
        "sqrt",
        "std",
        "stddev",
        "strcmp",
        "str_to_date",
        "subdate",
        "substring_index",
        "subtime",
        "sysdate",
        "tan",
        "time_format",
        "time_to_sec",
        "timediff",
        "timestamp",
        "to_base64",
        "to_days",
        "trim",
        "truncate",
        "ucase",
        "uncompress",
        "uncompressed_length",
        "unhex",
        "unix_timestamp",
        "upper",
        "utc_date",
        "utc_time",
        "utc_timestamp",
        "uuid",
        "var_pop",
        "var_samp",
        "weekday",
        "weekofyear",
        "yearweek",
        "xmltype",
        "xp_cmdshell",
        "xp_dirtree",
        "xp_regread",
        "xp_fileexist",
        "char",
        "chr",
        "ascii",
        "substr",
        "substring",
        "nvl",
        "decode",
        "to_char",
        "to_number",
        "sys_context",
        "utl_inaddr",
        "dbms_xmlquery",
        "object_id",
        "object_name",
        "col_name",
        "host_name",
        "suser_name",
        "is_srvrolemember",
        "has_dbaccess",
        "openquery",
        "pg_sleep",
        "current_database",
        "pg_read_file",
        "starts_with",
        "array_agg",
        "string_agg",
        "json_agg",
        "jsonb_agg",
    ]
)
_OPERATOR_CHARS = frozenset("=<>!|&+-*/%^~:")
_COMPARE_OPS = frozenset({"=", "<", ">", "<=", ">=", "<>", "!=", "<=>", "==", "!<", "!>"})
_SPACE = frozenset(" \t\n\r\x0b\x0c\xa0\x00")


@dataclass(frozen=True, slots=True)
class Token:
    """One SQL token: its type letter and its (lower-cased) text."""

    kind: str
    text: str
    closed: bool = True  # False for a string or comment that runs to the end of the input


def tokenize(text: str, quote: str = "") -> list[Token]:
    """Tokenize ``text`` as SQL; ``quote`` (``'`` or ``"``) starts inside a string literal."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    if quote:
        end = _string_end(text, 0, quote)
        tokens.append(Token(STRING, text[: end if end >= 0 else n], end >= 0))
        i = n if end < 0 else end + 1
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
            continue
        if ch in "'\"":
            end = _string_end(text, i + 1, ch)
            tokens.append(Token(STRING, text[i + 1 : end if end >= 0 else n], end >= 0))
            i = n if end < 0 else end + 1
        elif ch == "`":
            end = text.find("`", i + 1)
            tokens.append(Token(BAREWORD, text[i + 1 : end if end >= 0 else n].lower()))
            i = n if end < 0 else end + 1
        elif ch == "#" or (ch == "-" and text.startswith("--", i)):
            end = text.find("\n", i)
            tokens.append(Token(COMMENT, text[i : end if end >= 0 else n]))
            i = n if end < 0 else end + 1
        elif ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if text.startswith("/*!", i):  # MySQL executes the inside: evil on its own
                tokens.append(Token(EVIL, "/*!"))
                i += 3
                while i < n and text[i].isdigit():
                    i += 1
                continue
            tokens.append(Token(COMMENT, text[i : end + 2 if end >= 0 else n], end >= 0))
            i = n if end < 0 else end + 2
        elif ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            j = _number_end(text, i)
            tokens.append(Token(NUMBER, text[i:j].lower()))
            i = j
        elif ch == "@":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "@_.$"):
                j += 1
            tokens.append(Token(VARIABLE, text[i:j].lower()))
            i = j
        elif ch.isalpha() or ch in "_$" or ord(ch) > 127:
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_$." or ord(text[j]) > 127):
                j += 1
            word = text[i:j].lower().rstrip(".")
            j = i + len(word) if word else j
            k = j
            while k < n and text[k] in _SPACE:
                k += 1
            tokens.append(_word(word, followed_by_paren=k < n and text[k] == "("))
            i = max(j, i + 1)
        elif ch in _OPERATOR_CHARS:
            j = i + 1
            while j < n and text[j] in _OPERATOR_CHARS and j - i < 3:
                j += 1
            op = text[i:j]
            if op.startswith(("&&", "||")):
                tokens.append(Token(LOGIC, op[:2]))
                i += 2
                continue
            if "--" in op[1:]:  # "=--" : operator then comment
                j = i + op.index("-", 1)
                op = text[i:j]
            tokens.append(Token(COMPARE if op in _COMPARE_OPS else OPERATOR, op))
            i = j
        elif ch in "(),;.":
            tokens.append(Token(ch, ch))
            i += 1
        else:
            tokens.append(Token(BAREWORD, ch))
            i += 1
    return tokens


def _string_end(text: str, start: int, quote: str) -> int:
    """Index of the closing quote (doubled quotes and backslash escapes skipped), or -1."""
    i, n = start, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i
        i += 1
    return -1


def _number_end(text: str, i: int) -> int:
    n = len(text)
    if text.startswith(("0x", "0X", "0b", "0B"), i):
        j = i + 2
        while j < n and text[j] in "0123456789abcdefABCDEF":
            j += 1
        return j
    j = i
    while j < n and (text[j].isdigit() or text[j] == "."):
        j += 1
    if j < n and text[j] in "eE" and j + 1 < n and (text[j + 1].isdigit() or text[j + 1] in "+-"):
        j += 2
        while j < n and text[j].isdigit():
            j += 1
    return j


def _word(word: str, *, followed_by_paren: bool) -> Token:
    if word in _LOGIC:
        return Token(LOGIC, word)
    if word in _UNIONS:
        return Token(UNION, word)
    if word in _STATEMENTS:
        return Token(STATEMENT, word)
    if followed_by_paren and word in _FUNCTIONS:
        return Token(FUNCTION, word)
    if word in _COMPARE_WORDS:
        return Token(COMPARE, word)
    if word in _KEYWORDS:
        return Token(KEYWORD, word)
    return Token(BAREWORD, word)


_OPERAND = frozenset({STRING, NUMBER, VARIABLE, RPAREN, BAREWORD})
_RIGHT = frozenset({STRING, NUMBER, VARIABLE, FUNCTION, LPAREN, BAREWORD, STATEMENT})


@dataclass(frozen=True, slots=True)
class SqliFinding:
    """Why an input reads as SQL injection: the context and the rule that fired."""

    context: str
    rule: str


# Every rule needs one of these (a quote, an operator or bracket, a comment, or a keyword):
# input without any is not SQL injection, and most benign values are rejected here cheaply.
_NEEDED = re.compile(
    r"['\"`=<>();#@|&*!/\\,-]|\b(?:union|intersect|except|minus|select|insert|update|delete|"
    r"drop|create|alter|truncate|exec|execute|declare|waitfor|shutdown|call|begin|sleep|"
    r"benchmark|having|where|order|group|case|into|and|or|xor|not|in|like|rlike|regexp|is|"
    r"between|sounds|glob)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)
def detect(text: str, sensitivity: Sensitivity = "HIGH") -> SqliFinding | None:
    """The first rule that fires in any context, or ``None`` for input that is not SQLi.

    Results are memoised (pure function of the input): headers and cookies repeat across a
    client's requests, so the edge tokenizes each distinct value once."""
    if not text or len(text) < 2 or not _NEEDED.search(text):
        return None
    for context in ("", "'", '"'):
        if context and context not in text:
            continue  # no quote to close the application's string: the context is impossible
        rule = _rules(tokenize(text, context), bool(context), sensitivity)
        if rule:
            return SqliFinding(context or "bare", rule)
    return None


def is_sqli(text: str, sensitivity: Sensitivity = "HIGH") -> bool:
    """True when :func:`detect` finds SQL injection."""
    return detect(text, sensitivity) is not None


def _rules(tokens: list[Token], quoted: bool, sensitivity: Sensitivity) -> str | None:
    kinds = [t.kind for t in tokens if t.kind != COMMENT or t is tokens[-1]]
    toks = [t for t in tokens if t.kind != COMMENT or t is tokens[-1]]
    count = len(toks)
    if count < 2 and not (count == 1 and toks[0].kind == EVIL):
        return None
    high = sensitivity == "HIGH"
    # the break-out: where attacker-controlled SQL starts
    start = 1 if quoted else 0
    if not quoted:
        while start < count and kinds[start] in (NUMBER, BAREWORD, STRING) and start < 1:
            start += 1
    while start < count and kinds[start] == RPAREN:
        start += 1
    for idx in range(count):
        kind, text = kinds[idx], toks[idx].text
        nxt = kinds[idx + 1] if idx + 1 < count else ""
        if kind == EVIL:
            return "mysql-executable-comment"
        if kind == UNION:
            rest = kinds[idx + 1 : idx + 4]
            if STATEMENT in rest and any(
                toks[j].text == "select" for j in range(idx + 1, min(idx + 4, count))
            ):
                return "union-select"
        if kind == SEMI and nxt == STATEMENT and _statement(toks, idx + 1):
            return "stacked-statement"
        if kind == FUNCTION and text in _DANGEROUS_FUNCTIONS:
            if text not in _INFO_FUNCTIONS or (idx > 0 and kinds[idx - 1] in _EXPRESSION_BEFORE):
                return "dangerous-function"
        if (
            high
            and nxt == LPAREN
            and kind in (FUNCTION, BAREWORD)
            and (text in _SQL_ONLY_FUNCTIONS or text.startswith(("xp_", "sp_", "dbms_", "utl_")))
            and (idx == 0 or kinds[idx - 1] in _EXPRESSION_BEFORE | {STRING, NUMBER})
        ):
            return "sql-function-call"
        if kind == STATEMENT and text == "waitfor" and idx + 1 < count:
            if toks[idx + 1].text in ("delay", "time"):
                return "waitfor-delay"
        if kind == KEYWORD and text == "case" and idx + 1 < count and toks[idx + 1].text == "when":
            return "case-when"
        if high and kind in (FUNCTION, LPAREN) and _parenthesised_comparison(toks, idx):
            return "condition-in-parentheses"
        if kind == LPAREN and nxt == STATEMENT and toks[idx + 1].text == "select":
            return "subquery"
        if kind == STATEMENT and text == "select" and _select_from(toks, idx):
            return "select-from"
        if (
            kind == STATEMENT
            and text in ("drop", "create", "alter", "truncate")
            and idx + 1 < count
        ) and toks[idx + 1].text in ("table", "database", "procedure", "function", "user"):
            return "ddl"
        if kind == STATEMENT and text in ("insert", "delete") and idx + 1 < count:
            if toks[idx + 1].text in ("into", "from"):
                return "dml"
        if kind == KEYWORD and text == "into" and idx + 1 < count:
            if toks[idx + 1].text in ("outfile", "dumpfile"):
                return "into-outfile"
        if idx >= start and kind == LOGIC and idx > 0 and kinds[idx - 1] in _OPERAND:
            if _expression_follows(toks, idx + 1, high) and (quoted or idx > 0):
                return "boolean-after-breakout"
        if kind == KEYWORD and text == "where" and _expression_follows(toks, idx + 1, True):
            return "where-condition"
        if kind == KEYWORD and text == "having" and _expression_follows(toks, idx + 1, False):
            return "having-clause"
        if high and kind == KEYWORD and text == "order" and idx + 2 < count:
            if toks[idx + 1].text == "by" and kinds[idx + 2] == NUMBER and idx > 0:
                return "order-by-column"
        if high and kind == KEYWORD and text == "group" and idx + 2 < count and idx > 0:
            if toks[idx + 1].text == "by" and kinds[idx + 2] in (NUMBER, BAREWORD):
                return "group-by"
    if quoted and start < count and kinds[start] == STATEMENT and _statement(toks, start):
        return "breakout-statement"
    if quoted and count >= 2:
        # 'x' -- / 'x')# : the string closed, then the rest of the query commented away
        tail = kinds[start:]
        if high and tail and tail[-1] == COMMENT and all(k in (RPAREN, COMMENT) for k in tail):
            if not toks[-1].text.lstrip("-#/*").strip():
                return "breakout-comment"
        if high and tokens[0].closed and start + 1 < count and kinds[start] == COMPARE:
            after = kinds[start + 2 : start + 3]
            symbolic = not toks[start].text.isalpha()
            if (
                symbolic
                and kinds[start + 1] in (STRING, NUMBER)
                and after in ([], [COMMENT], [LOGIC])
            ):
                return "breakout-comparison"
    return None


_INFO_FUNCTIONS = frozenset(
    [
        "version",
        "database",
        "user",
        "current_user",
        "system_user",
        "session_user",
        "schema",
        "row_count",
        "exp",
        "polygon",
        "linestring",
        "multipoint",
        "geometrycollection",
        "elt",
        "make_set",
        "bulk",
    ]
)
_EXPRESSION_BEFORE = frozenset({OPERATOR, COMPARE, LOGIC, COMMA, LPAREN, STATEMENT, UNION})


def _parenthesised_comparison(toks: list[Token], idx: int) -> bool:
    """``iif(1=1,...`` / ``(5=5)``: a literal-only comparison right inside parentheses."""
    j = idx + 1 if toks[idx].kind == LPAREN else idx + 2
    window = [t.kind for t in toks[j : j + 4]]
    return (
        len(window) == 4
        and window[0] == NUMBER
        and window[1] == COMPARE
        and (window[2] == NUMBER and window[3] in (RPAREN, COMMA))
    )


def _statement(toks: list[Token], i: int) -> bool:
    """A complete-looking SQL statement starts at ``toks[i]`` (after a ``;``)."""
    word = toks[i].text
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if word in ("shutdown", "begin"):
        return True
    if nxt is None:
        return False
    if word == "select":
        return _select_from(toks, i) or nxt.kind in (LPAREN, NUMBER, STRING)
    if word in ("exec", "execute"):
        return nxt.kind in (VARIABLE, LPAREN) or nxt.text.startswith(("xp_", "sp_", "master"))
    if word == "declare":
        return nxt.kind == VARIABLE
    if word == "waitfor":
        return nxt.text in ("delay", "time")
    if word in ("drop", "create", "alter", "truncate"):
        return nxt.text in ("table", "database", "procedure", "function", "user", "or")
    if word == "insert":
        return nxt.text == "into"
    if word == "call":
        return nxt.kind in (BAREWORD, FUNCTION) and i + 2 < len(toks) and toks[i + 2].kind == LPAREN
    if word == "delete":
        return nxt.text == "from"
    if word == "update":
        return any(t.text == "set" for t in toks[i + 2 : i + 4])
    return False


def _select_from(toks: list[Token], idx: int) -> bool:
    """``select <something> from`` (or select of a literal/function, as a query needs)."""
    for j in range(idx + 1, min(idx + 12, len(toks))):
        if toks[j].text == "from" and j > idx + 1:
            return True
    if idx + 1 < len(toks):
        nxt = toks[idx + 1]
        if nxt.kind in (FUNCTION, VARIABLE) or (nxt.kind == KEYWORD and nxt.text == "case"):
            return True
        if nxt.kind == NUMBER and idx + 2 < len(toks) and toks[idx + 2].kind in ",;c":
            return True
        if nxt.text == "*":
            return True
    return False


def _expression_follows(toks: list[Token], i: int, high: bool) -> bool:
    """A SQL boolean expression starts at ``i``: a comparison, a function call, a subquery."""
    n = len(toks)
    if i >= n:
        return False
    depth = 0
    j = i
    while j < n and toks[j].kind in (LPAREN, LOGIC) and toks[j].text in ("(", "not"):
        depth += 1
        j += 1
    if j >= n:
        return False
    first = toks[j]
    if first.kind == FUNCTION:
        return True
    if first.kind == STATEMENT and first.text == "select":
        return True
    if first.kind == COMPARE and j > 0 and toks[j - 1].kind in _OPERAND:
        return j + 1 < n and toks[j + 1].kind in _RIGHT
    if first.kind in (NUMBER, STRING, VARIABLE, BAREWORD) and j + 2 < n + 1:
        k = j + 1
        while (
            k < n
            and toks[k].kind == OPERATOR
            and k + 1 < n
            and toks[k + 1].kind
            in (
                NUMBER,
                STRING,
                VARIABLE,
            )
        ):
            k += 2  # 1+1=2, 'a'||'b'='ab'
        if k < n and toks[k].kind == COMPARE:
            if toks[k].text == "is":
                return k + 1 < n and toks[k + 1].text in ("null", "not", "true", "false")
            if k + 1 < n and toks[k + 1].kind in _RIGHT:
                if first.kind == BAREWORD and toks[k + 1].kind == BAREWORD:
                    return high and depth > 0
                return True
            return False
        if high and first.kind in (NUMBER, VARIABLE) and (k >= n or toks[k].kind == COMMENT):
            return depth == 0 and j > 0 and toks[j - 1].kind == LOGIC and k >= n - 1
    return False
