"""The clean-up job: obsolete rows archived (compressed, partitioned by table and date),
then deleted; idempotent; counts reported. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.objects import FilesystemObjectStore
from stratus.solutions.facade import db as schema
from stratus.solutions.facade.cleanup import run_cleanup
from stratus.solutions.facade.domain.cleanup import (
    CleanupRule,
    RuleError,
    archive_key,
    decode_rows,
    parse_rules,
)

NOW = datetime(2026, 6, 15, 14, 30, tzinfo=UTC)
RULES = [CleanupRule("facade_audit", "at", 90)]


@pytest.fixture
def archive(tmp_path):
    return FilesystemObjectStore(tmp_path / "objects", "archive")


def add_audit(engine, *stamps: datetime) -> None:
    with engine.begin() as conn:
        for i, at in enumerate(stamps):
            conn.execute(
                insert(schema.audit).values(at=at, user_id=1, action="x", detail=f"row {i}")
            )


def count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.audit)).scalar_one())


def test_rows_older_than_the_rule_are_archived_by_day_then_deleted(db, archive) -> None:
    old_a = NOW - timedelta(days=120)
    old_b = NOW - timedelta(days=100)
    recent = NOW - timedelta(days=10)
    add_audit(db.writer, old_a, old_a + timedelta(hours=1), old_b, recent)

    report = run_cleanup(RULES, db.writer, archive, FakeClock(NOW))

    assert report["archived"] == 3
    assert report["deleted"] == 3
    assert count(db.writer) == 1
    keys = [info.key for info in archive.list("archive/")]
    assert keys == [
        f"archive/facade_audit/dt={old_a.date()}/facade_audit-1-2.jsonl.gz",
        f"archive/facade_audit/dt={old_b.date()}/facade_audit-3-3.jsonl.gz",
    ]
    first = decode_rows(archive.get(keys[0]))
    assert [r["detail"] for r in first] == ["row 0", "row 1"]
    assert first[0]["at"] == old_a.isoformat()
    assert archive.get(keys[0])[:2] == b"\x1f\x8b"  # gzip


def test_running_again_finds_nothing_and_changes_nothing(db, archive) -> None:
    add_audit(db.writer, NOW - timedelta(days=200), NOW - timedelta(days=1))
    run_cleanup(RULES, db.writer, archive, FakeClock(NOW))
    objects = {i.key: archive.get(i.key) for i in archive.list()}

    again = run_cleanup(RULES, db.writer, archive, FakeClock(NOW + timedelta(hours=3)))

    assert again["archived"] == again["deleted"] == 0
    assert {i.key: archive.get(i.key) for i in archive.list()} == objects
    assert count(db.writer) == 1


def test_a_run_interrupted_after_archiving_rewrites_the_same_objects(db, archive) -> None:
    add_audit(db.writer, *(NOW - timedelta(days=100, minutes=i) for i in range(5)))

    first = run_cleanup(RULES, db.writer, archive, FakeClock(NOW), batch_size=10)
    blob = archive.get(first["rules"][0]["objects"][0])
    # simulate the crash: put the rows back as if the delete never happened
    rows = decode_rows(blob)
    with db.writer.begin() as conn:
        for row in rows:
            conn.execute(
                insert(schema.audit).values(
                    id=row["id"],
                    at=datetime.fromisoformat(row["at"]),
                    user_id=row["user_id"],
                    action=row["action"],
                    detail=row["detail"],
                )
            )

    second = run_cleanup(RULES, db.writer, archive, FakeClock(NOW), batch_size=10)

    assert second["rules"][0]["objects"] == first["rules"][0]["objects"]
    assert archive.get(first["rules"][0]["objects"][0]) == blob
    assert count(db.writer) == 0


def test_large_tables_are_cleaned_in_batches(db, archive) -> None:
    add_audit(db.writer, *(NOW - timedelta(days=95, seconds=i) for i in range(25)))

    report = run_cleanup(RULES, db.writer, archive, FakeClock(NOW), batch_size=10)

    assert report["deleted"] == 25
    assert len(report["rules"][0]["objects"]) == 3
    assert sum(len(decode_rows(archive.get(k))) for k in report["rules"][0]["objects"]) == 25


def test_expired_tokens_are_cleaned_by_their_own_rule(db, archive) -> None:
    from stratus.solutions.facade import demo

    demo.seed(db.writer, now=NOW - timedelta(days=400), customers=0)  # tokens expired long ago
    rules = [CleanupRule("legacy_tokens", "expires_at", 30)]

    report = run_cleanup(rules, db.writer, archive, FakeClock(NOW))

    assert report["deleted"] == 4
    assert all("/legacy_tokens/dt=" in k for k in report["rules"][0]["objects"])


def test_a_rule_that_cannot_delete_reports_its_error_and_keeps_the_rows(db, archive) -> None:
    from stratus.solutions.facade import demo

    demo.seed(db.writer, now=NOW - timedelta(days=400), customers=3)
    rules = [CleanupRule("legacy_customers", "created_at", 30), *RULES]

    report = run_cleanup(rules, db.writer, archive, FakeClock(NOW))

    customers, audit = report["rules"]
    assert customers["error"] is not None  # orders still reference them
    assert customers["deleted"] == 0
    assert audit["error"] is None
    with db.writer.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.customers)).scalar_one() == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not JSON"),
        ('{"table": "x"}', "a JSON list"),
        ('[{"table": "facade_audit", "column": "at"}]', "older_than_days"),
        ('[{"table": "facade_audit", "column": "at", "older_than_days": 0}]', "older_than_days"),
        ('[{"column": "at", "older_than_days": 3}]', "required"),
    ],
)
def test_malformed_rules_are_refused_with_a_reason(text, reason) -> None:
    with pytest.raises(RuleError, match=reason):
        parse_rules(text)


@pytest.mark.parametrize(
    "rule",
    [
        CleanupRule("no_such_table", "at", 1),
        CleanupRule("facade_audit", "detail", 1),
        CleanupRule("legacy_permissions", "permission", 1),
    ],
)
def test_rules_on_unknown_tables_or_non_timestamp_columns_are_refused(db, archive, rule) -> None:
    with pytest.raises(RuleError):
        run_cleanup([rule], db.writer, archive, FakeClock(NOW))


def test_the_cutoff_is_midnight_utc_minus_the_age() -> None:
    rule = CleanupRule("facade_audit", "at", 2)
    assert rule.cutoff(NOW) == datetime(2026, 6, 13, tzinfo=UTC)
    assert archive_key("t", NOW.date(), 1, 9) == "archive/t/dt=2026-06-15/t-1-9.jsonl.gz"
