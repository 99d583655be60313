"""`stratus migrate` as a real process: exit codes and progress on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.dbmigrate.conftest import FIXTURES

pytestmark = pytest.mark.postgres
STRATUS = str(Path(sys.executable).parent / "stratus")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STRATUS, "migrate", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_full_then_verify_as_processes(pg_url: str) -> None:
    shop = str(FIXTURES / "shop.sql")
    full = run("full", "--source", shop, "--target", pg_url)
    assert full.returncode == 0, full.stderr
    assert "rows loaded in" in full.stderr  # per-table progress goes to stderr
    assert "3 tables, 10 rows loaded" in full.stdout
    verify = run("verify", "--source", shop, "--target", pg_url)
    assert verify.returncode == 0, verify.stderr
    assert "customer" in verify.stdout
    refused = run("full", "--source", shop, "--target", pg_url)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
