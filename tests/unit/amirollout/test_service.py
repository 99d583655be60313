"""Use cases on the local adapters (SQLite table, outbox, fake clock, sandbox fleet).

Crash safety: every step can run again (a retried Lambda, an execution resumed from its last
state after the process was killed) and changes nothing the second time.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from stratus.platform.adapters.aws.fleet_sandbox import SandboxFleet
from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.mail import OutboxMailer
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports import (
    BackendUnavailableError,
    IndexSpec,
    InvalidRequestError,
    TableSpec,
)
from stratus.platform.ports.fleet import Launch
from stratus.solutions.amirollout import service
from stratus.solutions.amirollout.domain.model import (
    RolloutAlarmError,
    RolloutHealthTimeoutError,
    RolloutInterruptedError,
    Settings,
)
from stratus.solutions.amirollout.service import Deps, Target

ARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/web-image/1.0.1/1"
TAG = "ami-rollout:image"


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxFleet]:
    fleet = SandboxFleet("us-east-1", clock=clock, boot_seconds=60)
    yield fleet
    fleet.close()


@pytest.fixture
def deps(tmp_path: Path, clock: FakeClock, sandbox: SandboxFleet) -> Deps:
    spec = TableSpec(
        name="rollout",
        indexes={"GSI1": IndexSpec("Data1", "SK"), "GSI2": IndexSpec("Data2", "SK")},
        ttl_attribute="ExpiresAt",
        stream=True,
    )
    return Deps(
        table=SqliteTableStore(tmp_path / "tables.sqlite3", spec, clock=clock),
        fleet=sandbox,
        mailer=OutboxMailer(tmp_path / "outbox", verified=["example.com"]),
        clock=clock,
        settings=Settings(bake_s=60, poll_s=15, timeout_s=600, grace_s=300),
    )


@pytest.fixture
def web(sandbox: SandboxFleet) -> tuple[str, str]:
    old, new = sandbox.image("web-v1"), sandbox.image("web-v2")
    sandbox.add_group(
        "web", image_id=old, min_size=1, max_size=3, desired=2, tags={TAG: "web-image"}
    )
    sandbox.add_group("other", image_id=old, min_size=1, max_size=3, desired=2)
    sandbox.observe_all()
    return old, new


def target_of(targets: list[dict[str, str]]) -> Target:
    assert len(targets) == 1
    return Target.from_payload(targets[0])


def test_update_ami_run_twice_creates_one_launch_version_and_one_target(
    deps: Deps, sandbox: SandboxFleet, web: tuple[str, str]
) -> None:
    _, new = web
    first = service.update_ami(ARN, new, "web-image", deps)
    again = service.update_ami(ARN, new, "web-image", deps)

    assert first == again
    assert sandbox.group("web").launch.version == "2"
    assert sandbox.group("other").launch.version == "1"


def test_scale_out_resumed_after_a_crash_never_doubles_capacity_twice(
    deps: Deps, sandbox: SandboxFleet, web: tuple[str, str]
) -> None:
    _, new = web
    target = target_of(service.update_ami(ARN, new, "web-image", deps))

    service.scale_out(target, deps)
    service.scale_out(target, deps)  # the step retried / resumed

    group = sandbox.group("web")
    assert group.desired == 4
    assert sandbox.stats["web"].max_desired == 4
    assert sandbox.stats["web"].violations == []


def test_a_process_killed_after_recording_intent_resumes_to_the_same_capacity(
    deps: Deps, sandbox: SandboxFleet, web: tuple[str, str]
) -> None:
    _, new = web
    target = target_of(service.update_ami(ARN, new, "web-image", deps))
    # Killed after "SCALING" was recorded, before the fleet changed:
    deps.table.update(
        target.key, set={"state": "SCALING", "scaled_at": "2026-01-01T00:00:00+00:00"}
    )

    service.scale_out(target, deps)
    service.scale_out(target, deps)

    assert sandbox.group("web").desired == 4
    assert sandbox.stats["web"].max_desired == 4


def test_terminate_run_twice_replaces_each_old_instance_once(
    deps: Deps, sandbox: SandboxFleet, clock: FakeClock, web: tuple[str, str]
) -> None:
    old, new = web
    target = target_of(service.update_ami(ARN, new, "web-image", deps))
    service.scale_out(target, deps)
    clock.advance(61)
    assert service.check_health(target, deps)["status"] == "WAIT"  # baking
    clock.advance(61)
    assert service.check_health(target, deps)["status"] == "HEALTHY"

    assert service.terminate_old(target, deps)["done"] is True
    assert service.terminate_old(target, deps)["done"] is True

    group = sandbox.group("web")
    assert group.desired == 2
    assert group.max_size == 3
    images = set(sandbox.images(i.instance_id for i in group.instances).values())
    assert images == {new}
    assert sandbox.stats["web"].min_healthy == 2
    assert sandbox.stats["other"].max_desired == 2
    record = deps.table.get(target.key)
    assert record is not None
    assert len(record["replaced"]) == 2
    assert old != new


def test_health_timeout_raises_so_the_state_machine_rolls_back(
    deps: Deps, sandbox: SandboxFleet, clock: FakeClock, web: tuple[str, str]
) -> None:
    _, new = web
    sandbox.fail_image(new)
    target = target_of(service.update_ami(ARN, new, "web-image", deps))
    service.scale_out(target, deps)
    clock.advance(601)

    with pytest.raises(RolloutHealthTimeoutError):
        service.check_health(target, deps)

    service.rollback(target, {"Error": "RolloutHealthTimeoutError", "Cause": "late"}, deps)
    service.rollback(target, None, deps)  # resumed: nothing more happens
    group = sandbox.group("web")
    assert group.launch.version == "1"
    assert (group.desired, group.max_size) == (2, 3)
    assert sandbox.stats["web"].min_healthy == 2


def test_a_still_running_expired_instance_gets_exactly_one_alert_email(
    deps: Deps, sandbox: SandboxFleet, clock: FakeClock, web: tuple[str, str]
) -> None:
    target = Target(ARN, "ami-x", "arn:asg/web", "web")
    running = sandbox.group("web").instances[0].instance_id
    item = {
        "PK": f"EC2~{running}",
        "SK": f"AMI~{ARN}",
        "Data1": "SOURCE_ASG~arn:asg/web",
        "Data2": f"AMI~{ARN}",
        "instance_id": running,
        "asg_name": "web",
        "state": "TERMINATING",
        "ExpiresAt": int((clock.now() + timedelta(seconds=300)).timestamp()),
    }
    deps.table.put(item)
    service._watch(running, target, clock.now() + timedelta(seconds=300), deps)

    assert service.check_due(deps) == []  # not due yet
    clock.advance(301)
    assert service.check_due(deps) == [running]
    assert service.check_due(deps) == []
    assert deps.table.expire() == 1
    removed = [r.old_image for r in deps.table.read_stream() if r.by_service and r.old_image]
    assert service.on_expired(removed, deps) == []  # the stream sees it too: no second email

    mails = deps.mailer.messages()  # type: ignore[attr-defined]
    assert len(mails) == 1
    assert running in mails[0].read_text()


def test_a_terminated_expired_instance_sends_no_alert(
    deps: Deps, sandbox: SandboxFleet, web: tuple[str, str]
) -> None:
    gone = sandbox.group("web").instances[0].instance_id
    sandbox.terminate(gone, decrement=False)

    assert not service.verify_terminated(gone, "web", ARN, deps)
    assert deps.mailer.messages() == []  # type: ignore[attr-defined]


# ---- UpdateAmi failing or interrupted: every group it switched is reverted ----------------------


class ProcessKilledError(BaseException):
    """Not an Exception: nothing catches it, as nothing survives a killed process."""


class FaultySandbox(SandboxFleet):
    """The sandbox whose point_group fails for some groups, as AWS can refuse an update.

    ``refuse``: a port error before the group changes. ``die_after``: the group changes, then
    the process "dies" before the caller can record it. Each fault fires once."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.refuse: dict[str, Exception] = {}
        self.die_after: set[str] = set()
        self.pointed: list[str] = []

    def point_group(self, group: str, launch: Launch) -> None:
        if group in self.refuse:
            raise self.refuse.pop(group)
        super().point_group(group, launch)
        self.pointed.append(group)
        if group in self.die_after:
            self.die_after.discard(group)
            raise ProcessKilledError


