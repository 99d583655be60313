"""`stratus costs report` in its own process while `stratus up` (another process) holds the
fact store: the report comes from the running Reporting API, equals its JSON, and equals what
direct access prints after a clean stop (which removes ``runtime.json``)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from stratus.platform.runtime import discovery
from tests.e2e.conftest import Server, start_server
from tests.functional.costs.api_runtime import TEMPLATE

STRATUS = str(Path(sys.executable).parent / "stratus")
REPORTS_ROUTE = "GET /reports/{clientId}"


def report(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STRATUS, "costs", "report", "--client", "demo", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "STRATUS_HOME"},
        check=False,
    )


def served_reports(server: Server) -> int:
    _, metrics = server.request("GET", "/_stratus/metrics")
    return int(metrics["apis"]["/costs"]["routes"].get(REPORTS_ROUTE, {}).get("count", 0))


def test_report_while_up_then_after_a_clean_stop(tmp_path: Path):
    home = tmp_path / "home"
    server = start_server(home, "--demo", template=TEMPLATE)
    try:
        assert "costs: uploader SUCCEEDED, 1 file(s) uploaded" in server.log.read_text()
        record = discovery.running(home)
        assert record is not None
        assert record.pid == server.process.pid
        assert record.url == server.base
        assert stat.S_IMODE(discovery.path(home).stat().st_mode) == 0o600
        costs = record.api("costs", "CostsApi")
        assert costs is not None
        assert costs.api_keys
        assert f"API key for /costs: {costs.api_keys[0]}" in server.log.read_text()
        while_up = [report(home, "--by", "service", "--json"), report(home, "--by", "tag:team")]
        for done in while_up:
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr
        assert served_reports(server) == len(while_up)  # through the API, not the file
        status, served = server.request(
            "GET",
            "/costs/reports/demo?by=service&cost=billed",
            headers={"x-api-key": costs.api_keys[0]},
        )
        assert status == 200
        assert json.loads(while_up[0].stdout) == served
        assert served["rows"]
    finally:
        assert server.interrupt() == 0
    assert not discovery.path(home).exists()
    after = [report(home, "--by", "service", "--json"), report(home, "--by", "tag:team")]
    assert [(d.returncode, d.stdout) for d in after] == [(0, d.stdout) for d in while_up]


def test_a_killed_server_leaves_a_stale_record_that_is_ignored(tmp_path: Path):
    home = tmp_path / "home"
    server = start_server(home, template=TEMPLATE)
    server.kill()
    assert discovery.read(home) is not None  # no clean shutdown: the file stays
    assert discovery.running(home) is None
    done = report(home, "--by", "service")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no published costs for client demo")
