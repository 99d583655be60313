"""T-SQL scripts: tokenizer, ``GO`` batch splitter, statement splitter and parser.

SQL Server's install scripts (Chinook, Northwind) separate batches with ``GO`` on a line of
its own and often end statements without ``;``: inside one batch a ``CREATE TABLE`` can be
followed directly by ``INSERT``s. The splitter therefore cuts a batch at ``;`` and before
every top-level token that can only start a statement (``CREATE``, ``INSERT``, ``ALTER`` ...);
``CREATE VIEW/PROCEDURE/FUNCTION/TRIGGER`` own the rest of their batch, as in SQL Server.

The parser understands what a migration needs (tables, constraints, indexes, views, INSERT
rows, ``SET DATEFORMAT``) and reports everything else as a :class:`Finding` with its line
number: housekeeping (``SET NOCOUNT``, ``IF EXISTS ... DROP``) as ``skipped``, procedures and
triggers as ``untranslated``, anything it cannot read as ``error``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from stratus.solutions.dbmigrate.domain.model import (
    Check,
    Column,
    Finding,
    ForeignKey,
    Index,
    Key,
    SourceSchema,
    SqlType,
    Table,
    View,
)

Value = str | int | Decimal | float | bytes | None


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is word, ident (quoted), str, num, hex, op; ``start``/``end`` are
    offsets in the script, ``line`` is 1-based."""

    kind: str
    text: str
    value: str
    line: int
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        """Whether this is an unquoted word among ``words`` (case-insensitive)."""
        return self.kind == "word" and self.value.upper() in words


_PATTERN = re.compile(
    r"""
    (?P<go>^[ \t]*go(?:[ \t]+\d+)?[ \t]*(?=\r?\n|$|--))
  | (?P<nl>\r?\n)
  | (?P<ws>[ \t\r\f\v]+)
  | (?P<lcomment>--[^\n]*)
  | (?P<bcomment>/\*)
  | (?P<str>[Nn]?'(?:[^']|'')*')
  | (?P<bracket>\[(?:[^\]]|\]\])*\])
  | (?P<dquote>"(?:[^"]|"")*")
  | (?P<hex>0[xX][0-9a-fA-F]*)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_@#$\u00c0-\uffff][A-Za-z0-9_@#$\u00c0-\uffff]*)
  | (?P<op><>|!=|<=|>=|\|\||::|[(),;.=<>+\-*/%&|^~!:])
  """,
    re.VERBOSE | re.IGNORECASE | re.MULTILINE,
)


class ScriptSyntaxError(ValueError):
    """A token the tokenizer cannot read (an unterminated string or comment)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _block_comment_end(text: str, start: int) -> int:
    """T-SQL block comments nest."""
    depth = 0
    i = start
    while i < len(text):
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return -1


def tokenize(text: str) -> Iterator[Token]:
    """Tokens of ``text`` without whitespace and comments; ``GO`` lines become ``go`` tokens."""
    position = 0
    line = 1
    length = len(text)
    while position < length:
        match = _PATTERN.match(text, position)
        if match is None:
            snippet = text[position : position + 20].split("\n", maxsplit=1)[0]
            raise ScriptSyntaxError(f"cannot read {snippet!r}", line)
        kind = match.lastgroup or ""
        token_text = match.group()
        end = match.end()
        if kind == "bcomment":
            end = _block_comment_end(text, position)
            if end < 0:
                raise ScriptSyntaxError("unterminated /* comment", line)
            token_text = text[position:end]
        elif kind == "str" and not token_text.endswith("'"):
            raise ScriptSyntaxError("unterminated string", line)
        if kind in {"go", "str", "bracket", "dquote", "hex", "num", "word", "op"}:
            yield Token(
                kind=_KIND.get(kind, kind),
                text=token_text,
                value=_value(kind, token_text),
                line=line,
                start=position,
                end=end,
            )
        line += token_text.count("\n")
        position = end


_KIND = {"bracket": "ident", "dquote": "ident"}


def _value(kind: str, text: str) -> str:
    if kind == "str":
        body = text[1:] if text[0] in "Nn" else text
        return body[1:-1].replace("''", "'")
    if kind == "bracket":
        return text[1:-1].replace("]]", "]")
    if kind == "dquote":
        return text[1:-1].replace('""', '"')
    if kind == "go":
        return "GO"
    return text


@dataclass(frozen=True)
class Statement:
    """A statement's tokens (never empty) and where it starts."""

    tokens: tuple[Token, ...]

    @property
    def line(self) -> int:
        """The line the statement starts on."""
        return self.tokens[0].line

    def source(self, text: str) -> str:
        """The statement as written in ``text``."""
        return text[self.tokens[0].start : self.tokens[-1].end]


