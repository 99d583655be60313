"""Fixtures shared by the contract suites."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def unreachable_client(aws_env: None) -> Callable[[str], Any]:
    """boto3 clients aimed at a loopback port nobody listens on (no moto, no retries)."""
    import socket

    import boto3
    from botocore.config import Config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2)

    def make(service: str) -> Any:
        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{port}",
            config=config,
        )

    return make
