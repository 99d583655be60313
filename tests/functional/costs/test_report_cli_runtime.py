"""`stratus costs report` while a runtime serves the same home: the answer comes from the
running Reporting API (found through ``runtime.json``) and prints exactly what direct access
to the fact store prints once the runtime has stopped."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stratus.cli import main
from stratus.platform.adapters.local.clock import AcceleratedClock
from stratus.platform.runtime import discovery
from stratus.solutions.costs import pipeline
from tests.functional.costs.test_etl_cli import focus_file

REPORTS_ROUTE = "GET /reports/{clientId}"
QUERIES = [
    ("--by", "service"),
    ("--by", "service", "--json"),
    ("--by", "tag:team", "--cost", "effective", "--month", "2024-05"),
    ("--by", "tag:team", "--cost", "effective", "--month", "2024-05", "--json"),
    ("--by", "day", "--limit", "1"),
    ("--by", "region", "--month", "2023-01"),  # no rows
]


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["costs", "report", "--client", "acme", *args, "--home", str(home)]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def reports_served(runtime: Any) -> int:
    routes = runtime.gateways["/costs"].metrics.snapshot()["routes"]
    return int(routes.get(REPORTS_ROUTE, {}).get("count", 0))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def ingested(tmp_path: Path, home: Path) -> Iterator[Any]:
    """A running costs runtime on ``home`` with one small FOCUS file loaded."""
    path = focus_file(
        tmp_path,
        [
            ["2024-05-01", "2024-05-01", "1.5", "0.5", "USD", "EC2", '{"team": "web"}'],
            ["2024-05-01", "2024-05-03", "3", "3", "USD", "S3", '{"team": "data"}'],
            ["2024-05-01", "2024-05-03", "2.25", "2", "USD", "EC2", '{"team": "web"}'],
        ],
    )
    with pipeline.local_runtime(home, clock=AcceleratedClock(600)) as runtime:
        result = pipeline.ingest_file(runtime, path, client_id="acme")
        assert result.status == "PROCESSED", result
        yield runtime


def test_report_uses_the_running_api_and_prints_what_direct_access_prints(
    home: Path, ingested: Any
) -> None:
    runtime = ingested
    assert discovery.running(home) is not None
    served_before = reports_served(runtime)
    through_api = [run(home, *query) for query in QUERIES]
    assert reports_served(runtime) == served_before + len(QUERIES)
    runtime.stop()
    assert discovery.read(home) is None
    direct = [run(home, *query) for query in QUERIES]
    assert through_api == direct
    by_service, as_json = direct[0][1], json.loads(direct[1][1])
    assert [(r["key"], r["cost"]) for r in as_json["rows"]] == [("EC2", "3.75"), ("S3", "3")]
    assert "EC2" in by_service
    assert "total" in by_service
    assert "6.750000" in by_service
    assert direct[5][1].startswith("no published costs for client acme in 2023-01")


def test_an_api_refusal_is_a_cli_error_not_a_traceback(home: Path, ingested: Any) -> None:
    record = discovery.read(home)
    assert record is not None
    [api] = record.apis
    wrong = discovery.RuntimeRecord(
        pid=record.pid,
        url=record.url,
        home=record.home,
        started_at=record.started_at,
        apis=(discovery.ApiRecord(api.prefix, api.app, api.api, api.url, ("not-the-key",)),),
    )
    discovery.write(home, wrong)
    code, out, err = run(home, "--by", "service")
    assert code == 2
    assert out == ""
    assert "the Reporting API at" in err
    assert "answered 403: Forbidden" in err
    assert "Traceback" not in err


def test_bad_arguments_are_refused_before_any_call(home: Path, ingested: Any) -> None:
    served = reports_served(ingested)
    code, _, err = run(home, "--by", "service", "--month", "2024-13")
    assert (code, "month must be YYYY-MM" in err) == (2, True)
    code, _, err = run(home, "--by", "service", "--limit", "0")
    assert code == 2
    assert "--limit" in err
    assert reports_served(ingested) == served


class _Broken(BaseHTTPRequestHandler):
    """Looks like a runtime (its metrics route answers) but every API call fails with 502."""

    def do_GET(self) -> None:
        ok = self.path == "/_stratus/metrics"
        body = b"{}" if ok else b'{"message": "Internal server error"}'
        self.send_response(200 if ok else 502)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_a_failing_api_falls_back_to_the_fact_store_when_it_can_be_opened(
    home: Path, ingested: Any
) -> None:
    ingested.stop()
    expected = run(home, "--by", "service")
    assert expected[0] == 0
    broken = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=broken.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{broken.server_address[1]}"
        discovery.write(
            home,
            discovery.RuntimeRecord(
                pid=os.getpid(),
                url=url,
                home=str(home),
                started_at="",
                apis=(discovery.ApiRecord("/costs", "costs", "CostsApi", url + "/costs", ("k",)),),
            ),
        )
        assert discovery.running(home) is not None
        assert run(home, "--by", "service") == expected
    finally:
        broken.shutdown()
        broken.server_close()
    discovery.path(home).unlink()