def split_batches(text: str) -> list[list[Token]]:
    """The script's ``GO``-separated batches, as token lists (empty batches dropped)."""
    batches: list[list[Token]] = []
    current: list[Token] = []
    for token in tokenize(text):
        if token.kind == "go":
            if current:
                batches.append(current)
            current = []
        else:
            current.append(token)
    if current:
        batches.append(current)
    return batches


_STARTERS = frozenset(
    [
        "CREATE",
        "INSERT",
        "ALTER",
        "IF",
        "DROP",
        "USE",
        "EXEC",
        "EXECUTE",
        "DECLARE",
        "PRINT",
        "TRUNCATE",
        "GRANT",
        "DENY",
        "REVOKE",
        "RAISERROR",
        "DBCC",
        "CHECKPOINT",
    ]
)
_SET_OPTIONS = frozenset(
    [
        "NOCOUNT",
        "QUOTED_IDENTIFIER",
        "IDENTITY_INSERT",
        "DATEFORMAT",
        "ANSI_NULLS",
        "ANSI_PADDING",
        "ANSI_WARNINGS",
        "XACT_ABORT",
        "ROWCOUNT",
        "LANGUAGE",
        "ARITHABORT",
        "CONCAT_NULL_YIELDS_NULL",
        "NUMERIC_ROUNDABORT",
        "DATEFIRST",
        "LOCK_TIMEOUT",
        "TRANSACTION",
        "IMPLICIT_TRANSACTIONS",
        "NOEXEC",
        "STATISTICS",
    ]
)
_WHOLE_BATCH = frozenset({"VIEW", "PROC", "PROCEDURE", "FUNCTION", "TRIGGER"})


def split_statements(batch: list[Token]) -> list[Statement]:
    """Cut one batch into statements (``;`` optional, see the module docstring)."""
    statements: list[Statement] = []
    current: list[Token] = []
    depth = 0
    whole_batch = False

    def flush() -> None:
        if current:
            statements.append(Statement(tuple(current)))
            current.clear()

    for i, token in enumerate(batch):
        if whole_batch:
            current.append(token)
            continue
        if token.kind == "op" and token.value == ";" and depth == 0:
            flush()
            continue
        if depth == 0 and current and _starts_statement(batch, i):
            flush()
        if token.kind == "op" and token.value == "(":
            depth += 1
        elif token.kind == "op" and token.value == ")":
            depth = max(0, depth - 1)
        current.append(token)
        if len(current) >= 2 and current[0].is_word("CREATE", "ALTER"):
            kinds = [t.value.upper() for t in current[1:3] if t.kind == "word"]
            if any(k in _WHOLE_BATCH for k in kinds) and not (
                current[0].is_word("ALTER") and "TABLE" in kinds
            ):
                whole_batch = True
    flush()
    return statements


def _starts_statement(batch: list[Token], i: int) -> bool:
    token = batch[i]
    if token.kind != "word":
        return False
    word = token.value.upper()
    previous = batch[i - 1] if i else None
    if word in _STARTERS:
        # "ON DELETE", "FOR INSERT" and "WITH CHECK" never start a statement; "ELSE IF" does.
        return not (previous is not None and previous.is_word("FOR", "AFTER", "INSTEAD", "OF"))
    if word in {"DELETE", "UPDATE", "MERGE", "BEGIN"}:
        if previous is None:
            return True
        if previous.kind == "op" and previous.value == ",":
            return False
        return not previous.is_word("ON", "FOR", "AFTER", "OF")
    if word == "SET":
        following = batch[i + 1] if i + 1 < len(batch) else None
        return (
            following is not None
            and following.kind == "word"
            and (following.value.upper() in _SET_OPTIONS)
        )
    return False


