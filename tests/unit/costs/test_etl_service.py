"""The ETL use cases on the local adapters (they are the fakes): chunking, exactly-once
writes, retries and publication, driven step by step as the state machine drives them."""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.objects import FilesystemObjectStore
from stratus.platform.adapters.local.queue import SqliteQueueBroker
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports import TableSpec
from stratus.solutions.costs import etl, reports
from stratus.solutions.costs.adapters.duckdb_facts import DuckDbFactStore
from stratus.solutions.costs.bootstrap import EtlPorts

HEADER = ["BillingPeriodStart", "ChargePeriodStart", "BilledCost", "EffectiveCost",
          "BillingCurrency", "ServiceName", "ResourceId", "Tags", "ChargeDescription"]  # fmt: skip


def focus_csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def row(cost: str, *, period: str = "2024-05", day: int = 1, service: str = "EC2",
        description: str = "plain") -> list[str]:  # fmt: skip
    return [f"{period}-01T00:00:00Z", f"{period}-{day:02d}T00:00:00Z", cost, cost, "USD",
            service, f"r-{day}", '{"team": "data"}', description]  # fmt: skip


@pytest.fixture
def ports(tmp_path: Path, clock: FakeClock) -> EtlPorts:
    files = SqliteTableStore(
        tmp_path / "tables.sqlite3", TableSpec("files", ttl_attribute="ExpiresAt"), clock=clock
    )
    return EtlPorts(
        files=files,
        objects=FilesystemObjectStore(tmp_path / "objects", "reports"),
        queues=SqliteQueueBroker(tmp_path / "queues.sqlite3", clock=clock),
        facts=DuckDbFactStore(tmp_path / "facts.duckdb"),
        clock=clock,
        queue_prefix="test-etl-",
        chunk_rows=2,
        files_ttl_days=30,
    )


def start(
    ports: EtlPorts, data: bytes, key: str = "acme/focus/1.csv", **meta: str
) -> dict[str, Any]:
    ports.objects.put(key, data, metadata={"client": "acme", **meta})
    job = etl.mark_started("reports", key, ports)
    assert not job["skip"], job
    job["queue"] = etl.create_queue(job, ports)
    while not job["cursor"]["done"]:
        job["cursor"] = etl.read_chunks(job, ports)
    return job