@pytest.fixture
def faulty(clock: FakeClock) -> Iterator[FaultySandbox]:
    fleet = FaultySandbox("us-east-1", clock=clock, boot_seconds=60)
    yield fleet
    fleet.close()


@pytest.fixture
def three(faulty: FaultySandbox, deps: Deps) -> tuple[Deps, str, str]:
    """Three opted-in groups (web-a, web-b, web-c, found in this order) on the faulty fleet."""
    old, new = faulty.image("web-v1"), faulty.image("web-v2")
    for name in ("web-a", "web-b", "web-c"):
        faulty.add_group(
            name, image_id=old, min_size=1, max_size=3, desired=2, tags={TAG: "web-image"}
        )
    faulty.observe_all()
    assert [g.name for g in faulty.groups(TAG, "web-image")] == ["web-a", "web-b", "web-c"]
    return replace(deps, fleet=faulty), old, new


def versions(fleet: SandboxFleet) -> dict[str, str | None]:
    return {n: fleet.group(n).launch.version for n in ("web-a", "web-b", "web-c")}


def mail_text(deps: Deps) -> str:
    """Subject and body of the one email sent."""
    mails = deps.mailer.messages()  # type: ignore[attr-defined]
    assert len(mails) == 1
    msg = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return f"{msg['Subject']}\n{body.get_content()}"


