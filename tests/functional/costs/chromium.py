"""Headless Chromium for the dashboard checks: the page's DOM after its scripts ran."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def need_chromium() -> None:
    """Skip (visibly) without Chromium: `apt-get install -y chromium chromium-driver`."""
    if not CHROMIUM.exists():
        pytest.skip(
            "dashboard check skipped: /usr/bin/chromium is missing "
            "(apt-get update && apt-get install -y chromium chromium-driver)"
        )


def dump_dom(url: str, *, budget_ms: int = 20_000) -> str:
    """Load ``url`` in a fresh profile, let scripts and fetches run, return the DOM."""
    with tempfile.TemporaryDirectory(prefix="stratus-chromium-") as profile:
        done = subprocess.run(
            [
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                "--window-size=1280,1600",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def charts(dom: str) -> dict[str, int]:
    """``data-chart`` name → number of bars drawn (``data-bars``)."""
    found = {}
    for tag in re.findall(r"<svg[^>]*data-chart=[^>]*>", dom):
        name = re.search(r'data-chart="([^"]+)"', tag)
        bars = re.search(r'data-bars="(\d+)"', tag)
        if name:
            found[name.group(1)] = int(bars.group(1)) if bars else 0
    return found


def body_state(dom: str) -> str:
    match = re.search(r'<body[^>]*data-state="([^"]+)"', dom)
    return match.group(1) if match else ""


def status_text(dom: str) -> str:
    match = re.search(r'<span id="status">([^<]*)', dom)
    return match.group(1) if match else ""
