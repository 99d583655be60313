"""The rollout's pure rules."""

from __future__ import annotations

import re

from stratus.solutions.amirollout.domain.model import (
    AsgOutcome,
    ImageBuilt,
    OutputAmi,
    alarm_names,
    execution_name,
    held_reason,
    may_terminate,
    render_report,
    scale_out_target,
)

ARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/web-image/1.0.1/1"


def built(status: str = "AVAILABLE", *regions: str) -> ImageBuilt:
    return ImageBuilt(
        image_arn=ARN,
        status=status,
        amis=tuple(OutputAmi(region=r, image=f"ami-{r}") for r in regions),
    )


def test_the_ami_for_our_region_is_found_wherever_it_is_listed() -> None:
    event = built("AVAILABLE", "eu-west-1", "us-east-1")
    ami = event.ami_for("us-east-1")
    assert ami is not None
    assert ami.image == "ami-us-east-1"
    assert event.ami_for("ap-south-1") is None


def test_only_available_images_are_rolled_out() -> None:
    assert built("AVAILABLE").available
    assert not built("FAILED").available


def test_the_image_name_comes_from_the_arn() -> None:
    assert built().image_name == "web-image"


def test_execution_names_are_stable_unique_and_valid_for_step_functions() -> None:
    first = execution_name(ARN, "ami-1")
    assert first == execution_name(ARN, "ami-1")
    assert first != execution_name(ARN, "ami-2")
    assert first != execution_name(ARN.replace("1.0.1", "1.0.2"), "ami-1")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", first)


def test_scale_out_doubles_desired_and_raises_max_size_only_when_needed() -> None:
    assert scale_out_target(2, 6) == (4, 6)
    assert scale_out_target(2, 2) == (4, 4)
    assert scale_out_target(0, 3) == (0, 3)


def test_an_instance_may_go_only_if_healthy_capacity_stays_at_the_original_desired() -> None:
    assert may_terminate(healthy_capacity=4, original_desired=3)
    assert not may_terminate(healthy_capacity=3, original_desired=3)


def test_protected_and_standby_instances_are_held_with_a_reason() -> None:
    assert held_reason("Standby", protected=False) == "in Standby"
    assert held_reason("InService", protected=True) == "protected from scale-in"
    assert held_reason("InService", protected=False) is None


def test_alarm_names_come_from_a_comma_separated_tag() -> None:
    assert alarm_names(" a-5xx, b-latency ,") == ["a-5xx", "b-latency"]
    assert alarm_names(None) == []


def test_a_rollback_report_says_what_was_reverted() -> None:
    outcome = AsgOutcome(
        name="web",
        application="shop",
        old_image="ami-old",
        new_image="ami-new",
        launched=["i-2"],
        replaced=[],
        skipped=[("i-9", "protected from scale-in")],
        duration_s=42,
        errors=["RolloutAlarmError: alarm web-5xx in ALARM"],
        rolled_back=True,
        reverted="web back on launch template web-lt version 1",
    )

    subject, text = render_report(ARN, "ami-new", [outcome])

    assert subject == "AMI rollout ami-new: 1 of 1 ASG(s) rolled back"
    assert "ROLLED BACK: web back on launch template web-lt version 1" in text
    assert "skipped: i-9 (protected from scale-in)" in text
    assert "error: RolloutAlarmError" in text


def test_a_report_after_update_ami_failed_says_so_in_the_subject_and_gives_the_error() -> None:
    subject, text = render_report(ARN, "ami-new", [], "InvalidRequestError: refused")

    assert subject == "AMI rollout ami-new: UpdateAmi failed, no ASG changed"
    assert "UpdateAmi failed: InvalidRequestError: refused" in text
