"""The functional suite's fresh-database fixtures, reused for end-to-end runs."""

from __future__ import annotations

from tests.functional.dbmigrate.conftest import migrate, pg_url

__all__ = ["migrate", "pg_url"]