def test_update_ami_failing_on_the_second_of_three_groups_reverts_the_first_and_reports(
    three: tuple[Deps, str, str], faulty: FaultySandbox
) -> None:
    deps, old, new = three
    faulty.refuse["web-b"] = InvalidRequestError("ValidationError: launch template refused")

    with pytest.raises(InvalidRequestError):
        service.update_ami(ARN, new, "web-image", deps)
    assert versions(faulty) == {"web-a": "2", "web-b": "1", "web-c": "1"}

    error = {"Error": "InvalidRequestError", "Cause": '{"errorMessage": "launch template refused"}'}
    assert service.revert_update(ARN, new, error, deps)["reverted"] == ["web-a", "web-b", "web-c"]
    calls = faulty.calls
    service.revert_update(ARN, new, error, deps)  # retried / resumed: nothing more happens
    assert faulty.calls == calls

    assert versions(faulty) == {"web-a": "1", "web-b": "1", "web-c": "1"}
    for name in ("web-a", "web-b", "web-c"):
        group = faulty.group(name)
        assert (group.desired, group.max_size) == (2, 3)
        assert set(faulty.images(i.instance_id for i in group.instances).values()) == {old}
    assert service.send_report(ARN, new, deps)["rolled_back"] is True
    text = mail_text(deps)
    assert "UpdateAmi failed, 3 of 3 ASG(s) rolled back" in text
    assert "UpdateAmi failed: InvalidRequestError: launch template refused" in text
    assert "ROLLED BACK: web-a back on launch template" in text
    assert "web-c not switched" in text
    assert "error: UpdateAmi: InvalidRequestError: ValidationError: launch template refused" in text


def test_a_transient_failure_inside_update_ami_is_retried_to_completion_not_reverted(
    three: tuple[Deps, str, str], faulty: FaultySandbox
) -> None:
    deps, _, new = three
    faulty.refuse["web-b"] = BackendUnavailableError("Throttling: Rate exceeded")

    with pytest.raises(BackendUnavailableError):
        service.update_ami(ARN, new, "web-image", deps)
    targets = service.update_ami(ARN, new, "web-image", deps)  # the state machine's Retry

    assert [t["asg_name"] for t in targets] == ["web-a", "web-b", "web-c"]
    assert versions(faulty) == {"web-a": "2", "web-b": "2", "web-c": "2"}
    assert faulty.pointed == ["web-a", "web-b", "web-c"]  # web-a not pointed twice
    for target in targets:
        record = deps.table.get(Target.from_payload(target).key)
        assert record is not None
        assert record["state"] == "UPDATED"
        assert "update_error" not in record


def test_update_ami_killed_mid_way_then_resumed_reverts_even_the_unrecorded_switch(
    three: tuple[Deps, str, str], faulty: FaultySandbox
) -> None:
    deps, _, new = three
    faulty.die_after.add("web-b")  # web-b is switched, then the process dies

    with pytest.raises(ProcessKilledError):
        service.update_ami(ARN, new, "web-image", deps)
    assert versions(faulty) == {"web-a": "2", "web-b": "2", "web-c": "1"}

    # The resumed execution runs UpdateAmi again: it says it was interrupted (Catch → revert).
    with pytest.raises(RolloutInterruptedError):
        service.update_ami(ARN, new, "web-image", deps)
    error = {"Error": "RolloutInterruptedError", "Cause": "UpdateAmi was interrupted"}
    service.revert_update(ARN, new, error, deps)

    assert versions(faulty) == {"web-a": "1", "web-b": "1", "web-c": "1"}
    service.send_report(ARN, new, deps)
    text = mail_text(deps)
    assert "UpdateAmi failed: RolloutInterruptedError: UpdateAmi was interrupted" in text
    assert "web-b back on launch template" in text


