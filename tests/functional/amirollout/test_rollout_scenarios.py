"""The whole rollout through its real entry points: an Image Builder message published to the
SNS topic of the solution's template running in a LocalRuntime, the state machine on the local
ASL runner, the handlers, the table, the outbox and the sandbox fleet (moto + simulated health).

Invariants are asserted for every ASG from what the sandbox observed after every change:
desired never above MaxSize, healthy capacity never below the original desired, and ASGs not
opted in never changed.
"""

from __future__ import annotations

import copy
from typing import Any

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.amirollout.scenario import parse_scenario, run

FAST = {"BakeSeconds": 60, "PollSeconds": 15, "HealthTimeoutSeconds": 600}


def fleet(**changes: Any) -> dict[str, Any]:
    """Three applications / five ASGs, all opted in to ``web-image``."""
    scenario: dict[str, Any] = {
        "applications": [
            {
                "name": "shop",
                "image": "web-image",
                "ami": "web-v1",
                "asgs": [
                    {"name": "shop-web", "min": 2, "max": 6, "desired": 3},
                    {"name": "shop-worker", "min": 1, "max": 4, "desired": 2, "launch": "mixed"},
                ],
            },
            {
                "name": "billing",
                "image": "web-image",
                "ami": "web-v1",
                "asgs": [
                    {"name": "billing-api", "min": 1, "max": 4, "desired": 2},
                    {
                        "name": "billing-legacy",
                        "min": 1,
                        "max": 3,
                        "desired": 1,
                        "launch": "configuration",
                    },
                ],
            },
            {
                "name": "search",
                "image": "web-image",
                "ami": "web-v1",
                "asgs": [{"name": "search-api", "min": 1, "max": 3, "desired": 2}],
            },
        ],
        "events": [{"image": "web-image", "ami": "web-v2", "regions": ["us-east-1"]}],
        "settings": dict(FAST),
    }
    scenario.update(copy.deepcopy(changes))
    return scenario


def simulate(scenario: dict[str, Any]) -> dict[str, Any]:
    result = run(parse_scenario(scenario), clock=FakeClock())
    assert_invariants(result)
    return result


def assert_invariants(result: dict[str, Any]) -> None:
    for name, asg in result["asgs"].items():
        assert asg["violations"] == [], name
        assert asg["max_desired_seen"] <= asg["max_size_seen"], name
        assert asg["min_healthy_seen"] >= asg["original_desired"], name
        assert asg["desired"] == asg["original_desired"], name
        assert asg["max_size"] == asg["original_max"], name
        if not asg["opted_in"]:
            assert asg["max_desired_seen"] == asg["original_desired"], name
            assert {i["image"] for i in asg["instances"]} == {asg["original_image"]}, name


def images(asg: dict[str, Any]) -> set[str]:
    return {i["image"] for i in asg["instances"] if i["lifecycle"] == "InService"}


def test_the_happy_path_replaces_every_instance_of_five_asgs_and_emails_one_report() -> None:
    result = simulate(fleet())

    assert [e["status"] for e in result["executions"]] == ["SUCCEEDED"]
    new_images = {next(iter(images(a))) for a in result["asgs"].values()}
    assert len(new_images) == 1
    for name, asg in result["asgs"].items():
        assert images(asg) != {asg["original_image"]}, name
        assert len(asg["instances"]) == asg["original_desired"], name
        assert asg["max_desired_seen"] == 2 * asg["original_desired"], name
        assert not asg["rolled_back"]
    assert len(result["emails"]) == 1
    mail = result["emails"][0]
    assert mail["to"] == ["ops@example.com"]
    assert "5 ASG(s) updated" in mail["subject"]
    for name in result["asgs"]:
        assert f"== {name}" in mail["body"]


