"""The AMI rollout from a fresh process: `stratus ami demo`, and `stratus up --demo`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import STRATUS, start_server

TEMPLATE = (
    Path(__file__).resolve().parents[3]
    / "src"
    / "stratus"
    / "solutions"
    / "amirollout"
    / "infra"
    / "template.yaml"
)


def test_stratus_ami_demo_prints_the_report_email(tmp_path: Path) -> None:
    done = subprocess.run(
        [STRATUS, "ami", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "SUCCEEDED" in done.stdout
    assert "Subject: AMI rollout" in done.stdout
    assert "skipped:" in done.stdout  # the protected instance of billing-api
    assert "== analytics-etl" not in done.stdout  # another image's application


def test_stratus_up_demo_rolls_the_sandbox_fleet_out_and_mails_the_report(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(home, "--demo", "--clock-factor", "2000", template=TEMPLATE)
    try:
        deadline = time.monotonic() + 90
        mails: list[Path] = []
        while time.monotonic() < deadline and not mails:
            mails = sorted((home / "outbox").glob("*.eml"))
            time.sleep(0.2)
        assert mails, server.log.read_text()
        text = mails[0].read_text()
        assert "Subject: AMI rollout" in text
        assert "ASG(s) updated" in text
    finally:
        assert server.interrupt() == 0
    # Mail and the rollout table survive the process; the sandbox fleet (moto) does not.
    assert sorted((home / "outbox").glob("*.eml")) == mails
    assert (home / "tables.sqlite3").is_file()
