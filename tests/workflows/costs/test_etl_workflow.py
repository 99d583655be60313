"""The ETL state machine end to end on the local runtime: a file put in the template's bucket
starts ``etl.asl.json`` through the EventBridge object-created rule; totals are checked against
an independent DuckDB computation over the raw file."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from stratus.platform.adapters.local.clock import AcceleratedClock
from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.costs import etl, pipeline, reports
from stratus.solutions.costs.bootstrap import facts_for

COST_COLUMNS = ("BilledCost", "lineItem/UnblendedCost", "CostInBillingCurrency", "Cost")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """One runtime for the module (a runtime installs its resources process-wide), with 50
    rows per chunk so that small files still make many chunks."""
    home = tmp_path_factory.mktemp("costs-home")
    with pipeline.local_runtime(
        home, clock=AcceleratedClock(2000), parameters={"ChunkRows": "50"}
    ) as rt:
        yield rt


def published(runtime: LocalRuntime, client: str, by: str = "month") -> dict[str, str]:
    facts = facts_for(None, runtime.home)
    return {r["key"]: r["billed_cost"] for r in reports.cost_report(facts, client, by)["rows"]}


def oracle(path: Path) -> tuple[int, Decimal, Decimal | None]:
    """Rows with a cost, their billed total and (FOCUS) effective total: DuckDB over the raw
    file, sharing no code with the pipeline."""
    con = duckdb.connect()
    source = "read_csv(?, all_varchar = true, header = true)"
    columns = [
        r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}", [str(path)]).fetchall()
    ]
    billed = next(c for c in COST_COLUMNS if c in columns)

    def amount(column: str) -> str:
        return f"TRY_CAST(replace(replace(trim(\"{column}\"), '$', ''), ',', '') AS DECIMAL(38,12))"

    valid = f"{amount(billed)} IS NOT NULL"
    if "ChargePeriodEnd" in columns:  # a malformed end (the spec has hour 30) is rejected
        valid += (
            ' AND ("ChargePeriodEnd" IS NULL OR TRY_CAST("ChargePeriodEnd" AS TIMESTAMPTZ)'
            " IS NOT NULL OR regexp_matches(\"ChargePeriodEnd\", '^\\d{1,2}/\\d{1,2}/\\d{2,4}$'))"
        )
    effective = f"SUM({amount('EffectiveCost')})" if "EffectiveCost" in columns else "NULL"
    row = con.execute(
        f"SELECT COUNT(*), SUM({amount(billed)}), {effective} FROM {source} WHERE {valid}",
        [str(path)],
    ).fetchone()
    assert row is not None
    return int(row[0]), Decimal(row[1]), (Decimal(row[2]) if row[2] is not None else None)


def cost_files(shared_data: Path) -> list[Path]:
    return sorted(
        p
        for p in (shared_data / "costs").rglob("*.csv")
        if "mappings" not in p.parts and "contract_commitment" not in p.name
    )


def total(result: pipeline.IngestResult, kind: str = "billed_cost") -> Decimal:
    return sum((Decimal(t[kind]) for t in result.summary["totals"]), Decimal(0))


@pytest.mark.corpus
def test_every_corpus_file_loads_with_the_totals_duckdb_computes(
    runtime: LocalRuntime, shared_data: Path
) -> None:
    files = cost_files(shared_data)
    assert len(files) >= 30
    for n, path in enumerate(files):
        result = pipeline.ingest(runtime, path.read_bytes(), client_id=f"corpus{n}", name=path.name)
        assert result.status == "PROCESSED", (path.name, result.reason)
        rows, billed, effective = oracle(path)
        assert result.summary["accepted"] == rows, path.name
        assert total(result) == billed, path.name
        if effective is not None:
            assert total(result, "effective_cost") == effective, path.name
        assert sum(Decimal(v) for v in published(runtime, f"corpus{n}").values()) == billed


@pytest.mark.corpus
def test_the_focus_spec_examples_reproduce_billed_and_effective_cost(
    runtime: LocalRuntime, shared_data: Path
) -> None:
    examples = sorted((shared_data / "costs" / "focus_spec_examples").glob("*.csv"))
    assert len(examples) == 26
    for n, path in enumerate(examples):
        result = pipeline.ingest(runtime, path.read_bytes(), client_id=f"spec{n}", name=path.name)
        rows, billed, effective = oracle(path)
        assert (result.summary["accepted"], total(result)) == (rows, billed), path.name
        assert total(result, "effective_cost") == effective, path.name


@pytest.mark.corpus
def test_the_spec_examples_with_an_impossible_hour_report_those_rows(
    runtime: LocalRuntime, shared_data: Path
) -> None:
    path = next((shared_data / "costs" / "focus_spec_examples").glob("*purchase_scenario_2.csv"))
    result = pipeline.ingest(runtime, path.read_bytes(), client_id="hour30", name=path.name)
    assert result.summary["rejected"] == 1
    assert result.summary["rejections"] == [
        {"row": 3, "reason": "ChargePeriodEnd is not a timestamp: '2023-02-01T30:00:00Z'"}
    ]


@pytest.mark.corpus
def test_a_gzip_cur_file_loads_like_the_plain_one(runtime: LocalRuntime, shared_data: Path) -> None:
    path = shared_data / "costs" / "aws_cur_legacy_anon_focus_converters.csv"
    result = pipeline.ingest(
        runtime, gzip.compress(path.read_bytes()), client_id="gz", name=path.name + ".gz"
    )
    rows, billed, _ = oracle(path)
    assert (result.status, result.summary["accepted"], total(result)) == ("PROCESSED", rows, billed)


@pytest.mark.corpus
def test_contract_commitment_files_are_refused_with_a_reason(
    runtime: LocalRuntime, shared_data: Path
) -> None:
    path = next((shared_data / "costs").rglob("focus_1_3_contract_commitment_aws.csv"))
    result = pipeline.ingest(runtime, path.read_bytes(), client_id="cc", name=path.name)
    assert result.status == "SKIPPED"
    assert "contract commitment" in result.reason


# ---- exactly once, on synthetic files (no corpus needed) ---------------------------------

HEADER = ["BillingPeriodStart", "ChargePeriodStart", "BilledCost", "BillingCurrency",
          "ServiceName", "ChargeDescription"]  # fmt: skip


def focus_file(costs: list[str], period: str = "2024-05") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for n, cost in enumerate(costs):
        day = n % 28 + 1
        writer.writerow([f"{period}-01", f"{period}-{day:02d}", cost, "USD", f"svc{n % 3}",
                         f"line\nwith \"quotes\" {n}"])  # fmt: skip
    return out.getvalue().encode()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch, runtime: LocalRuntime) -> LocalRuntime:
    """Small read windows too, so that rows straddle many of them."""
    monkeypatch.setattr(etl, "WINDOW_BYTES", 256)
    return runtime


def test_many_chunks_and_quoted_newlines_give_exact_totals(small_chunks: LocalRuntime) -> None:
    runtime = small_chunks
    costs = [f"{n}.01" for n in range(600)]
    result = pipeline.ingest(runtime, focus_file(costs), client_id="chunks")
    assert result.status == "PROCESSED"
    assert result.summary["chunks"] > 10
    assert Decimal(published(runtime, "chunks")["2024-05"]) == sum(Decimal(c) for c in costs)


def test_a_restated_month_replaces_the_earlier_load(runtime: LocalRuntime) -> None:
    pipeline.ingest(runtime, focus_file(["10", "20"]), client_id="restate")
    pipeline.ingest(runtime, focus_file(["1", "2"], period="2024-04"), client_id="restate")
    pipeline.ingest(runtime, focus_file(["5", "6", "7"]), client_id="restate")
    assert published(runtime, "restate") == {"2024-04": "3", "2024-05": "18"}


def test_every_chunk_delivered_twice_is_counted_once(
    small_chunks: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = small_chunks
    original = etl._Sender.add

    def twice(self: Any, body: str) -> None:
        original(self, body)
        original(self, body)

    monkeypatch.setattr(etl._Sender, "add", twice)
    result = pipeline.ingest(runtime, focus_file(["1.5"] * 400), client_id="twice")
    assert (result.status, result.summary["accepted"]) == ("PROCESSED", 400)
    assert published(runtime, "twice") == {"2024-05": "600"}


def test_a_worker_killed_mid_chunk_is_retried_to_exact_totals(
    small_chunks: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = small_chunks
    original = etl.process_chunk
    killed: list[str] = []

    def dies_once(file: etl.FileJob, body: str, ports: Any) -> bool:
        if not killed and '"chunk": 2' in body:
            killed.append(body)
            raise SystemError("worker killed mid-chunk")  # the transaction never commits
        return original(file, body, ports)

    monkeypatch.setattr(etl, "process_chunk", dies_once)
    result = pipeline.ingest(runtime, focus_file(["2"] * 500), client_id="killed")
    assert killed
    assert (result.status, result.summary["accepted"]) == ("PROCESSED", 500)
    assert published(runtime, "killed") == {"2024-05": "1000"}


def test_a_file_with_bad_rows_reports_them_and_loads_the_rest(runtime: LocalRuntime) -> None:
    data = focus_file(["1", "x", "3"]) + b"only,three,cells\n"
    result = pipeline.ingest(runtime, data, client_id="bad")
    assert (result.summary["accepted"], result.summary["rejected"]) == (2, 2)
    assert [r["row"] for r in result.summary["rejections"]] == [2, 4]
    assert published(runtime, "bad") == {"2024-05": "4"}


def test_a_damaged_gzip_file_fails_with_the_reason_and_publishes_nothing(
    runtime: LocalRuntime,
) -> None:
    whole = gzip.compress(focus_file(["1"] * 3000))
    result = pipeline.ingest(
        runtime, whole[: len(whole) // 2], client_id="damaged", name="damaged.csv.gz"
    )
    assert result.status == "FAILED"
    assert "damaged" in result.reason
    assert published(runtime, "damaged") == {}


def test_a_report_version_in_three_files_is_published_whole(runtime: LocalRuntime) -> None:
    pipeline.ingest(runtime, focus_file(["100"]), client_id="parts")  # the previous version
    meta = {"version": "assembly-1", "parts": "3"}
    files = [focus_file(["1.25", "2"]), focus_file(["3.5"]), focus_file(["4", "0.25", "5"])]
    order = (2, 0, 1)
    results = []
    for n in order:
        results.append(
            pipeline.ingest(
                runtime, files[n], client_id="parts", metadata={**meta, "part": f"p{n}"}
            )
        )
        if len(results) < 3:
            assert published(runtime, "parts") == {"2024-05": "100"}
    assert [r.status for r in results] == ["WAITING", "WAITING", "PROCESSED"]
    assert "1 of 3 parts loaded" in results[0].reason
    assert published(runtime, "parts") == {"2024-05": "16"}
    # The same part uploaded again under this version is loaded but not counted.
    again = pipeline.ingest(runtime, files[0], client_id="parts", metadata={**meta, "part": "p0"})
    assert again.status == "SKIPPED"
    assert published(runtime, "parts") == {"2024-05": "16"}