def finish(ports: EtlPorts, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(5):
        etl.process_chunks(job, ports)
        job["progress"] = etl.check_chunks(job, ports)
        if job["progress"]["done"]:
            break
    assert job["progress"]["done"]
    job["summary"] = {"value": etl.build_reports(job, ports)}
    etl.delete_queue(job, ports)
    etl.mark_processed(job, ports)
    return job["summary"]["value"]


def run(ports: EtlPorts, data: bytes, key: str = "acme/focus/1.csv") -> dict[str, Any]:
    return finish(ports, start(ports, data, key))


def billed(ports: EtlPorts, by: str = "month") -> dict[str, str]:
    report = reports.cost_report(ports.facts, "acme", by)
    return {r["key"]: r["billed_cost"] for r in report["rows"]}


def test_a_file_is_loaded_in_row_aligned_chunks_with_exact_totals(ports: EtlPorts) -> None:
    data = focus_csv([row("0.1"), row("0.2", day=2), row("0.3", day=3), row("0.4", day=4),
                      row("0.5", day=5)])  # fmt: skip
    summary = run(ports, data)
    assert (summary["accepted"], summary["rejected"], summary["chunks"]) == (5, 0, 3)
    assert summary["totals"][0]["billed_cost"] == "1.500000000000"
    assert billed(ports) == {"2024-05": "1.5"}


def test_quoted_newlines_survive_small_read_windows(
    ports: EtlPorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etl, "WINDOW_BYTES", 16)
    rows = [row(str(n), day=n, description=f'line one\nline, two "{n}"') for n in range(1, 8)]
    summary = run(ports, focus_csv(rows))
    assert (summary["accepted"], summary["rejected"]) == (7, 0)
    assert billed(ports) == {"2024-05": "28"}


def test_a_large_file_is_read_over_several_invocations(
    ports: EtlPorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etl, "WINDOW_BYTES", 64)
    monkeypatch.setattr(etl, "READ_BUDGET_BYTES", 100)
    job_rows = [row("1", day=d) for d in range(1, 21)]
    ports.objects.put("acme/f.csv", focus_csv(job_rows), metadata={"client": "acme"})
    job = etl.mark_started("reports", "acme/f.csv", ports)
    job["queue"] = etl.create_queue(job, ports)
    calls = 0
    while not job["cursor"]["done"]:
        job["cursor"] = etl.read_chunks(job, ports)
        calls += 1
    assert calls > 1
    assert finish(ports, job)["accepted"] == 20


def test_a_gzip_file_is_streamed_and_split_by_rows(ports: EtlPorts) -> None:
    rows = [row(f"{n}.25", day=n, description="a\nb") for n in range(1, 6)]
    summary = run(ports, gzip.compress(focus_csv(rows)), key="acme/focus/1.csv.gz")
    assert (summary["accepted"], summary["chunks"]) == (5, 3)
    assert billed(ports) == {"2024-05": "16.25"}


def test_malformed_rows_are_counted_and_reported_without_aborting_the_file(
    ports: EtlPorts,
) -> None:
    rows = [row("1"), row("abc", day=2), ["too", "short"], row("", day=4), row("2", day=5)]
    summary = run(ports, focus_csv(rows))
    assert (summary["accepted"], summary["rejected"]) == (2, 3)
    assert [(r["row"], r["reason"]) for r in summary["rejections"]] == [
        (2, "BilledCost is not a number: 'abc'"),
        (3, "has 2 cells, the header 9"),
        (4, "BilledCost is empty"),
    ]
    assert billed(ports) == {"2024-05": "3"}


def test_a_redelivered_chunk_does_not_double_count(ports: EtlPorts) -> None:
    job = start(ports, focus_csv([row("1"), row("2", day=2), row("4", day=3)]))
    queue = ports.queues.get(job["queue"]["name"])
    (first,) = queue.receive(1, visibility_s=0)
    queue.send(first.body)  # SQS delivers at least once: the same chunk arrives twice
    result = etl.process_chunks(job, ports)
    assert result["skipped"] == 1
    assert finish(ports, job)["accepted"] == 3
    assert billed(ports) == {"2024-05": "7"}


def test_chunks_of_a_killed_worker_come_back_and_are_loaded_once(
    ports: EtlPorts, clock: FakeClock
) -> None:
    job = start(ports, focus_csv([row(str(n), day=n) for n in range(1, 7)]))
    queue = ports.queues.get(job["queue"]["name"])
    taken = queue.receive(2, visibility_s=job["file"]["visibility_s"])  # then the worker dies
    assert len(taken) == 2
    etl.process_chunks(job, ports)
    progress = etl.check_chunks(job, ports)
    assert not progress["done"]
    assert progress["processed"] == 1
    clock.advance(job["file"]["visibility_s"] + 1)
    summary = finish(ports, job)
    assert summary["accepted"] == 6
    assert billed(ports) == {"2024-05": "21"}


def test_a_restated_month_replaces_the_previous_version(ports: EtlPorts) -> None:
    run(ports, focus_csv([row("10"), row("5", period="2024-04")]), key="acme/focus/1.csv")
    assert billed(ports) == {"2024-04": "5", "2024-05": "10"}
    run(ports, focus_csv([row("7"), row("1", day=2)]), key="acme/focus/2.csv")
    assert billed(ports) == {"2024-04": "5", "2024-05": "8"}


def test_an_unknown_format_is_recorded_as_failed_with_its_reason(ports: EtlPorts) -> None:
    ports.objects.put("acme/x.csv", b"foo,bar\n1,2\n", metadata={"client": "acme"})
    job = etl.mark_started("reports", "acme/x.csv", ports)
    assert job["skip"]
    assert "no supported export" in job["reason"]
    (record,) = etl.file_runs(ports, "acme/x.csv")
    assert record["Status"] == "FAILED"


def test_the_same_file_version_is_not_processed_twice(ports: EtlPorts) -> None:
    run(ports, focus_csv([row("1")]), key="acme/same.csv")
    again = etl.mark_started("reports", "acme/same.csv", ports)
    assert again["skip"]
    assert billed(ports) == {"2024-05": "1"}


def test_the_files_table_records_the_outcome_with_a_ttl(ports: EtlPorts) -> None:
    run(ports, focus_csv([row("1"), ["bad"]]), key="acme/t.csv")
    (record,) = etl.file_runs(ports, "acme/t.csv")
    assert record["Status"] == "PROCESSED"
    assert (record["Accepted"], record["Rejected"]) == (1, 1)
    assert record["ExpiresAt"] > ports.clock.now().timestamp()
    assert json.loads(record["Summary"])["accepted"] == 1


def test_a_failed_job_discards_its_unpublished_facts(ports: EtlPorts) -> None:
    job = start(ports, focus_csv([row("1")]))
    etl.process_chunks(job, ports)
    job["error"] = {"Error": "States.Timeout", "Cause": "boom"}
    etl.delete_queue(job, ports)
    assert etl.mark_processed(job, ports)["status"] == "FAILED"
    assert ports.facts.summary(job["file"]["load_id"]).totals == []
    assert billed(ports) == {}


def test_reports_compare_month_to_date_with_the_previous_month(ports: EtlPorts) -> None:
    run(ports, focus_csv([row("3", period="2024-04", day=d) for d in (1, 2, 20)]
                         + [row("5", day=d) for d in (1, 2)]))  # fmt: skip
    mtd = reports.month_to_date(ports.facts, "acme")
    (usd,) = mtd["currencies"]
    assert (mtd["month"], mtd["through_day"]) == ("2024-05", 2)
    assert (usd["month_to_date"], usd["previous_month_same_days"], usd["previous_month"]) == (
        "10",
        "6",
        "9",
    )
    assert Decimal(usd["change_percent"]) == Decimal("66.67")
    top = reports.top_resources(ports.facts, "acme", limit=1)
    assert top["rows"][0]["key"] == "r-1"
    assert reports.resource_details(ports.facts, "acme", "r-1") is not None


def test_a_worker_started_before_the_reader_stores_chunks_as_they_are_sent(
    ports: EtlPorts,
) -> None:
    """The state machine runs the reader and the workers in parallel: a worker that finds the
    queue empty waits for the reader instead of stopping, and stops once reading is over."""
    import threading

    rows = [row(str(n), day=n) for n in range(1, 11)]
    ports.objects.put("acme/f.csv", focus_csv(rows), metadata={"client": "acme"})
    job = etl.mark_started("reports", "acme/f.csv", ports)
    job["queue"] = etl.create_queue(job, ports)
    assert not etl.check_chunks(job, ports)["done"]  # nothing read yet is not "all stored"
    results: list[dict[str, int]] = []
    worker = threading.Thread(target=lambda: results.append(etl.process_chunks(job, ports)))
    worker.start()
    while not job["cursor"]["done"]:
        job["cursor"] = etl.read_chunks(job, ports)
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert results == [{"processed": 5, "skipped": 0, "failed": 0}]
    progress = etl.check_chunks(job, ports)
    assert (progress["done"], progress["processed"], progress["total"]) == (True, 5, 5)


def test_a_reader_failure_stops_the_workers_and_fails_the_check(ports: EtlPorts) -> None:
    whole = gzip.compress(focus_csv([row(str(n), day=n % 28 + 1) for n in range(1, 2000)]))
    ports.objects.put("acme/broken.csv.gz", whole[: len(whole) // 2], metadata={"client": "acme"})
    job = etl.mark_started("reports", "acme/broken.csv.gz", ports)
    assert not job["skip"]
    job["queue"] = etl.create_queue(job, ports)
    with pytest.raises(etl.EtlInputError, match="damaged"):
        etl.read_chunks(job, ports)
    etl.process_chunks(job, ports)  # returns: no more chunks will come
    with pytest.raises(etl.EtlInputError, match=r"reading the file failed: .*damaged"):
        etl.check_chunks(job, ports)


# ---- report versions of several files -----------------------------------------------------

#: One month in three parts: 1.1 + 2.2 + 3.3 (+ 0.4 in part 3) = 7.0; June only in part 2.
PARTS = {
    1: focus_csv([row("1.1", day=1)]),
    2: focus_csv([row("2.2", day=2), row("0.5", period="2024-06")]),
    3: focus_csv([row("3.3", day=3), row("0.4", day=4), row("0.0001", day=5)]),
}


def part_meta(version: str, n: int, parts: int = 3) -> dict[str, str]:
    return {"version": version, "parts": str(parts), "part": f"cur-{n}.csv"}


def run_part(ports: EtlPorts, version: str, n: int, key: str | None = None) -> dict[str, Any]:
    key = key or f"acme/cur/{version}-{n}.csv"
    return finish(ports, start(ports, PARTS[n], key, **part_meta(version, n)))


def test_a_three_part_version_publishes_once_all_parts_are_loaded(ports: EtlPorts) -> None:
    run(ports, focus_csv([row("50")]), key="acme/old.csv")  # the previous version of May
    first = run_part(ports, "v1", 1)
    assert first["version"] == {"id": "v1", "parts": 3, "loaded": 1, "status": "waiting"}
    assert billed(ports) == {"2024-05": "50"}  # readers keep the previous version
    (record,) = etl.file_runs(ports, "acme/cur/v1-1.csv")
    assert (record["Status"], record["Version"], record["PartsLoaded"]) == ("WAITING", "v1", 1)
    assert run_part(ports, "v1", 2)["version"]["status"] == "waiting"
    assert billed(ports) == {"2024-05": "50"}
    last = run_part(ports, "v1", 3)
    assert last["version"] == {"id": "v1", "parts": 3, "loaded": 3, "status": "published"}
    assert billed(ports) == {"2024-05": "7.0001", "2024-06": "0.5"}
    for n in (1, 2, 3):
        (record,) = etl.file_runs(ports, f"acme/cur/v1-{n}.csv")
        assert record["Status"] == "PROCESSED"
    assert ports.files.get({"PK": "VERSION#acme#focus#v1", "SK": "VERSION"})["Status"] == (
        "PUBLISHED"
    )
    stored = ports.files.get({"PK": "REPORT#acme", "SK": "2024-05"})
    assert stored is not None


@pytest.mark.parametrize("order", [(3, 1, 2), (2, 3, 1)])
def test_parts_may_arrive_in_any_order(ports: EtlPorts, order: tuple[int, int, int]) -> None:
    states = [run_part(ports, "v1", n)["version"]["status"] for n in order]
    assert states == ["waiting", "waiting", "published"]
    assert billed(ports) == {"2024-05": "7.0001", "2024-06": "0.5"}


def test_parts_loaded_concurrently_are_published_by_the_last_one_only(ports: EtlPorts) -> None:
    jobs = {n: start(ports, PARTS[n], f"acme/cur/c-{n}.csv", **part_meta("c", n)) for n in PARTS}
    for job in jobs.values():  # every part's chunks stored before any part records itself
        etl.process_chunks(job, ports)
    states = [finish(ports, jobs[n])["version"]["status"] for n in (2, 1, 3)]
    assert states == ["waiting", "waiting", "published"]
    assert billed(ports) == {"2024-05": "7.0001", "2024-06": "0.5"}


def test_a_part_loaded_twice_counts_once(ports: EtlPorts) -> None:
    # Two runs of the same part (an EventBridge redelivery racing the first run: both were
    # started before either was marked processed): the second is a duplicate, discarded.
    one = start(ports, PARTS[1], "acme/cur/d-1.csv", **part_meta("d", 1))
    two = etl.mark_started("reports", "acme/cur/d-1.csv", ports)
    assert not two["skip"]
    two["queue"] = etl.create_queue(two, ports)
    while not two["cursor"]["done"]:
        two["cursor"] = etl.read_chunks(two, ports)
    assert finish(ports, one)["version"]["status"] == "waiting"
    duplicate = finish(ports, two)
    assert duplicate["version"] == {"id": "d", "parts": 3, "loaded": 1, "status": "duplicate"}
    assert ports.facts.summary(two["file"]["load_id"]).totals == []
    runs = {r["LoadId"]: r["Status"] for r in etl.file_runs(ports, "acme/cur/d-1.csv")}
    assert runs[two["file"]["load_id"]] == "DUPLICATE"
    # Two parts are still missing: the duplicate did not complete the version.
    assert run_part(ports, "d", 2)["version"]["status"] == "waiting"
    assert billed(ports) == {}
    assert run_part(ports, "d", 3)["version"]["status"] == "published"
    assert billed(ports) == {"2024-05": "7.0001", "2024-06": "0.5"}
    # A later redelivery of an already processed part is skipped at the start.
    assert etl.mark_started("reports", "acme/cur/d-1.csv", ports)["skip"]


def test_a_retried_build_step_of_the_last_part_publishes_once(ports: EtlPorts) -> None:
    run_part(ports, "r", 1)
    run_part(ports, "r", 2)
    job = start(ports, PARTS[3], "acme/cur/r-3.csv", **part_meta("r", 3))
    etl.process_chunks(job, ports)
    job["progress"] = etl.check_chunks(job, ports)
    assert etl.build_reports(job, ports)["version"]["status"] == "published"
    again = etl.build_reports(job, ports)  # the state machine retried the task
    assert again["version"] == {"id": "r", "parts": 3, "loaded": 3, "status": "published"}
    assert billed(ports) == {"2024-05": "7.0001", "2024-06": "0.5"}


def test_a_failed_part_means_the_version_is_never_published(ports: EtlPorts) -> None:
    run(ports, focus_csv([row("50")]), key="acme/old.csv")
    loaded = run_part(ports, "f", 1)
    failing = start(ports, PARTS[2], "acme/cur/f-2.csv", **part_meta("f", 2))
    failing["error"] = {"Error": "States.TaskFailed", "Cause": "boom"}
    assert etl.mark_processed(failing, ports)["status"] == "FAILED"
    assert ports.facts.summary(loaded["load_id"]).totals == []  # part 1's facts discarded
    late = run_part(ports, "f", 3)
    assert late["version"]["status"] == "failed"
    assert ports.facts.summary(late["load_id"]).totals == []
    (record,) = etl.file_runs(ports, "acme/cur/f-3.csv")
    assert record["Status"] == "DISCARDED"
    assert billed(ports) == {"2024-05": "50"}  # the previous version stays current


def test_a_newer_version_replaces_every_part_of_the_previous_one(ports: EtlPorts) -> None:
    for n in PARTS:
        run_part(ports, "v1", n)
    meta = {"version": "v2", "parts": "2"}
    a = start(ports, focus_csv([row("1")]), "acme/cur/v2-a.csv", **meta)
    assert finish(ports, a)["version"]["status"] == "waiting"
    assert billed(ports) == {"2024-05": "7.0001", "2024-06": "0.5"}
    b = start(ports, focus_csv([row("2", day=2)]), "acme/cur/v2-b.csv", **meta)
    assert finish(ports, b)["version"]["status"] == "published"
    # June was only in v1: v2 does not cover it, so v1's June stays current.
    assert billed(ports) == {"2024-05": "3", "2024-06": "0.5"}


@pytest.mark.parametrize(
    ("meta", "reason"),
    [({"version": "v", "parts": "0"}, "parts"), ({"version": "v", "parts": "x"}, "parts")],
)
def test_invalid_version_metadata_fails_the_file_with_its_reason(
    ports: EtlPorts, meta: dict[str, str], reason: str
) -> None:
    ports.objects.put("acme/bad.csv", focus_csv([row("1")]), metadata={"client": "acme", **meta})
    job = etl.mark_started("reports", "acme/bad.csv", ports)
    assert job["skip"]
    (record,) = etl.file_runs(ports, "acme/bad.csv")
    assert record["Status"] == "FAILED"
    assert reason in record["Error"]


# ---- loads that will never be published are swept -----------------------------------------

DAY = 24 * 3600


def test_an_orphaned_part_is_swept_once_older_than_the_ttl(
    ports: EtlPorts, clock: FakeClock
) -> None:
    run(ports, focus_csv([row("50")]), key="acme/old.csv")
    orphan = run_part(ports, "v1", 2)  # its other parts never come
    assert orphan["version"]["status"] == "waiting"
    clock.advance(10 * DAY)
    waiting = run_part(ports, "v2", 1)  # a part of a newer version, still inside the TTL
    clock.advance(22 * DAY)  # the orphan is 32 days old: past the 30-day TTL and the grace
    run(ports, focus_csv([row("60")]), key="acme/new.csv")
    gone = ports.facts.summary(orphan["load_id"])
    assert (gone.chunks, gone.accepted, gone.totals) == (0, 0, [])
    assert ports.facts.summary(waiting["load_id"]).accepted == 1
    assert billed(ports) == {"2024-05": "60"}  # June of the orphan never showed either
    clock.advance(5 * DAY)  # the newer version completes in time: published whole
    assert run_part(ports, "v2", 2)["version"]["status"] == "waiting"
    assert run_part(ports, "v2", 3)["version"]["status"] == "published"
    assert billed(ports) == {"2024-05": "7.0001", "2024-06": "0.5"}


def test_a_load_inside_the_ttl_and_grace_is_kept(ports: EtlPorts, clock: FakeClock) -> None:
    orphan = run_part(ports, "v1", 1)
    clock.advance(30 * DAY + 23 * 3600)  # past the TTL, not past its day of grace
    run(ports, focus_csv([row("60")]), key="acme/new.csv")
    assert ports.facts.summary(orphan["load_id"]).accepted == 1
    clock.advance(2 * 3600)
    run(ports, focus_csv([row("61")]), key="acme/newer.csv")
    assert ports.facts.summary(orphan["load_id"]).accepted == 0


def test_the_whole_store_is_swept_at_most_once_a_day(ports: EtlPorts, clock: FakeClock) -> None:
    def orphan_of_beta(n: int) -> str:
        meta = {"client": "beta", "version": f"b{n}", "parts": "2"}
        job = start(ports, focus_csv([row("9")]), f"beta/cur/b{n}.csv", **meta)
        return str(finish(ports, job)["load_id"])

    def kept(load_id: str) -> bool:
        return ports.facts.summary(load_id).accepted == 1

    run(ports, focus_csv([row("1")]), key="acme/1.csv")  # the first sweep of this process
    clock.advance(3600)
    first = orphan_of_beta(1)  # another client's orphans: only a full sweep reaches them
    clock.advance(12 * 3600)
    second = orphan_of_beta(2)
    clock.advance(31 * DAY - 11 * 3600)
    run(ports, focus_csv([row("2")]), key="acme/2.csv")  # full sweep: first is old enough
    assert (kept(first), kept(second)) == (False, True)
    clock.advance(12 * 3600)  # second is old enough now, but the last full sweep is recent
    run(ports, focus_csv([row("3")]), key="acme/3.csv")
    assert kept(second)
    clock.advance(12 * 3600)
    run(ports, focus_csv([row("4")]), key="acme/4.csv")
    assert not kept(second)


def test_a_version_with_a_part_older_than_the_ttl_is_never_published(
    ports: EtlPorts, clock: FakeClock
) -> None:
    run(ports, focus_csv([row("50")]), key="acme/old.csv")
    first = run_part(ports, "v1", 1)
    clock.advance(20 * DAY)
    run_part(ports, "v1", 2)  # refreshes the version item's expiry: it outlives part 1
    clock.advance(15 * DAY)  # part 1 is 35 days old: a sweep may have taken its facts
    last = run_part(ports, "v1", 3)
    assert last["version"]["status"] == "failed"
    item = ports.files.get({"PK": "VERSION#acme#focus#v1", "SK": "VERSION"})
    assert item is not None
    assert (item["Status"], item["Error"]) == (
        "FAILED",
        "part 'acme/cur/v1-1.csv' was loaded more than 30 days ago",
    )
    assert ports.facts.summary(first["load_id"]).totals == []
    assert ports.facts.summary(last["load_id"]).totals == []
    (record,) = etl.file_runs(ports, "acme/cur/v1-3.csv")
    assert record["Status"] == "DISCARDED"
    assert billed(ports) == {"2024-05": "50"}  # the previous version stays current


def test_a_row_a_normaliser_cannot_handle_is_rejected_and_the_file_goes_on(
    ports: EtlPorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a hostile cell does to a normaliser (here: Decimal arithmetic past its
    context), the row is counted and reported, and the other rows load."""
    from decimal import InvalidOperation

    def normaliser(cells: list[str]) -> Any:
        if cells[2] == "boom":
            raise InvalidOperation("past the context")
        return original(cells)

    original = etl.bind("focus", HEADER)
    data = focus_csv([row("1"), row("boom"), row("2")]).decode()
    rows, rejections = etl.normalise_rows(data.split("\r\n", 1)[1], HEADER, normaliser, 1)
    assert len(rows) == 2
    assert [(r.row_number, r.reason) for r in rejections] == [
        (2, "cannot be normalised: InvalidOperation")
    ]