def test_a_duplicate_delivery_gives_exactly_one_rollout() -> None:
    scenario = fleet(events=[{"image": "web-image", "ami": "web-v2", "repeat": 3}])

    result = simulate(scenario)

    assert len(result["executions"]) == 1
    assert len(result["emails"]) == 1
    for asg in result["asgs"].values():
        assert asg["max_desired_seen"] == 2 * asg["original_desired"]


def test_a_failed_build_changes_nothing() -> None:
    result = simulate(fleet(events=[{"image": "web-image", "ami": "web-v2", "status": "FAILED"}]))

    assert result["executions"] == []
    assert result["emails"] == []
    for asg in result["asgs"].values():
        assert images(asg) == {asg["original_image"]}
        assert asg["max_desired_seen"] == asg["original_desired"]


def test_an_event_without_an_ami_for_our_region_changes_nothing() -> None:
    scenario = fleet(
        events=[{"image": "web-image", "ami": "web-v2", "regions": ["eu-west-1", "ap-south-1"]}]
    )

    result = simulate(scenario)

    assert result["executions"] == []
    for asg in result["asgs"].values():
        assert images(asg) == {asg["original_image"]}


def test_the_ami_for_our_region_is_used_when_it_is_listed_second() -> None:
    scenario = fleet(
        events=[{"image": "web-image", "ami": "web-v2", "regions": ["eu-west-1", "us-east-1"]}]
    )

    result = simulate(scenario)

    assert [e["status"] for e in result["executions"]] == ["SUCCEEDED"]
    for asg in result["asgs"].values():
        assert images(asg) != {asg["original_image"]}
        assert not any(i.startswith("ami-eu-west-1") for i in images(asg))


def test_an_opted_out_asg_and_another_applications_asg_are_untouched() -> None:
    scenario = fleet()
    scenario["applications"][2]["asgs"][0]["opt_in"] = False
    scenario["applications"].append(
        {
            "name": "analytics",
            "image": "analytics-image",
            "ami": "analytics-v1",
            "asgs": [{"name": "analytics-etl", "min": 1, "max": 3, "desired": 2}],
        }
    )

    result = simulate(scenario)

    for name in ("search-api", "analytics-etl"):
        asg = result["asgs"][name]
        assert images(asg) == {asg["original_image"]}
        assert asg["max_desired_seen"] == asg["original_desired"]
        assert asg["max_size_seen"] == asg["original_max"]
    assert "search-api" not in result["emails"][0]["body"]


def test_an_asg_at_max_size_gets_max_size_raised_for_the_rollout_and_restored() -> None:
    scenario = fleet()
    scenario["applications"][0]["asgs"][1].update({"max": 2, "desired": 2})

    result = simulate(scenario)

    worker = result["asgs"]["shop-worker"]
    assert worker["max_size_seen"] == 4
    assert worker["max_desired_seen"] == 4
    assert worker["max_size"] == 2
    assert worker["desired"] == 2
    assert images(worker) != {worker["original_image"]}


def test_protected_and_standby_instances_are_skipped_and_reported() -> None:
    scenario = fleet()
    scenario["applications"][1]["asgs"][0].update({"desired": 3, "max": 6, "protected": 1})
    scenario["applications"][0]["asgs"][0].update({"desired": 4, "max": 8, "standby": 1})

    result = simulate(scenario)

    body = result["emails"][0]["body"]
    assert "(protected from scale-in)" in body
    assert "(in Standby)" in body
    billing = result["asgs"]["billing-api"]
    protected = [i for i in billing["instances"] if i["protected"]]
    assert len(protected) == 1
    assert protected[0]["image"] == billing["original_image"]
    web = result["asgs"]["shop-web"]
    standby = [i for i in web["instances"] if i["lifecycle"] == "Standby"]
    assert len(standby) == 1
    assert standby[0]["image"] == web["original_image"]


