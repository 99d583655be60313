"""Corpus evaluation without a database: the install scripts read completely."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.solutions.dbmigrate.domain.translate import translate
from stratus.solutions.dbmigrate.domain.tsql import parse_script

pytestmark = pytest.mark.corpus


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def test_chinook_reads_as_11_tables_and_15607_rows(shared_data: Path) -> None:
    parsed = parse_script(_read(shared_data / "migration/chinook/Chinook_SqlServer.sql"))
    assert len(parsed.schema.tables) == 11
    assert sum(len(b.rows) for b in parsed.inserts) == 15_607
    assert [f for f in parsed.schema.findings if f.kind in {"error", "untranslated"}] == []


def test_northwind_reads_as_13_tables_3308_rows_16_views_and_7_procedures(
    shared_data: Path,
) -> None:
    parsed = parse_script(_read(shared_data / "migration/northwind/instnwnd.sql"))
    assert len(parsed.schema.tables) == 13
    assert sum(len(b.rows) for b in parsed.inserts) == 3_308
    assert len(parsed.schema.views) == 16
    kinds = [f.kind for f in parsed.schema.findings]
    assert kinds.count("untranslated") == 7
    assert "error" not in kinds
    target = translate(parsed.schema)
    assert len(target.views) == 16
    assert sum(len(t.indexes) for t in target.tables) == 26
