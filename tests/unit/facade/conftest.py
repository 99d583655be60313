"""Fixtures of the facade unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.platform.relational import Engines
from tests.unit.facade.helpers import database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engines]:
    """A migrated, empty facade database: SQLite, and PostgreSQL when configured."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with database(request.param, tmp_path, url) as engines:
        yield engines