def test_new_instances_failing_health_roll_the_asgs_back() -> None:
    result = simulate(fleet(failing_amis=["web-v2"]))

    assert [e["status"] for e in result["executions"]] == ["SUCCEEDED"]
    for name, asg in result["asgs"].items():
        assert asg["rolled_back"], name
        assert images(asg) == {asg["original_image"]}, name
        assert len(asg["instances"]) == asg["original_desired"], name
    mail = result["emails"][0]
    assert "5 of 5 ASG(s) rolled back" in mail["subject"]
    assert "ROLLED BACK" in mail["body"]
    assert "RolloutHealthTimeoutError" in mail["body"]


def test_an_alarm_in_alarm_during_the_rollout_rolls_that_application_back() -> None:
    scenario = fleet()
    scenario["applications"][1]["alarms"] = [{"name": "billing-5xx", "at_seconds": 1}]

    result = simulate(scenario)

    for name, asg in result["asgs"].items():
        if name.startswith("billing"):
            assert asg["rolled_back"], name
            assert images(asg) == {asg["original_image"]}, name
        else:
            assert not asg["rolled_back"], name
            assert images(asg) != {asg["original_image"]}, name
    assert "billing-5xx" in result["emails"][0]["body"]


def test_the_spec_fixed_wait_is_available_as_a_setting() -> None:
    scenario = fleet(settings={**FAST, "HealthMode": "fixed", "FixedWaitSeconds": 180})

    result = simulate(scenario)

    for asg in result["asgs"].values():
        assert images(asg) != {asg["original_image"]}


def test_held_instances_are_waited_for_then_skipped_when_the_policy_is_wait() -> None:
    scenario = fleet(settings={**FAST, "HeldInstancePolicy": "wait", "HeldWaitSeconds": 120})
    scenario["applications"][1]["asgs"][0].update({"desired": 3, "max": 6, "protected": 1})

    result = simulate(scenario)

    body = result["emails"][0]["body"]
    assert "(protected from scale-in after 120 s)" in body
    billing = result["asgs"]["billing-api"]
    assert [i["image"] for i in billing["instances"] if i["protected"]] == [
        billing["original_image"]
    ]


def test_an_alarm_during_the_termination_stops_it_and_rolls_back_keeping_capacity() -> None:
    """billing-api's protected old instance is waited for (HeldInstancePolicy=wait), so its
    termination takes several batches; the alarm goes to ALARM between two of them, after the
    health wait passed (the Map runs billing-api first: healthy at about 120 s)."""
    scenario = fleet(settings={**FAST, "HeldInstancePolicy": "wait", "HeldWaitSeconds": 600})
    billing = scenario["applications"][1]
    billing["asgs"] = [{"name": "billing-api", "min": 1, "max": 6, "desired": 3, "protected": 1}]
    billing["alarms"] = [{"name": "billing-5xx", "at_seconds": 240}]
    scenario["applications"] = [billing, scenario["applications"][0]]

    result = simulate(scenario)

    assert [e["status"] for e in result["executions"]] == ["SUCCEEDED"]
    api = result["asgs"]["billing-api"]
    assert api["rolled_back"]
    assert api["image"] == api["original_image"]  # the launch is back on the old AMI
    held = [i for i in api["instances"] if i["protected"]]
    assert [i["image"] for i in held] == [api["original_image"]]  # never terminated
    new = [i for i in api["instances"] if i["image"] != api["original_image"]]
    assert len(new) == 2  # they hold the capacity of the 2 old instances terminated before
    for name in ("shop-web", "shop-worker"):
        assert not result["asgs"][name]["rolled_back"], name
        assert images(result["asgs"][name]) != {result["asgs"][name]["original_image"]}, name
    mail = result["emails"][0]
    assert "1 of 3 ASG(s) rolled back" in mail["subject"]
    section = mail["body"].split("== billing-api")[1].split("== ")[0]
    assert "billing-5xx in ALARM during the termination of old instances" in section
    assert "replaced: 2 " in section
    assert "2 old instance(s) were already terminated" in section
    assert "kept 2 new instance(s) that hold capacity" in section
