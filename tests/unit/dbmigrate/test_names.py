"""Identifier policy and collision handling."""

from __future__ import annotations

import pytest

from stratus.solutions.dbmigrate.domain.model import (
    Column,
    Index,
    Key,
    SourceSchema,
    SqlType,
    Table,
)
from stratus.solutions.dbmigrate.domain.names import (
    NameAllocator,
    apply_policy,
    quote,
    snake_case,
)
from stratus.solutions.dbmigrate.domain.translate import Options, translate


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("InvoiceLine", "invoice_line"),
        ("CustomerID", "customer_id"),
        ("Order Details", "order_details"),
        ("PK_Album", "pk_album"),
        ("IFK_AlbumArtistId", "ifk_album_artist_id"),
        ("HTMLPage", "html_page"),
        ("already_snake", "already_snake"),
        ("2ndColumn", "_2nd_column"),
        ("Über Straße", "über_straße"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_keep_policy_keeps_the_case_and_quotes_when_needed() -> None:
    assert apply_policy("OrderID", "keep") == "OrderID"
    assert quote("OrderID") == '"OrderID"'
    assert quote("order_id") == "order_id"
    assert quote("user") == '"user"'


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="identifier policy"):
        apply_policy("x", "upper")


def test_names_are_cut_to_63_bytes() -> None:
    assert len(apply_policy("A" * 80, "keep").encode()) == 63


def test_the_second_claimant_of_a_name_gets_the_suffix_then_a_number() -> None:
    names = NameAllocator()
    assert names.claim("region", kind="table") == "region"
    assert names.claim("region", kind="index", suffix="_idx") == "region_idx"
    assert names.claim("region", kind="index", suffix="_idx") == "region_idx_2"
    assert [r[2] for r in names.renamed] == ["region_idx", "region_idx_2"]


def test_northwinds_region_table_keeps_its_name_and_the_region_index_is_renamed() -> None:
    customers = Table(
        "Customers",
        (
            Column("CustomerID", SqlType("nchar", ("5",))),
            Column("Region", SqlType("nvarchar", ("15",))),
        ),
        primary_key=Key("PK_Customers", ("CustomerID",)),
        indexes=(Index("Region", ("Region",)),),
    )
    region = Table("Region", (Column("RegionID", SqlType("int")),))
    target = translate(SourceSchema((customers, region)))
    assert [t.name for t in target.tables] == ["customers", "region"]
    assert target.tables[0].indexes[0].name == "region_idx"
    assert any(f.kind == "renamed" and "region" in f.subject for f in target.findings)


def test_two_columns_that_snake_case_alike_are_told_apart() -> None:
    table = Table("T", (Column("OrderID", SqlType("int")), Column("Order_ID", SqlType("int"))))
    target = translate(SourceSchema((table,)), Options(naming="snake"))
    assert [c.name for c in target.tables[0].columns] == ["order_id", "order_id_2"]
