"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at 2026-01-01T00:00:00Z; ``sleep`` advances it instantly."""
    return FakeClock()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region for moto; never real AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto_aws(aws_env: None) -> Iterator[None]:
    """Everything inside runs against moto's in-memory AWS."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL URL from STRATUS_TEST_POSTGRES_URL; skips (visibly) when unset."""
    url = os.environ.get("STRATUS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("STRATUS_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped")
    return url


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skips (visibly) when the corpora are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"corpus evaluation skipped: {SHARED_DATA} is absent")
    return SHARED_DATA
