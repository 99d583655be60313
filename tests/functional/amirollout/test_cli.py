"""`stratus ami`: simulate a scenario into JSON, and clear messages for bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from stratus.cli import main

SCENARIO = """
applications:
  - name: shop
    image: web-image
    ami: web-v1
    asgs:
      - {name: shop-web, min: 1, max: 2, desired: 2}
  - name: analytics
    image: analytics-image
    ami: analytics-v1
    asgs:
      - {name: analytics-etl, min: 1, max: 3, desired: 1}
events:
  - {image: web-image, ami: web-v2, regions: [eu-west-1, us-east-1], repeat: 2}
  - {image: web-image, ami: web-v3, status: FAILED}
settings: {BakeSeconds: 30, PollSeconds: 10}
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_simulate_writes_every_asg_with_instances_capacity_seen_and_emails(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out.json"

    code, output = invoke("ami", "simulate", str(scenario), "--json", str(out))

    assert code == 0, output
    result = json.loads(out.read_text())
    web = result["asgs"]["shop-web"]
    assert web["max_desired_seen"] == 4
    assert web["max_size_seen"] == 4
    assert web["max_size"] == 2
    assert web["min_healthy_seen"] >= 2
    assert web["rolled_back"] is False
    assert len({i["image"] for i in web["instances"]}) == 1
    assert web["instances"][0]["image"] != web["original_image"]
    etl = result["asgs"]["analytics-etl"]
    assert etl["max_desired_seen"] == 1
    assert [i["image"] for i in etl["instances"]] == [etl["original_image"]]
    assert len(result["emails"]) == 1
    assert result["emails"][0]["to"] == ["ops@example.com"]
    assert "shop-web" in result["emails"][0]["body"]
    assert "1 rollout(s)" in output


def test_an_invalid_scenario_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(
        "applications:\n  - {name: a, image: i, ami: a-v1, asgs: [{name: x, min: 3, max: 2,"
        " desired: 1}]}\nevents: []\n"
    )

    code, output = invoke("ami", "simulate", str(scenario), "--json", str(tmp_path / "o.json"))

    assert code == 2
    assert "min <= desired <= max" in output
    assert "events" in output
    assert "Traceback" not in output
    assert not (tmp_path / "o.json").exists()


def test_a_scenario_that_is_not_yaml_or_missing_is_reported(tmp_path: Path) -> None:
    code, output = invoke("ami", "simulate", str(tmp_path / "none.yaml"), "--json", "o.json")
    assert code == 2
    assert "cannot read" in output

    bad = tmp_path / "bad.yaml"
    bad.write_text("applications: [\n")
    code, output = invoke("ami", "simulate", str(bad), "--json", "o.json")
    assert code == 2
    assert "not YAML/JSON" in output


def test_publish_refuses_an_arn_that_is_not_an_image_builder_image() -> None:
    code, output = invoke("ami", "publish", "--image-arn", "arn:aws:s3:::x", "--ami", "web-v2")

    assert code == 2
    assert "--image-arn must look like" in output
    assert "Traceback" not in output


def test_publish_runs_a_custom_event_against_the_demo_fleet() -> None:
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image/analytics-image/2.0.0/1"

    code, output = invoke(
        "ami", "publish", "--image-arn", arn, "--ami", "analytics-2026-12",
        "--region", "eu-west-1", "--region", "us-east-1",
    )  # fmt: skip

    assert code == 0, output
    assert f"Image: {arn}" in output
    assert "Subject: AMI rollout" in output
    assert "1 ASG(s) updated" in output
    assert "== analytics-etl" in output