# ------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class InsertBatch:
    """Rows of one INSERT: ``columns`` is empty when the statement named none."""

    table: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    line: int


@dataclass(frozen=True)
class ParsedScript:
    """A T-SQL script read: its schema, its INSERT rows and ``SET DATEFORMAT`` (default mdy)."""

    schema: SourceSchema
    inserts: tuple[InsertBatch, ...]
    dateformat: str = "mdy"
    statements: int = 0

    def rows_of(self, table: str) -> Iterator[tuple[tuple[str, ...], tuple[Value, ...], int]]:
        """(columns, row, line) of every INSERT row of ``table`` in script order."""
        for batch in self.inserts:
            if batch.table.lower() == table.lower():
                for row in batch.rows:
                    yield batch.columns, row, batch.line


class ParseError(ValueError):
    """A statement the parser cannot read."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _Cursor:
    def __init__(self, tokens: tuple[Token, ...], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            raise ParseError("unexpected end of statement", last.line)
        self.i += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.is_word(*words)

    def is_op(self, op: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.value == op

    def accept_word(self, *words: str) -> bool:
        if self.is_word(*words):
            self.i += 1
            return True
        return False

    def accept_op(self, op: str) -> bool:
        if self.is_op(op):
            self.i += 1
            return True
        return False

    def expect_word(self, *words: str) -> None:
        token = self.next()
        if not token.is_word(*words):
            raise ParseError(f"expected {' or '.join(words)}, found {token.text!r}", token.line)

    def expect_op(self, op: str) -> None:
        token = self.next()
        if not (token.kind == "op" and token.value == op):
            raise ParseError(f"expected {op!r}, found {token.text!r}", token.line)

    def name(self) -> str:
        """A possibly qualified name: the last part (``[dbo].[Album]`` -> ``Album``)."""
        token = self.next()
        if token.kind not in {"word", "ident"}:
            raise ParseError(f"expected a name, found {token.text!r}", token.line)
        part = token.value
        while self.is_op("."):
            self.i += 1
            following = self.next()
            if following.kind not in {"word", "ident"}:
                raise ParseError(f"expected a name, found {following.text!r}", following.line)
            part = following.value
        return part

    def name_list(self) -> tuple[str, ...]:
        """``(a [ASC], b DESC)`` -> ``("a", "b")``."""
        self.expect_op("(")
        names: list[str] = []
        while True:
            names.append(self.name())
            self.accept_word("ASC", "DESC")
            if self.accept_op(")"):
                return tuple(names)
            self.expect_op(",")

    def balanced(self) -> str:
        """The text of a parenthesised group, without the outer parentheses."""
        open_token = self.next()
        if not (open_token.kind == "op" and open_token.value == "("):
            raise ParseError(f"expected '(', found {open_token.text!r}", open_token.line)
        depth = 1
        first = self.i
        while True:
            token = self.next()
            if token.kind == "op" and token.value == "(":
                depth += 1
            elif token.kind == "op" and token.value == ")":
                depth -= 1
                if depth == 0:
                    if self.i - 1 == first:
                        return ""
                    return self.text[self.tokens[first].start : self.tokens[self.i - 2].end]

    def skip_balanced(self) -> None:
        self.balanced()

    def skip_storage(self) -> None:
        """``ON [PRIMARY]``, ``TEXTIMAGE_ON x``, ``WITH (...)``, ``WITH FILLFACTOR = 90``."""
        while True:
            if self.is_word("ON") and not self.is_word_at(1, "DELETE", "UPDATE"):
                self.i += 1
                self.name()
                if self.is_op("("):
                    self.skip_balanced()
            elif self.accept_word("TEXTIMAGE_ON", "FILESTREAM_ON"):
                self.name()
            elif self.is_word("WITH") and self.is_op_at(1, "("):
                self.i += 1
                self.skip_balanced()
            elif self.is_word("WITH") and self.is_word_at(1, "FILLFACTOR"):
                self.i += 4
            else:
                return

    def is_word_at(self, ahead: int, *words: str) -> bool:
        token = self.peek(ahead)
        return token is not None and token.is_word(*words)

    def is_op_at(self, ahead: int, op: str) -> bool:
        token = self.peek(ahead)
        return token is not None and token.kind == "op" and token.value == op


@dataclass
class _Builder:
    """Mutable table under construction (the parse is incremental: ALTER TABLE adds to it)."""

    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: Key | None = None
    uniques: list[Key] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)

    def freeze(self) -> Table:
        return Table(
            name=self.name,
            columns=tuple(self.columns),
            primary_key=self.primary_key,
            uniques=tuple(self.uniques),
            foreign_keys=tuple(self.foreign_keys),
            checks=tuple(self.checks),
            indexes=tuple(self.indexes),
        )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tables: dict[str, _Builder] = {}
        self.views: list[View] = []
        self.findings: list[Finding] = []
        self.inserts: list[InsertBatch] = []
        self.dateformat = "mdy"
        self.count = 0

    def run(self) -> ParsedScript:
        try:
            batches = split_batches(self.text)
        except ScriptSyntaxError as exc:
            self.findings.append(Finding("error", "script", str(exc), exc.line))
            batches = []
        for batch in batches:
            for statement in split_statements(batch):
                self.count += 1
                try:
                    self.statement(statement)
                except ParseError as exc:
                    self.findings.append(
                        Finding("error", _summary(statement, self.text), str(exc), exc.line)
                    )
        schema = SourceSchema(
            tables=tuple(b.freeze() for b in self.tables.values()),
            views=tuple(self.views),
            findings=tuple(self.findings),
        )
        return ParsedScript(schema, tuple(self.inserts), self.dateformat, self.count)

    def table(self, name: str, line: int) -> _Builder:
        builder = self.tables.get(name.lower())
        if builder is None:
            raise ParseError(f"table {name} is not defined before this statement", line)
        return builder

    def statement(self, statement: Statement) -> None:
        cursor = _Cursor(statement.tokens, self.text)
        first = cursor.next()
        if first.is_word("CREATE"):
            self.create(cursor, statement)
        elif first.is_word("INSERT"):
            self.insert(cursor, statement)
        elif first.is_word("ALTER") and cursor.is_word("TABLE"):
            self.alter_table(cursor, statement)
        elif first.is_word("SET"):
            option = cursor.next()
            if option.is_word("DATEFORMAT"):
                self.dateformat = cursor.next().value.lower()
            # every other SET is session housekeeping with no effect on the target
        elif first.is_word(
            "IF", "DROP", "USE", "PRINT", "ALTER", "BEGIN", "END", "DECLARE", "EXEC", "EXECUTE",
            "DBCC", "CHECKPOINT", "GRANT", "DENY", "REVOKE",
        ):  # fmt: skip
            self.findings.append(
                Finding("skipped", _summary(statement, self.text), "housekeeping", first.line)
            )
        else:
            self.findings.append(
                Finding("untranslated", _summary(statement, self.text), "statement not migrated",
                        first.line)
            )  # fmt: skip

    def create(self, cursor: _Cursor, statement: Statement) -> None:
        if cursor.accept_word("TABLE"):
            self.create_table(cursor, statement.line)
            return
        unique = cursor.accept_word("UNIQUE")
        cursor.accept_word("CLUSTERED", "NONCLUSTERED")
        if cursor.accept_word("INDEX"):
            name = cursor.name()
            cursor.expect_word("ON")
            table = self.table(cursor.name(), statement.line)
            columns = cursor.name_list()
            if cursor.is_word("INCLUDE"):
                cursor.next()
                cursor.skip_balanced()
            if cursor.is_word("WHERE"):
                raise ParseError("filtered indexes are not migrated", statement.line)
            table.indexes.append(Index(name, columns, unique))
            return
        if cursor.is_word("VIEW"):
            cursor.next()
            name = cursor.name()
            if cursor.is_op("("):
                cursor.skip_balanced()
            cursor.expect_word("AS")
            body_start = cursor.peek()
            if body_start is None:
                raise ParseError("empty view", statement.line)
            body = self.text[body_start.start : statement.tokens[-1].end]
            self.views.append(View(name, body))
            return
        kind = cursor.peek()
        if kind is not None and kind.is_word("PROC", "PROCEDURE", "FUNCTION", "TRIGGER"):
            cursor.next()
            name = cursor.name()
            self.findings.append(
                Finding("untranslated", f"{kind.value.lower()} {name}",
                        "procedural code is not translated: port it by hand", statement.line)
            )  # fmt: skip
            return
        if kind is not None and kind.is_word("DATABASE", "SCHEMA", "LOGIN", "USER", "ROLE"):
            self.findings.append(
                Finding("skipped", _summary(statement, self.text), "housekeeping", statement.line)
            )
            return
        self.findings.append(
            Finding("untranslated", _summary(statement, self.text), "statement not migrated",
                    statement.line)
        )  # fmt: skip

    def create_table(self, cursor: _Cursor, line: int) -> None:
        name = cursor.name()
        if name.startswith("#"):
            raise ParseError("temporary tables are not migrated", line)
        builder = _Builder(name)
        cursor.expect_op("(")
        while True:
            token = cursor.peek()
            if token is None:
                raise ParseError("unterminated CREATE TABLE", line)
            if token.is_word("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "INDEX"):
                self.table_constraint(cursor, builder)
            else:
                self.column(cursor, builder)
            if cursor.accept_op(")"):
                break
            cursor.expect_op(",")
            if cursor.accept_op(")"):  # trailing comma, as some generators write
                break
        cursor.skip_storage()
        if not cursor.at_end():
            extra = cursor.next()
            raise ParseError(f"unexpected {extra.text!r} after CREATE TABLE", extra.line)
        self.tables[name.lower()] = builder

    def column(self, cursor: _Cursor, builder: _Builder) -> None:
        name_token = cursor.peek()
        name = cursor.name()
        if cursor.is_word("AS"):
            cursor.next()
            self.findings.append(
                Finding("untranslated", f"{builder.name}.{name}",
                        "computed column left out: add it as a view column or generated column",
                        name_token.line if name_token else None)
            )  # fmt: skip
            _skip_to_comma(cursor)
            return
        sql_type = _type(cursor)
        nullable = True
        default: str | None = None
        identity = False
        while True:
            token = cursor.peek()
            if token is None or (token.kind == "op" and token.value in {",", ")"}):
                break
            if cursor.accept_word("IDENTITY"):
                identity = True
                if cursor.is_op("("):
                    cursor.skip_balanced()
            elif cursor.accept_word("NOT"):
                if cursor.accept_word("NULL"):
                    nullable = False
                else:
                    cursor.expect_word("FOR")
                    cursor.expect_word("REPLICATION")
            elif cursor.accept_word("NULL"):
                nullable = True
            elif cursor.accept_word("CONSTRAINT"):
                constraint_name = cursor.name()
                default = self.column_constraint(cursor, builder, name, constraint_name, default)
            elif token.is_word("DEFAULT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "FOREIGN"):
                default = self.column_constraint(cursor, builder, name, None, default)
            elif cursor.accept_word("COLLATE"):
                cursor.next()
            elif cursor.accept_word("ROWGUIDCOL", "SPARSE", "FILESTREAM", "PERSISTED"):
                pass
            else:
                raise ParseError(f"unexpected {token.text!r} in column {name}", token.line)
        builder.columns.append(Column(name, sql_type, nullable, default, identity))

    def column_constraint(
        self,
        cursor: _Cursor,
        builder: _Builder,
        column: str,
        constraint_name: str | None,
        default: str | None,
    ) -> str | None:
        if cursor.accept_word("DEFAULT"):
            return _expression(cursor)
        if cursor.accept_word("PRIMARY"):
            cursor.expect_word("KEY")
            cursor.accept_word("CLUSTERED", "NONCLUSTERED")
            builder.primary_key = Key(constraint_name, (column,))
            cursor.skip_storage()
        elif cursor.accept_word("UNIQUE"):
            cursor.accept_word("CLUSTERED", "NONCLUSTERED")
            builder.uniques.append(Key(constraint_name, (column,)))
            cursor.skip_storage()
        elif cursor.accept_word("CHECK"):
            _not_for_replication(cursor)
            builder.checks.append(Check(constraint_name, cursor.balanced()))
        else:
            if cursor.accept_word("FOREIGN"):
                cursor.expect_word("KEY")
            cursor.expect_word("REFERENCES")
            builder.foreign_keys.append(self.references(cursor, constraint_name, (column,)))
        return default

    def references(self, cursor: _Cursor, name: str | None, columns: tuple[str, ...]) -> ForeignKey:
        ref_table = cursor.name()
        ref_columns = cursor.name_list() if cursor.is_op("(") else ()
        on_delete = on_update = None
        while cursor.is_word("ON") and cursor.is_word_at(1, "DELETE", "UPDATE"):
            cursor.next()
            which = cursor.next().value.upper()
            action_words = [cursor.next().value.upper()]
            if action_words[0] in {"NO", "SET"}:
                action_words.append(cursor.next().value.upper())
            action = " ".join(action_words)
            if which == "DELETE":
                on_delete = action
            else:
                on_update = action
        _not_for_replication(cursor)
        return ForeignKey(name, columns, ref_table, ref_columns, on_delete, on_update)

    def table_constraint(self, cursor: _Cursor, builder: _Builder) -> None:
        name = cursor.name() if cursor.accept_word("CONSTRAINT") else None
        if cursor.accept_word("PRIMARY"):
            cursor.expect_word("KEY")
            cursor.accept_word("CLUSTERED", "NONCLUSTERED")
            builder.primary_key = Key(name, cursor.name_list())
            cursor.skip_storage()
        elif cursor.accept_word("UNIQUE"):
            cursor.accept_word("CLUSTERED", "NONCLUSTERED")
            builder.uniques.append(Key(name, cursor.name_list()))
            cursor.skip_storage()
        elif cursor.accept_word("FOREIGN"):
            cursor.expect_word("KEY")
            columns = cursor.name_list()
            cursor.expect_word("REFERENCES")
            builder.foreign_keys.append(self.references(cursor, name, columns))
        elif cursor.accept_word("CHECK"):
            _not_for_replication(cursor)
            builder.checks.append(Check(name, cursor.balanced()))
        elif cursor.accept_word("DEFAULT"):
            expression = _expression(cursor)
            cursor.expect_word("FOR")
            column = cursor.name()
            for i, existing in enumerate(builder.columns):
                if existing.name.lower() == column.lower():
                    builder.columns[i] = Column(
                        existing.name, existing.type, existing.nullable, expression,
                        existing.identity,
                    )  # fmt: skip
                    return
            token = cursor.peek(-1)
            raise ParseError(f"DEFAULT FOR unknown column {column}", token.line if token else 0)
        elif cursor.accept_word("INDEX"):
            index_name = cursor.name()
            unique = cursor.accept_word("UNIQUE")
            cursor.accept_word("CLUSTERED", "NONCLUSTERED")
            builder.indexes.append(Index(index_name, cursor.name_list(), unique))
            cursor.skip_storage()
        else:
            token = cursor.next()
            raise ParseError(f"unexpected {token.text!r} in constraint", token.line)

    def alter_table(self, cursor: _Cursor, statement: Statement) -> None:
        cursor.expect_word("TABLE")
        builder = self.table(cursor.name(), statement.line)
        if cursor.accept_word("WITH"):
            cursor.expect_word("CHECK", "NOCHECK")
        if cursor.is_word("NOCHECK", "CHECK") and cursor.is_word_at(1, "CONSTRAINT"):
            self.findings.append(
                Finding("skipped", _summary(statement, self.text),
                        "constraint checking is switched by the loader", statement.line)
            )  # fmt: skip
            return
        if not cursor.accept_word("ADD"):
            raise ParseError("only ALTER TABLE ... ADD is migrated", statement.line)
        while True:
            token = cursor.peek()
            if token is not None and token.is_word(
                "CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "DEFAULT"
            ):
                self.table_constraint(cursor, builder)
            else:
                self.column(cursor, builder)
            if not cursor.accept_op(","):
                break
        if not cursor.at_end():
            extra = cursor.next()
            raise ParseError(f"unexpected {extra.text!r} in ALTER TABLE", extra.line)

    def insert(self, cursor: _Cursor, statement: Statement) -> None:
        cursor.accept_word("INTO")
        table = cursor.name()
        self.table(table, statement.line)
        columns: tuple[str, ...] = ()
        if cursor.is_op("("):
            columns = cursor.name_list()
        if not cursor.accept_word("VALUES"):
            raise ParseError("only INSERT ... VALUES is migrated from a script", statement.line)
        rows: list[tuple[Value, ...]] = []
        while True:
            cursor.expect_op("(")
            row: list[Value] = []
            while True:
                row.append(_literal(cursor))
                if cursor.accept_op(")"):
                    break
                cursor.expect_op(",")
            rows.append(tuple(row))
            if not cursor.accept_op(","):
                break
        if not cursor.at_end():
            extra = cursor.next()
            raise ParseError(f"unexpected {extra.text!r} after VALUES", extra.line)
        self.inserts.append(InsertBatch(table, columns, tuple(rows), statement.line))


def _type(cursor: _Cursor) -> SqlType:
    name = cursor.name()
    if name.lower() == "double" and cursor.accept_word("PRECISION"):
        name = "double precision"
    params: tuple[str, ...] = ()
    if cursor.is_op("("):
        params = tuple(p.strip() for p in cursor.balanced().split(","))
    return SqlType(name.lower(), params)


def _expression(cursor: _Cursor) -> str:
    """A DEFAULT expression: a parenthesised group, or a run of tokens up to the next clause."""
    if cursor.is_op("("):
        return "(" + cursor.balanced() + ")"
    start = cursor.next()
    end = start
    while True:
        token = cursor.peek()
        if token is None or (token.kind == "op" and token.value in {",", ")"}):
            break
        if token.is_word("NOT", "NULL", "CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOR",
                         "REFERENCES", "IDENTITY", "COLLATE"):  # fmt: skip
            break
        cursor.next()
        if token.kind == "op" and token.value == "(":
            cursor.i -= 1
            cursor.skip_balanced()
            end = cursor.tokens[cursor.i - 1]
        else:
            end = token
    return cursor.text[start.start : end.end]


def _not_for_replication(cursor: _Cursor) -> None:
    if cursor.is_word("NOT") and cursor.is_word_at(1, "FOR"):
        cursor.i += 3


def _skip_to_comma(cursor: _Cursor) -> None:
    depth = 0
    while True:
        token = cursor.peek()
        if token is None:
            return
        if token.kind == "op" and token.value == "(":
            depth += 1
        elif token.kind == "op" and token.value == ")":
            if depth == 0:
                return
            depth -= 1
        elif token.kind == "op" and token.value == "," and depth == 0:
            return
        cursor.next()


def _literal(cursor: _Cursor) -> Value:
    token = cursor.next()
    sign = ""
    if token.kind == "op" and token.value in {"-", "+"}:
        sign = "-" if token.value == "-" else ""
        token = cursor.next()
    if token.kind == "str" and not sign:
        return token.value
    if token.kind == "num":
        text = sign + token.value
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if "e" in text.lower():
            return float(text)
        return Decimal(text)
    if token.kind == "hex" and not sign:
        digits = token.value[2:]
        if len(digits) % 2:
            digits = "0" + digits
        return bytes.fromhex(digits)
    if token.is_word("NULL") and not sign:
        return None
    if token.is_word("CAST", "CONVERT") and not sign:
        return _cast_literal(cursor, token)
    raise ParseError(f"value {token.text!r} is not a literal", token.line)


def _cast_literal(cursor: _Cursor, token: Token) -> Value:
    """``CAST('x' AS t)`` / ``CONVERT(t, 'x' [, style])``: the literal, converted on load."""
    cursor.expect_op("(")
    if token.is_word("CAST"):
        value = _literal(cursor)
        cursor.expect_word("AS")
        _type(cursor)
    else:
        _type(cursor)
        cursor.expect_op(",")
        value = _literal(cursor)
        if cursor.accept_op(","):
            _literal(cursor)
    cursor.expect_op(")")
    return value


def _summary(statement: Statement, text: str) -> str:
    words = " ".join(statement.source(text).split())
    return words[:80]


def parse_script(text: str) -> ParsedScript:
    """Read a whole T-SQL script. Never raises for bad statements: they become findings."""
    return _Parser(text).run()
