"""The documented type map and per-column overrides."""

from __future__ import annotations

import pytest

from stratus.solutions.dbmigrate.domain.model import Column, SourceSchema, SqlType, Table
from stratus.solutions.dbmigrate.domain.translate import Options, translate
from stratus.solutions.dbmigrate.domain.typemap import convert_for, map_type, parse_overrides


@pytest.mark.parametrize(
    ("source", "pg_type", "convert"),
    [
        (SqlType("bit"), "boolean", "bool"),
        (SqlType("tinyint"), "smallint", "int"),
        (SqlType("datetime"), "timestamp", "timestamp"),
        (SqlType("datetime2", ("7",)), "timestamp", "timestamp"),
        (SqlType("smalldatetime"), "timestamp", "timestamp"),
        (SqlType("datetimeoffset"), "timestamptz", "timestamptz"),
        (SqlType("uniqueidentifier"), "uuid", "uuid"),
        (SqlType("varchar", ("20",)), "varchar(20)", "text"),
        (SqlType("nvarchar", ("160",)), "varchar(160)", "text"),
        (SqlType("nvarchar", ("max",)), "text", "text"),
        (SqlType("varchar", ("MAX",)), "text", "text"),
        (SqlType("text"), "text", "text"),
        (SqlType("ntext"), "text", "text"),
        (SqlType("nchar", ("5",)), "char(5)", "text"),
        (SqlType("varbinary", ("max",)), "bytea", "bytes"),
        (SqlType("image"), "bytea", "bytes"),
        (SqlType("money"), "numeric(19,4)", "decimal"),
        (SqlType("smallmoney"), "numeric(10,4)", "decimal"),
        (SqlType("numeric", ("10", "2")), "numeric(10,2)", "decimal"),
        (SqlType("float"), "double precision", "float"),
        (SqlType("float", ("24",)), "real", "real"),
        (SqlType("real"), "real", "real"),
        (SqlType("rowversion"), "bytea", "bytes"),
        (SqlType("timestamp"), "bytea", "bytes"),
        (SqlType("xml"), "xml", "text"),
        (SqlType("int unsigned"), "integer", "int"),
    ],
)
def test_a_source_type_maps_to_the_documented_postgresql_type(
    source: SqlType, pg_type: str, convert: str
) -> None:
    decision = map_type(source)
    assert (decision.pg_type, decision.convert) == (pg_type, convert)
    assert decision.note is None


@pytest.mark.parametrize("name", ["hierarchyid", "geography", "geometry", "sql_variant", "wibble"])
def test_types_without_an_equivalent_get_a_fallback_and_a_note(name: str) -> None:
    decision = map_type(SqlType(name))
    assert decision.note
    assert decision.pg_type in {"text", "bytea"}


def test_fallbacks_are_reported_in_the_translation() -> None:
    table = Table("Place", (Column("Spot", SqlType("geography")),))
    target = translate(SourceSchema((table,)))
    assert [(f.kind, f.subject) for f in target.findings] == [("fallback", "Place.Spot")]


def test_an_override_replaces_the_type_of_one_column_and_its_conversion() -> None:
    table = Table(
        "Orders",
        (Column("Freight", SqlType("money")), Column("Flag", SqlType("tinyint"))),
    )
    options = Options(
        overrides=parse_overrides(["orders.flag=boolean", "Orders.Freight=numeric(12,2)"])
    )
    target = translate(SourceSchema((table,)), options)
    columns = {c.name: (c.pg_type, c.convert) for c in target.tables[0].columns}
    assert columns == {"freight": ("numeric(12,2)", "decimal"), "flag": ("boolean", "bool")}


def test_an_override_of_an_unknown_column_is_an_error_finding() -> None:
    table = Table("T", (Column("A", SqlType("int")),))
    target = translate(SourceSchema((table,)), Options(overrides=parse_overrides(["T.B=text"])))
    assert [f.kind for f in target.findings] == ["error"]


@pytest.mark.parametrize("item", ["Orders=text", "Orders.Freight", ".x=text", "a.b="])
def test_a_malformed_override_is_refused(item: str) -> None:
    with pytest.raises(ValueError, match=r"TABLE\.COLUMN=PGTYPE"):
        parse_overrides([item])


def test_conversion_follows_the_override_family() -> None:
    assert convert_for("timestamp with time zone") == "timestamptz"
    assert convert_for("numeric(5,1)") == "decimal"
    assert convert_for("jsonb") == "text"
