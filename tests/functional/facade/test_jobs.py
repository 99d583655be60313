"""The scheduled clean-up through the template's wiring (local runtime, archive bucket) and
the `stratus facade` commands (anonymise, cleanup, seed)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, insert, select

from stratus.cli import main
from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.facade import bootstrap, demo
from stratus.solutions.facade import db as schema
from stratus.solutions.facade.domain.cleanup import decode_rows
from tests.functional.facade.conftest import event

TEMPLATE = Path(__file__).resolve().parents[3] / "src/stratus/solutions/facade/infra/template.yaml"


def test_the_nightly_clean_up_archives_to_the_templates_bucket_then_deletes(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FACADE_LEGACY_LATENCY_MS", "1")
    bootstrap.reset()
    clock = FakeClock()
    runtime = LocalRuntime([TEMPLATE], home=tmp_path / "home", clock=clock)
    try:
        engines = bootstrap.database(None, None, runtime.home)
        demo.seed(engines.writer, now=clock.now() - timedelta(days=400), customers=2)
        with engines.writer.begin() as conn:
            conn.execute(
                insert(schema.audit).values(
                    at=clock.now() - timedelta(days=100), user_id=1, action="a", detail="d"
                )
            )

        report = runtime.invoke("CleanupFunction", event("scheduled"))
        again = runtime.invoke("CleanupFunction", event("scheduled"))

        assert report["deleted"] == 4 + 1  # expired demo tokens + the old audit row
        assert again["deleted"] == again["archived"] == 0
        bucket_name = next(iter(runtime.apps[0].buckets.values())).name
        bucket = runtime.resources.bucket(bucket_name)
        keys = [info.key for info in bucket.list("archive/")]
        assert {k.split("/")[1] for k in keys} == {"legacy_tokens", "facade_audit"}
        assert sum(len(decode_rows(bucket.get(k))) for k in keys) == 5
        with engines.writer.connect() as conn:
            assert conn.execute(select(func.count()).select_from(schema.tokens)).scalar() == 0
    finally:
        runtime.stop()
        bootstrap.reset()


def test_the_cli_seeds_cleans_up_and_anonymises(tmp_path) -> None:
    bootstrap.reset()
    runner = CliRunner()
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'staging.sqlite3'}"

    seeded = runner.invoke(main, ["facade", "seed", "--url", url, "--home", str(home)])
    assert seeded.exit_code == 0, seeded.output
    assert "alice: alice-demo-token" in seeded.output

    cleaned = runner.invoke(main, ["facade", "cleanup", "--url", url, "--home", str(home)])
    assert cleaned.exit_code == 0, cleaned.output
    assert json.loads(cleaned.output)["deleted"] == 0  # nothing is old yet

    bad = runner.invoke(main, ["facade", "cleanup", "--url", url, "--rules", "{"])
    assert bad.exit_code == 2
    assert "not JSON" in bad.output

    key = "k" * 32
    done = runner.invoke(main, ["facade", "anonymise", "--url", url, "--key", key])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["legacy_customers"] == 50

    refused = runner.invoke(
        main, ["facade", "anonymise", "--url", url, "--key", key, "--column", "x.y=ssn"]
    )
    assert refused.exit_code == 1
    assert "table.column" in refused.output
    bootstrap.reset()
