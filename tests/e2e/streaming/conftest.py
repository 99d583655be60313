"""The streaming template on a started LocalRuntime: HTTP, RTMP and WebSocket over loopback."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.runtime.app import LocalRuntime

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "src" / "stratus" / "solutions" / "streaming" / "infra" / "template.yaml"
SHIP = {"name": "Ann", "address": "1 Main St", "city": "Berlin", "postcode": "10115",
        "country": "DE"}

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)"
)


def wait_for(predicate: Callable[[], Any], timeout_s: float = 20.0, what: str = "") -> Any:
    """Poll until ``predicate`` returns something truthy; fail after the bound."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what or predicate}")


@dataclass
class Platform:
    runtime: LocalRuntime

    @property
    def base(self) -> str:
        return self.runtime.url

    @property
    def site(self) -> Any:
        return self.runtime.services["/streaming/site"]

    def http(self, method: str, path: str, body: Any = None,
             token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                ctype = resp.headers.get("Content-Type", "")
                return resp.status, json.loads(raw) if "json" in ctype and raw else raw
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, raw

    def api(self, method: str, path: str, body: Any = None,
            token: str | None = None) -> tuple[int, Any]:
        return self.http(method, "/streaming" + path, body, token)

    def owner(self, email: str = "ann@example.com") -> str:
        """Register, order a device (paid), return the session token."""
        status, reg = self.api("POST", "/auth/register",
                               {"email": email, "password": "correct horse 1",
                                "display_name": email.split("@", maxsplit=1)[0]})
        assert status == 201, reg
        token = str(reg["token"])
        status, order = self.api("POST", "/orders", {"product_id": "stratus-box",
                                                      "shipping": SHIP, "payment_token": "tok_ok"},
                                 token)
        assert status == 201, order
        return token

    def pair(self, token: str) -> dict[str, Any]:
        status, code = self.api("POST", "/pairing-codes", None, token)
        assert status == 201
        status, paired = self.api("POST", "/devices/pair", {"code": code["code"]})
        assert status == 201
        return dict(paired)


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("STRATUS_STREAMING_RTMP_PORT", "0")
    monkeypatch.setenv("STRATUS_STREAMING_CHAT_PORT", "0")
    monkeypatch.delenv("STRATUS_REDIS_URL", raising=False)
    runtime = LocalRuntime([TEMPLATE], home=tmp_path / "home", port=0,
                           parameters={"ReconnectWindowSeconds": "3"})
    runtime.start()
    try:
        from stratus.solutions.streaming.domain.orders import Product

        runtime.services["/streaming/site"].ports.store.put_product(
            Product("stratus-box", "Stratus Box", 29900)
        )
        yield Platform(runtime)
    finally:
        runtime.stop()
