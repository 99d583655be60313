"""The AMI rollout's model and rules: pure, no I/O.

Table keys (one DynamoDB table, PK/SK + GSI1 on Data1 + GSI2 on Data2, every read a Query):

===========================  ==================  ===========================  =================
item                         PK / SK             Data1                        Data2
===========================  ==================  ===========================  =================
image event (dedupe)         AMI~<image arn>/AMI
one ASG in one rollout       ASG~<asg arn>/      APP_NAME~<application>       AMI~<image arn>
                             AMI~<image arn>
an old instance              EC2~<id>/           SOURCE_ASG~<asg arn>         AMI~<image arn>
                             AMI~<image arn>     (TTL ExpiresAt once termination is asked)
termination watch            WATCH/<due iso>~<id>
alert sent (guard)           EC2~<id>/ALERT
===========================  ==================  ===========================  =================
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

HealthMode = Literal["bake", "fixed"]
HeldPolicy = Literal["skip", "wait"]


class RolloutHealthTimeoutError(Exception):
    """New instances did not become healthy in time: the ASG must be rolled back."""


class RolloutAlarmError(Exception):
    """A guarding CloudWatch alarm went to ALARM during the rollout: roll back."""


class RolloutInterruptedError(Exception):
    """UpdateAmi started before and never finished (its process died): revert what it did.

    Step Functions does not retry a Lambda that died (``Lambda.Unknown``, ``States.Timeout``);
    the local runner re-runs the state it was in, so the step itself says it was interrupted."""


@dataclass(frozen=True)
class OutputAmi:
    """One AMI Image Builder distributed (``outputResources.amis[]``)."""

    region: str
    image: str
    name: str = ""
    account_id: str = ""


@dataclass(frozen=True)
class ImageBuilt:
    """EC2 Image Builder's "image state changed" message."""

    image_arn: str
    status: str
    amis: tuple[OutputAmi, ...]
    name: str = ""

    @property
    def available(self) -> bool:
        """Only AVAILABLE images are rolled out (FAILED, BUILDING... change nothing)."""
        return self.status.upper() == "AVAILABLE"

    def ami_for(self, region: str) -> OutputAmi | None:
        """The AMI distributed to ``region``, wherever it is in the list."""
        return next((a for a in self.amis if a.region == region), None)

    @property
    def image_name(self) -> str:
        """The image (recipe) name: what opted-in ASGs name in their tag."""
        match = re.search(r":image/([^/]+)/", self.image_arn)
        return match.group(1) if match else self.name


def execution_name(image_arn: str, ami_id: str) -> str:
    """A Step Functions execution name unique to (image, AMI): a duplicate delivery of the same
    event starts no second rollout. At most 80 characters of [A-Za-z0-9-_]."""
    digest = hashlib.sha256(f"{image_arn}|{ami_id}".encode()).hexdigest()[:24]
    safe_ami = re.sub(r"[^A-Za-z0-9-]", "-", ami_id)[:40]
    return f"rollout-{safe_ami}-{digest}"


@dataclass(frozen=True)
class Settings:
    """How a rollout behaves (template Parameters → function environment)."""

    health_mode: HealthMode = "bake"
    bake_s: int = 120
    timeout_s: int = 900
    poll_s: int = 15
    fixed_wait_s: int = 180
    held_policy: HeldPolicy = "skip"
    held_wait_s: int = 600
    grace_s: int = 900
    opt_in_tag: str = "ami-rollout:image"
    app_tag: str = "ami-rollout:app"
    alarm_tag: str = "ami-rollout:alarms"
    sender: str = "ami-rollout@example.com"
    recipients: tuple[str, ...] = ("ops@example.com",)


def scale_out_target(desired: int, max_size: int) -> tuple[int, int]:
    """Desired 2x for the rollout and the MaxSize that allows it (raised, restored later)."""
    target = desired * 2
    return target, max(max_size, target)


def may_terminate(healthy_capacity: int, original_desired: int) -> bool:
    """An old instance may go only if healthy capacity stays at the original desired."""
    return healthy_capacity - 1 >= original_desired


def held_reason(lifecycle: str, protected: bool) -> str | None:
    """Why an old instance is held back from termination, or None."""
    if lifecycle == "Standby":
        return "in Standby"
    if protected:
        return "protected from scale-in"
    return None


def alarm_names(tag_value: str | None) -> list[str]:
    """Alarm names from the ASG's alarm tag (comma separated)."""
    return [n.strip() for n in (tag_value or "").split(",") if n.strip()]


# ---- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AsgOutcome:
    """What happened to one ASG, for the report."""

    name: str
    application: str
    old_image: str
    new_image: str
    launched: Sequence[str]
    replaced: Sequence[str]
    skipped: Sequence[tuple[str, str]]
    duration_s: float | None
    errors: Sequence[str]
    rolled_back: bool
    reverted: str = ""
    state: str = ""


def render_report(
    image_arn: str, ami_id: str, outcomes: Sequence[AsgOutcome], update_failure: str = ""
) -> tuple[str, str]:
    """Subject and text of the report email; ``update_failure`` says why UpdateAmi failed
    (every ASG it had recorded was then reverted)."""
    rolled_back = [o for o in outcomes if o.rolled_back]
    if not outcomes:
        verdict = "no opted-in Auto Scaling group"
    elif rolled_back:
        verdict = f"{len(rolled_back)} of {len(outcomes)} ASG(s) rolled back"
    else:
        verdict = f"{len(outcomes)} ASG(s) updated"
    if update_failure:
        verdict = "UpdateAmi failed, " + (verdict if outcomes else "no ASG changed")
    subject = f"AMI rollout {ami_id}: {verdict}"
    lines = [f"Image: {image_arn}", f"AMI: {ami_id}", f"Result: {verdict}"]
    if update_failure:
        lines.append(f"UpdateAmi failed: {update_failure}")
    lines.append("")
    for o in outcomes:
        lines.append(f"== {o.name} (application {o.application or '-'})")
        lines.append(f"   old AMI: {o.old_image}   new AMI: {o.new_image}")
        lines.append(f"   launched: {len(o.launched)} {', '.join(o.launched)}")
        lines.append(f"   replaced: {len(o.replaced)} {', '.join(o.replaced)}")
        for instance, why in o.skipped:
            lines.append(f"   skipped: {instance} ({why})")
        if o.duration_s is not None:
            lines.append(f"   duration: {o.duration_s:.0f} s")
        for error in o.errors:
            lines.append(f"   error: {error}")
        if o.rolled_back:
            lines.append(f"   ROLLED BACK: {o.reverted}")
        lines.append("")
    return subject, "\n".join(lines)


def render_alert(instance_id: str, asg: str, image_arn: str) -> tuple[str, str]:
    """Subject and text of the "instance still running" alert."""
    subject = f"Old instance {instance_id} is still running: terminate it manually"
    text = (
        f"Instance {instance_id} of Auto Scaling group {asg} was replaced by the AMI rollout of\n"
        f"{image_arn} and should have been terminated, but it is still running.\n"
        f"Terminate it manually: aws ec2 terminate-instances --instance-ids {instance_id}\n"
    )
    return subject, text
