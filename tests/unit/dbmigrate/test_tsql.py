"""The T-SQL reader: GO batches, statements without ';', and the parser."""

from __future__ import annotations

from decimal import Decimal

from stratus.solutions.dbmigrate.domain.tsql import (
    parse_script,
    split_batches,
    split_statements,
    tokenize,
)


def statements(script: str) -> list[str]:
    return [
        " ".join(t.text for t in statement.tokens)
        for batch in split_batches(script)
        for statement in split_statements(batch)
    ]


def test_go_on_its_own_line_separates_batches_in_any_case() -> None:
    script = (
        "CREATE TABLE a (x int)\nGO\nCREATE TABLE b (x int)\n  go  \nCREATE TABLE c (x int)\nGo 2\n"
    )
    assert len(split_batches(script)) == 3


def test_go_inside_strings_comments_and_names_does_not_separate() -> None:
    script = "INSERT t VALUES ('a\nGO\nb')\n/* block\nGO\n*/\n-- GO\nSELECT [go] FROM goes\nGO\n"
    assert len(split_batches(script)) == 1


def test_statements_without_semicolons_are_split_before_each_statement_keyword() -> None:
    script = (
        "CREATE TABLE [Region] ( [RegionID] [int] NOT NULL ) ON [PRIMARY]\n"
        "Insert Into Region Values (1,'Eastern')\n"
        "Insert Into Region Values (2,'Western')\n"
        'set identity_insert "Region" on\n'
        "ALTER TABLE Region ADD CONSTRAINT PK PRIMARY KEY (RegionID)\n"
    )
    found = statements(script)
    assert len(found) == 5
    assert found[1].startswith("Insert Into Region")


def test_semicolons_also_end_statements() -> None:
    assert len(statements("INSERT t VALUES (1); INSERT t VALUES (2);")) == 2


def test_on_delete_and_on_update_do_not_start_statements() -> None:
    script = (
        "ALTER TABLE a ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES b (x) "
        "ON DELETE NO ACTION ON UPDATE CASCADE\n"
    )
    assert len(statements(script)) == 1


def test_a_view_or_procedure_owns_the_rest_of_its_batch() -> None:
    script = (
        "create procedure p @x int AS\nIF @x > 1\nINSERT t VALUES (1)\nUPDATE t SET a = 1\nGO\n"
        "create view v AS\nSELECT a FROM t\nUNION SELECT b FROM u\nGO\n"
    )
    assert len(statements(script)) == 2


def test_block_comments_nest_and_lines_are_counted() -> None:
    tokens = list(tokenize("/* a /* b */ c */\nSELECT\n'x\ny'\nz"))
    assert [(t.text, t.line) for t in tokens] == [("SELECT", 2), ("'x\ny'", 3), ("z", 5)]


def test_literals_in_insert_rows() -> None:
    parsed = parse_script(
        "CREATE TABLE t (a int, b nvarchar(10), c money, d varbinary(4), e float, f int)\n"
        "INSERT t VALUES (-1, N'it''s', 32.38, 0x0aFF, 1e3, NULL)\n"
    )
    assert parsed.inserts[0].rows == ((-1, "it's", Decimal("32.38"), b"\x0a\xff", 1000.0, None),)


def test_the_parser_reads_tables_constraints_indexes_and_defaults() -> None:
    parsed = parse_script(
        'CREATE TABLE "Orders" (\n'
        '  "OrderID" "int" IDENTITY (1, 1) NOT NULL ,\n'
        '  "Freight" "money" NULL CONSTRAINT "DF_Orders_Freight" DEFAULT (0),\n'
        '  "Code" nchar (5) NOT NULL UNIQUE,\n'
        '  CONSTRAINT "PK_Orders" PRIMARY KEY  CLUSTERED ("OrderID"),\n'
        '  CONSTRAINT "CK_Freight" CHECK (Freight >= 0)\n'
        ")\nGO\n"
        'CREATE UNIQUE NONCLUSTERED INDEX "IX" ON "dbo"."Orders"("Code" DESC) '
        "WITH (FILLFACTOR = 80)\n"
        "GO\nALTER TABLE Orders ADD CONSTRAINT DF_Code DEFAULT ('x') FOR Code\nGO\n"
    )
    table = parsed.schema.tables[0]
    assert table.name == "Orders"
    assert table.column("OrderID").identity
    assert not table.column("OrderID").nullable
    assert table.column("Freight").default == "(0)"
    assert table.column("Code").default == "('x')"
    assert table.primary_key is not None
    assert table.primary_key.columns == ("OrderID",)
    assert [u.columns for u in table.uniques] == [("Code",)]
    assert [c.expression for c in table.checks] == ["Freight >= 0"]
    assert [(i.name, i.columns, i.unique) for i in table.indexes] == [("IX", ("Code",), True)]
    assert parsed.schema.findings == ()


def test_bad_statements_are_listed_with_their_line_and_the_rest_is_read() -> None:
    parsed = parse_script(
        "CREATE TABLE t (a int)\nGO\nINSERT t VALUES (1)\nINSERT t VALUES (getdate())\n"
        "INSERT t VALUES (3)\nGO\nCREATE TABLE u (a int WIBBLE)\nGO\n"
    )
    errors = [(f.line, f.reason) for f in parsed.schema.findings if f.kind == "error"]
    assert errors == [
        (4, "value 'getdate' is not a literal"),
        (7, "unexpected 'WIBBLE' in column a"),
    ]
    assert [b.rows for b in parsed.inserts] == [((1,),), ((3,),)]


def test_procedures_are_reported_not_dropped_silently() -> None:
    parsed = parse_script("CREATE PROCEDURE dbo.P AS SELECT 1\nGO\n")
    assert [(f.kind, f.subject) for f in parsed.schema.findings] == [
        ("untranslated", "procedure P")
    ]


def test_an_unterminated_string_is_an_error_finding() -> None:
    parsed = parse_script("CREATE TABLE t (a int)\nGO\nINSERT t VALUES ('oops)\n")
    assert [f.kind for f in parsed.schema.findings] == ["error"]


def test_set_dateformat_is_remembered() -> None:
    assert parse_script("SET DATEFORMAT dmy\nGO\n").dateformat == "dmy"
