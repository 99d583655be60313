"""T-SQL expressions (defaults, CHECKs, view bodies) to PostgreSQL, with sqlglot.

sqlglot is used for expressions only (the schema itself goes through our own model and DDL
writer). On top of sqlglot's transpilation this module renames identifiers by the identifier
policy, turns comparisons of BIT-become-boolean columns with 0/1 into false/true, string
``+`` into ``||`` and MONEY casts into numeric(19,4).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError


class UntranslatableError(ValueError):
    """An expression this module cannot translate (the reason is the message)."""


@dataclass(frozen=True)
class Naming:
    """How identifiers in an expression are renamed.

    ``tables`` maps lower-case source table/view names to target names; ``column`` renames
    any other identifier; ``quote_all`` quotes every identifier (the ``keep`` policy)."""

    tables: dict[str, str]
    column: Callable[[str], str]
    booleans: frozenset[str] = frozenset()
    quote_all: bool = False
    dialect: str = "tsql"
    schema: str = "public"


_PARENS = re.compile(r"^\((.*)\)$", re.DOTALL)
_NOW = {
    "getdate()", "sysdatetime()", "current_timestamp", "sysdatetimeoffset()",
    "current_timestamp()", "now()", "localtimestamp",
}  # fmt: skip
_UTC_NOW = {"getutcdate()", "sysutcdatetime()"}
_UUID = {"newid()", "newsequentialid()"}


def _strip_parens(text: str) -> str:
    text = text.strip()
    while True:
        match = _PARENS.match(text)
        if not match or not _balanced(match.group(1)):
            return text
        text = match.group(1).strip()


def _balanced(text: str) -> bool:
    depth = 0
    in_string = False
    for char in text:
        if char == "'":
            in_string = not in_string
        elif not in_string and char == "(":
            depth += 1
        elif not in_string and char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def translate_default(source: str, pg_type: str, naming: Naming) -> str:
    """A column DEFAULT for a column of ``pg_type``; raises UntranslatableError."""
    text = _strip_parens(source)
    lowered = re.sub(
        r"^current_timestamp\(\d*\)$", "current_timestamp", text.lower().replace(" ", "")
    )
    if lowered in _NOW:
        return "CURRENT_TIMESTAMP"
    if lowered in _UTC_NOW:
        return "(now() AT TIME ZONE 'utc')"
    if lowered in _UUID:
        return "gen_random_uuid()"
    if lowered == "null":
        raise UntranslatableError("NULL default is no default")
    if pg_type == "boolean":
        if lowered in {"0", "'0'", "'false'"}:
            return "false"
        if lowered in {"1", "'1'", "'true'"}:
            return "true"
        raise UntranslatableError(f"boolean default {source} is not 0 or 1")
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return text
    if re.fullmatch(r"[Nn]?'(?:[^']|'')*'", text):
        return text.lstrip("Nn")
    return translate_expression(text, naming)


def translate_expression(source: str, naming: Naming) -> str:
    """A scalar expression (CHECK, DEFAULT); raises UntranslatableError."""
    try:
        tree = sqlglot.parse_one(source, read=naming.dialect)
    except SqlglotError as exc:
        raise UntranslatableError(f"cannot parse {source!r}: {_first_line(exc)}") from exc
    return _render(tree, naming)


def translate_select(source: str, naming: Naming) -> str:
    """A view body (a SELECT); raises UntranslatableError."""
    try:
        tree = sqlglot.parse_one(source, read=naming.dialect)
    except SqlglotError as exc:
        raise UntranslatableError(f"cannot parse the view body: {_first_line(exc)}") from exc
    if not isinstance(tree, exp.Query):
        raise UntranslatableError("the view body is not a SELECT")
    return _render(tree, naming)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _render(tree: exp.Expr, naming: Naming) -> str:
    unknown = [
        node.name
        for node in tree.find_all(exp.Anonymous)
        if node.name.upper() not in {"COALESCE", "UPPER", "LOWER"}
    ]
    if unknown:
        raise UntranslatableError(f"no PostgreSQL equivalent known for {', '.join(unknown)}()")

    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table):
            # mutated in place: transform() does not descend into a replacement node, and a
            # parenthesised join is a child of its first Table.
            node.set("db", None)
            node.set("catalog", None)
            identifier = node.this
            if isinstance(identifier, exp.Identifier):
                known = naming.tables.get(identifier.name.lower())
                target = known or naming.column(identifier.name)
                node.set("this", exp.Identifier(this=target, quoted=_needs_quotes(target, naming)))
                if known and naming.schema != "public":
                    node.set(
                        "db",
                        exp.Identifier(
                            this=naming.schema, quoted=_needs_quotes(naming.schema, naming)
                        ),
                    )
            return node
        if isinstance(node, exp.Identifier) and not isinstance(node.parent, exp.Table):
            name = node.name
            mapped = naming.tables.get(name.lower()) if _is_table_ref(node) else None
            target = mapped or naming.column(name)
            return exp.Identifier(this=target, quoted=_needs_quotes(target, naming))
        if isinstance(node, exp.DataType) and node.this in {
            exp.DataType.Type.MONEY,
            exp.DataType.Type.SMALLMONEY,
        }:
            return exp.DataType.build("numeric(19,4)")
        return node

    renamed = tree.transform(rename)
    renamed = renamed.transform(lambda node: _booleans(node, naming.booleans))
    rendered = renamed.sql(dialect="postgres")
    for _ in range(20):  # transform is top-down: repeat until string chains settle
        renamed = renamed.transform(_concat)
        again = renamed.sql(dialect="postgres")
        if again == rendered:
            break
        rendered = again
    return rendered


def _is_table_ref(node: exp.Identifier) -> bool:
    """``Orders`` in ``Orders.OrderID`` is a table qualifier of a column."""
    parent = node.parent
    return isinstance(parent, exp.Column) and parent.args.get("table") is node


def _needs_quotes(name: str, naming: Naming) -> bool:
    return naming.quote_all or not re.fullmatch(r"[a-z_][a-z0-9_]*", name)


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _booleans(node: exp.Expr, booleans: frozenset[str]) -> exp.Expr:
    if not isinstance(node, exp.EQ | exp.NEQ) or not booleans:
        return node
    left, right = _unparen(node.left), _unparen(node.right)
    for column, literal in ((left, right), (right, left)):
        if (
            isinstance(column, exp.Column)
            and column.name in booleans
            and isinstance(literal, exp.Literal)
            and not literal.is_string
            and literal.this in {"0", "1"}
        ):
            value = exp.Boolean(this=literal.this == "1")
            return type(node)(this=column.copy(), expression=value)
    return node


def _stringy(node: exp.Expr) -> bool:
    node = _unparen(node)
    if isinstance(node, exp.Literal) and node.is_string:
        return True
    return isinstance(node, exp.DPipe)


def _concat(node: exp.Expr) -> exp.Expr:
    """T-SQL's string ``+`` is PostgreSQL's ``||`` (bottom-up, so chains propagate)."""
    if isinstance(node, exp.Add) and (_stringy(node.left) or _stringy(node.right)):
        return exp.DPipe(this=node.left, expression=node.right, safe=True)
    return node