# ---- an alarm during termination -----------------------------------------------------------


def healthy_rollout(deps: Deps, clock: FakeClock, new: str) -> Target:
    target = target_of(service.update_ami(ARN, new, "web-image", deps))
    service.scale_out(target, deps)
    clock.advance(61)
    service.check_health(target, deps)
    clock.advance(61)
    assert service.check_health(target, deps)["status"] == "HEALTHY"
    return target


@pytest.fixture
def guarded(sandbox: SandboxFleet, clock: FakeClock) -> tuple[str, str]:
    """``web`` (desired 3, one old instance protected), guarded by the alarm ``web-5xx``."""
    old, new = sandbox.image("web-v1"), sandbox.image("web-v2")
    sandbox.alarm("web-5xx")
    group = sandbox.add_group(
        "web",
        image_id=old,
        min_size=1,
        max_size=6,
        desired=3,
        tags={TAG: "web-image", "ami-rollout:alarms": "web-5xx"},
    )
    sandbox.protect("web", [group.instances[0].instance_id])
    sandbox.observe_all()
    return old, new


def test_an_alarm_before_the_first_termination_batch_terminates_nothing_and_rolls_back(
    deps: Deps, sandbox: SandboxFleet, clock: FakeClock, guarded: tuple[str, str]
) -> None:
    old, new = guarded
    target = healthy_rollout(deps, clock, new)
    sandbox.alarm("web-5xx", at=clock.now())  # goes to ALARM now

    with pytest.raises(RolloutAlarmError, match="no old instance terminated yet"):
        service.terminate_old(target, deps)

    record = deps.table.get(target.key)
    assert record is not None
    assert record["replaced"] == []
    assert set(sandbox.running(record["old_instances"])) == set(record["old_instances"])
    service.rollback(target, {"Error": "RolloutAlarmError", "Cause": "web-5xx"}, deps)
    group = sandbox.group("web")
    assert group.launch.version == "1"
    assert set(sandbox.images(i.instance_id for i in group.instances).values()) == {old}
    assert (group.desired, group.max_size) == (3, 6)
    assert sandbox.stats["web"].min_healthy == 3


def test_an_alarm_between_termination_batches_stops_terminating_and_reports_what_went(
    deps: Deps, sandbox: SandboxFleet, clock: FakeClock, guarded: tuple[str, str]
) -> None:
    _, new = guarded
    deps = replace(deps, settings=replace(deps.settings, held_policy="wait", held_wait_s=600))
    target = healthy_rollout(deps, clock, new)

    assert service.terminate_old(target, deps)["done"] is False  # the protected one is waited for
    record = deps.table.get(target.key)
    assert record is not None
    protected, *terminated = record["old_instances"]
    assert sorted(record["replaced"]) == sorted(terminated)
    # The operator lifts the protection: the next batch would terminate it, but the alarm fires.
    unprotect(protected)
    clock.advance(15)
    sandbox.alarm("web-5xx", at=clock.now())

    with pytest.raises(RolloutAlarmError) as raised:
        service.terminate_old(target, deps)

    assert "2 old instance(s) already terminated" in str(raised.value)
    assert sandbox.running([protected]) == {protected}  # termination stopped
    error = {"Error": "RolloutAlarmError", "Cause": str(raised.value)}
    service.rollback(target, error, deps)
    service.send_report(ARN, new, deps)
    group = sandbox.group("web")
    assert group.launch.version == "1"
    assert (group.desired, group.max_size) == (3, 6)
    assert sandbox.stats["web"].min_healthy == 3
    kept = [i.instance_id for i in group.instances if i.instance_id != protected]
    assert len(kept) == 2  # new instances hold the capacity the terminated ones had
    text = mail_text(deps)
    assert "web-5xx in ALARM during the termination of old instances of web" in text
    assert "2 old instance(s) were already terminated" in text
    assert "kept 2 new instance(s) that hold capacity" in text
    for instance_id in terminated:
        assert instance_id in text


def unprotect(instance_id: str) -> None:
    """What an operator does in the console (a boto3 client on the sandbox's moto account)."""
    asg = boto3.client(
        "autoscaling",
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    [found] = asg.describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"]
    asg.set_instance_protection(
        AutoScalingGroupName=found["AutoScalingGroupName"],
        InstanceIds=[instance_id],
        ProtectedFromScaleIn=False,
    )
