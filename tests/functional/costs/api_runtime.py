"""A LocalRuntime running the costs template, and an HTTP client for its API (4b's tests)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stratus.platform.ports import Clock
from stratus.platform.runtime.app import LocalRuntime

TEMPLATE = Path(__file__).resolve().parents[3] / "src/stratus/solutions/costs/infra/template.yaml"


@dataclass
class CostsApi:
    """Loopback HTTP to ``/costs`` with the generated API key."""

    runtime: LocalRuntime
    key: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "default",
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(
            f"{self.runtime.url}/costs{path}", data=data, method=method
        )
        if key is not None:
            request.add_header("x-api-key", self.key if key == "default" else key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read(), exc.code
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text.decode()


def start_runtime(home: Path, clock: Clock | None = None) -> CostsApi:
    """Start the costs template under ``home`` (a FakeClock makes Retry waits instant)."""
    runtime = LocalRuntime([TEMPLATE], home=home, clock=clock)
    runtime.start()
    key = runtime.checkpoints.get("apikey:costs:CostsApi")
    assert key is not None
    return CostsApi(runtime, key)
