"""`stratus costs ingest` and `stratus costs report` as a user runs them (click's runner,
the real local pipeline under a temporary STRATUS_HOME)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stratus.cli import main


def focus_file(tmp_path: Path, rows: list[list[str]], name: str = "costs.csv") -> Path:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["BillingPeriodStart", "ChargePeriodStart", "BilledCost", "EffectiveCost",
                     "BillingCurrency", "ServiceName", "Tags"])  # fmt: skip
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_ingest_prints_accepted_and_rejected_rows_with_reasons_and_totals(
    tmp_path: Path, home: Path
) -> None:
    path = focus_file(
        tmp_path,
        [
            ["2024-05-01", "2024-05-01", "1.25", "1", "USD", "EC2", '{"team": "web"}'],
            ["2024-05-01", "2024-05-02", "oops", "1", "USD", "EC2", ""],
            ["2024-05-01", "2024-05-02", "2.75", "2", "USD", "S3", '{"team": "data"}'],
        ],
    )
    code, out = run("costs", "ingest", str(path), "--client", "acme", "--home", str(home))
    assert code == 0, out
    assert "status: PROCESSED" in out
    assert "rows accepted: 2" in out
    assert "rows rejected: 1" in out
    assert "row 2: BilledCost is not a number: 'oops'" in out
    assert "total USD: billed 4.000000000000, effective 3.000000000000 (2 rows)" in out


def test_report_prints_what_was_ingested_by_service_and_tag(tmp_path: Path, home: Path) -> None:
    path = focus_file(
        tmp_path,
        [
            ["2024-05-01", "2024-05-01", "1", "0.5", "USD", "EC2", '{"team": "web"}'],
            ["2024-05-01", "2024-05-03", "3", "3", "USD", "S3", '{"team": "data"}'],
        ],
    )
    assert run("costs", "ingest", str(path), "--client", "acme", "--home", str(home))[0] == 0
    code, out = run("costs", "report", "--client", "acme", "--by", "service", "--json",
                    "--home", str(home))  # fmt: skip
    assert code == 0, out
    report = json.loads(out)
    assert [(r["key"], r["cost"]) for r in report["rows"]] == [("S3", "3"), ("EC2", "1")]
    code, out = run("costs", "report", "--client", "acme", "--by", "tag:team", "--cost",
                    "effective", "--month", "2024-05", "--json", "--home", str(home))  # fmt: skip
    assert {r["key"]: r["cost"] for r in json.loads(out)["rows"]} == {"data": "3", "web": "0.5"}
    code, out = run("costs", "report", "--client", "acme", "--by", "day", "--home", str(home))
    assert "2024-05-03" in out
    assert "total" in out


def test_a_file_in_an_unknown_format_is_a_message_not_a_traceback(
    tmp_path: Path, home: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    code, out = run("costs", "ingest", str(path), "--client", "acme", "--home", str(home))
    assert code == 1
    assert "status: SKIPPED" in out
    assert "no supported export" in out
    assert "Traceback" not in out


def test_report_refuses_a_bad_month_with_a_message(home: Path) -> None:
    code, out = run("costs", "report", "--client", "acme", "--by", "service", "--month",
                    "2024-13", "--home", str(home))  # fmt: skip
    assert code == 2
    assert "month must be YYYY-MM" in out


def test_report_for_a_client_without_costs_says_so(home: Path) -> None:
    code, out = run("costs", "report", "--client", "nobody", "--by", "service", "--home", str(home))
    assert code == 0
    assert "no published costs for client nobody" in out


def test_ingest_goes_through_the_uploader_which_does_not_load_an_unchanged_file_twice(
    tmp_path: Path, home: Path
) -> None:
    path = focus_file(tmp_path, [["2024-05-01", "2024-05-01", "1", "1", "USD", "EC2", ""]])
    args = ("costs", "ingest", str(path), "--client", "acme", "--home", str(home))
    code, out = run(*args, "--json")
    assert code == 0, out
    first = json.loads(out)
    assert first["key"].startswith("acme/LOCAL_FILE/")  # the uploader's key convention
    assert first["accepted"] == 1
    code, out = run(*args)
    assert code == 1
    assert "status: SKIPPED (unchanged since its last upload (same content)" in out
    path.write_text(path.read_text() + "2024-05-01,2024-05-02,2,2,USD,S3,\n", encoding="utf-8")
    code, out = run(*args, "--provider", "focus", "--json")
    assert code == 0, out
    assert json.loads(out)["accepted"] == 2
