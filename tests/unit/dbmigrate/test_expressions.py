"""Defaults, CHECKs and view bodies: T-SQL to PostgreSQL."""

from __future__ import annotations

import pytest

from stratus.solutions.dbmigrate.domain.expressions import (
    Naming,
    UntranslatableError,
    translate_default,
    translate_expression,
    translate_select,
)
from stratus.solutions.dbmigrate.domain.names import snake_case

NAMING = Naming(tables={"order details": "order_details"}, column=snake_case,
                booleans=frozenset({"discontinued"}))  # fmt: skip


@pytest.mark.parametrize(
    ("source", "pg_type", "expected"),
    [
        ("(getdate())", "timestamp", "CURRENT_TIMESTAMP"),
        ("SYSDATETIME()", "timestamp", "CURRENT_TIMESTAMP"),
        ("(getutcdate())", "timestamp", "(now() AT TIME ZONE 'utc')"),
        ("(newid())", "uuid", "gen_random_uuid()"),
        ("((0))", "boolean", "false"),
        ("(1)", "boolean", "true"),
        ("(0)", "numeric(19,4)", "0"),
        ("((-1.5))", "numeric(5,2)", "-1.5"),
        ("(N'n/a')", "varchar(10)", "'n/a'"),
        ("('it''s')", "text", "'it''s'"),
        ("current_timestamp(6)", "timestamp", "CURRENT_TIMESTAMP"),
    ],
)
def test_defaults(source: str, pg_type: str, expected: str) -> None:
    assert translate_default(source, pg_type, NAMING) == expected


def test_a_boolean_default_other_than_0_or_1_is_untranslatable() -> None:
    with pytest.raises(UntranslatableError):
        translate_default("(2)", "boolean", NAMING)


def test_an_unknown_function_default_is_untranslatable() -> None:
    with pytest.raises(UntranslatableError, match="host_name"):
        translate_default("(host_name())", "varchar(20)", NAMING)


def test_a_check_is_renamed_and_translated() -> None:
    assert translate_expression("BirthDate < getdate()", NAMING) == "birth_date < CURRENT_TIMESTAMP"
    assert translate_expression("Discount >= 0 and (Discount <= 1)", NAMING) == (
        "discount >= 0 AND (discount <= 1)"
    )


def test_a_view_compares_former_bits_with_booleans_and_concatenates_with_pipes() -> None:
    sql = translate_select(
        "SELECT FirstName + ' ' + LastName AS Name FROM [Products] AS P "
        "WHERE (((P.Discontinued)=0)) AND [Order Details].Quantity > 1",
        NAMING,
    )
    assert "first_name || ' ' || last_name AS name" in sql
    assert "p.discontinued = FALSE" in sql
    assert "order_details.quantity > 1" in sql


def test_money_casts_become_numeric() -> None:
    sql = translate_select("SELECT CONVERT(money, UnitPrice * 2) AS X FROM T", NAMING)
    assert "DECIMAL(19, 4)" in sql.upper()


def test_keep_policy_quotes_every_identifier() -> None:
    naming = Naming(tables={}, column=lambda name: name, quote_all=True)
    assert translate_expression("Price >= 0", naming) == '"Price" >= 0'


def test_a_body_that_is_not_a_select_is_untranslatable() -> None:
    with pytest.raises(UntranslatableError):
        translate_select("UPDATE T SET A = 1", NAMING)
