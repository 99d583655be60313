"""The documented type map: a source type (SQL Server first, MySQL/SQLite/PostgreSQL too) to
a PostgreSQL type plus the value conversion the loader applies.

Per-column overrides (``Table.Column=pgtype``) replace the PostgreSQL type; the conversion
then follows the override's family (see :func:`convert_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

from stratus.solutions.dbmigrate.domain.model import SqlType


@dataclass(frozen=True)
class TypeDecision:
    """What a source type becomes. ``note`` is set when a fallback was chosen."""

    pg_type: str
    convert: str
    note: str | None = None


_FIXED: dict[str, tuple[str, str]] = {
    # SQL Server
    "bit": ("boolean", "bool"),
    "tinyint": ("smallint", "int"),
    "smallint": ("smallint", "int"),
    "int": ("integer", "int"),
    "integer": ("integer", "int"),
    "bigint": ("bigint", "int"),
    "money": ("numeric(19,4)", "decimal"),
    "smallmoney": ("numeric(10,4)", "decimal"),
    "real": ("real", "real"),
    "date": ("date", "date"),
    "datetime": ("timestamp", "timestamp"),
    "datetime2": ("timestamp", "timestamp"),
    "smalldatetime": ("timestamp", "timestamp"),
    "datetimeoffset": ("timestamptz", "timestamptz"),
    "uniqueidentifier": ("uuid", "uuid"),
    "text": ("text", "text"),
    "ntext": ("text", "text"),
    "image": ("bytea", "bytes"),
    "rowversion": ("bytea", "bytes"),
    "timestamp": ("bytea", "bytes"),  # T-SQL TIMESTAMP is a rowversion, not a date
    "xml": ("xml", "text"),
    # MySQL / MariaDB / SQLite / PostgreSQL spellings
    "mediumint": ("integer", "int"),
    "double": ("double precision", "float"),
    "double precision": ("double precision", "float"),
    "float8": ("double precision", "float"),
    "float4": ("real", "real"),
    "boolean": ("boolean", "bool"),
    "bool": ("boolean", "bool"),
    "tinytext": ("text", "text"),
    "mediumtext": ("text", "text"),
    "longtext": ("text", "text"),
    "clob": ("text", "text"),
    "blob": ("bytea", "bytes"),
    "tinyblob": ("bytea", "bytes"),
    "mediumblob": ("bytea", "bytes"),
    "longblob": ("bytea", "bytes"),
    "bytea": ("bytea", "bytes"),
    "json": ("jsonb", "text"),
    "jsonb": ("jsonb", "text"),
    "uuid": ("uuid", "uuid"),
    "timestamptz": ("timestamptz", "timestamptz"),
    "year": ("smallint", "int"),
}

_FALLBACKS: dict[str, tuple[str, str, str]] = {
    "hierarchyid": ("text", "text", "HIERARCHYID kept as its string form (e.g. /1/3/); ltree fits"),
    "geography": ("bytea", "bytes", "GEOGRAPHY kept as raw bytes; PostGIS geography fits"),
    "geometry": ("bytea", "bytes", "GEOMETRY kept as raw bytes; PostGIS geometry fits"),
    "sql_variant": ("text", "text", "SQL_VARIANT kept as text: the base type is lost"),
}

_VARCHARS = {"varchar", "nvarchar", "character varying", "varchar2"}
_CHARS = {"char", "nchar", "character"}
_BINARIES = {"binary", "varbinary"}


def _is_max(params: tuple[str, ...]) -> bool:
    return bool(params) and params[0].lower() in {"max", "-1"}


def map_type(source: SqlType) -> TypeDecision:
    """The PostgreSQL type and conversion for ``source`` (see docs/solutions/dbmigrate.md)."""
    name = source.name.lower().strip()
    params = source.params
    if name.endswith(" unsigned"):
        name = name.removesuffix(" unsigned")
    if name in _VARCHARS:
        if not params or _is_max(params):
            return TypeDecision("text", "text")
        return TypeDecision(f"varchar({params[0]})", "text")
    if name in _CHARS:
        return TypeDecision(f"char({params[0]})" if params else "char(1)", "text")
    if name in _BINARIES:
        return TypeDecision("bytea", "bytes")
    if name in {"decimal", "numeric", "dec"}:
        if params:
            return TypeDecision(f"numeric({','.join(p.strip() for p in params)})", "decimal")
        return TypeDecision("numeric(18,0)" if name != "numeric" else "numeric", "decimal")
    if name == "float":
        # SQL Server FLOAT(n): n <= 24 is a 4-byte real, otherwise (the default 53) double.
        if params and params[0].isdigit() and int(params[0]) <= 24:
            return TypeDecision("real", "real")
        return TypeDecision("double precision", "float")
    if name == "time":
        return TypeDecision("time", "time")
    if name == "tinyint" and params == ("1",):
        # MySQL's TINYINT(1) is how it spells BOOLEAN; still smallint, as the map says.
        return TypeDecision("smallint", "int")
    if name in _FIXED:
        pg_type, convert = _FIXED[name]
        return TypeDecision(pg_type, convert)
    if name in _FALLBACKS:
        pg_type, convert, note = _FALLBACKS[name]
        return TypeDecision(pg_type, convert, note)
    return TypeDecision("text", "text", f"unknown type {source} kept as text")


def convert_for(pg_type: str) -> str:
    """The conversion that fits an overriding PostgreSQL type."""
    base = pg_type.lower().split("(")[0].strip()
    table = {
        "boolean": "bool",
        "smallint": "int",
        "integer": "int",
        "int": "int",
        "bigint": "int",
        "numeric": "decimal",
        "decimal": "decimal",
        "real": "real",
        "double precision": "float",
        "timestamp": "timestamp",
        "timestamp without time zone": "timestamp",
        "timestamptz": "timestamptz",
        "timestamp with time zone": "timestamptz",
        "date": "date",
        "time": "time",
        "uuid": "uuid",
        "bytea": "bytes",
    }
    return table.get(base, "text")


def parse_overrides(items: tuple[str, ...] | list[str]) -> dict[tuple[str, str], str]:
    """``["Album.Title=text"]`` -> ``{("album", "title"): "text"}`` (source names, lower case).

    Raises ValueError on a malformed item."""
    overrides: dict[tuple[str, str], str] = {}
    for item in items:
        target, sep, pg_type = item.partition("=")
        table, dot, column = target.rpartition(".")
        if not sep or not dot or not table or not column or not pg_type.strip():
            raise ValueError(f"a type override is TABLE.COLUMN=PGTYPE, not {item!r}")
        overrides[(table.lower(), column.lower())] = pg_type.strip()
    return overrides
