"""Identifier policy: keep the source's case, or snake_case; and collision handling.

PostgreSQL puts tables, views, indexes and sequences of one schema in ONE namespace (SQL
Server keeps index names per table): Northwind has a table ``Region`` and an index ``Region``
on ``Customers``. :class:`NameAllocator` hands out unique names, the first claimant (tables and
views are allocated before indexes) keeps the plain name and later ones get a suffix.
Names are cut to PostgreSQL's 63 bytes.
"""

from __future__ import annotations

import re

POLICIES = ("snake", "keep")
MAX_IDENTIFIER = 63

_BOUNDARY_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_BOUNDARY_2 = re.compile(r"([a-z0-9\u00df-\u00ff])([A-Z\u00c0-\u00de])")
_NOT_WORD = re.compile(r"[\W_]+")


def snake_case(name: str) -> str:
    """``InvoiceLine`` -> ``invoice_line``, ``CustomerID`` -> ``customer_id``,
    ``Order Details`` -> ``order_details``, ``PK_Album`` -> ``pk_album``."""
    text = _NOT_WORD.sub("_", name.strip())
    text = _BOUNDARY_1.sub(r"\1_\2", text)
    text = _BOUNDARY_2.sub(r"\1_\2", text)
    text = re.sub("_+", "_", text).strip("_").lower()
    if not text:
        text = "x"
    if text[0].isdigit():
        text = f"_{text}"
    return text


def apply_policy(name: str, policy: str) -> str:
    """The target spelling of ``name`` under ``policy`` (``snake`` or ``keep``)."""
    if policy == "snake":
        return _truncate(snake_case(name))
    if policy == "keep":
        return _truncate(name)
    raise ValueError(f"unknown identifier policy {policy!r} (choose {', '.join(POLICIES)})")


def _truncate(name: str, limit: int = MAX_IDENTIFIER) -> str:
    encoded = name.encode()
    if len(encoded) <= limit:
        return name
    return encoded[:limit].decode(errors="ignore")


def quote(name: str) -> str:
    """A PostgreSQL identifier, quoted only when it must be."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """``name`` qualified by ``schema`` unless the schema is ``public``."""
    return quote(name) if schema == "public" else f"{quote(schema)}.{quote(name)}"


_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ]
)


class NameAllocator:
    """Unique names in one namespace (case-sensitive, as quoted PostgreSQL names are)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self.renamed: list[tuple[str, str, str]] = []

    def claim(self, wanted: str, *, kind: str, suffix: str = "") -> str:
        """``wanted`` if free, else ``wanted + suffix``, else with ``_2``, ``_3``...

        Each rename is recorded in :attr:`renamed` as (kind, wanted, given)."""
        candidates = [wanted]
        if suffix:
            candidates.append(_truncate(wanted, MAX_IDENTIFIER - len(suffix)) + suffix)
        for candidate in candidates:
            if candidate not in self._taken:
                return self._take(candidate, wanted, kind)
        n = 2
        while True:
            tail = f"_{n}"
            candidate = _truncate(candidates[-1], MAX_IDENTIFIER - len(tail)) + tail
            if candidate not in self._taken:
                return self._take(candidate, wanted, kind)
            n += 1

    def _take(self, name: str, wanted: str, kind: str) -> str:
        self._taken.add(name)
        if name != wanted:
            self.renamed.append((kind, wanted, name))
        return name
