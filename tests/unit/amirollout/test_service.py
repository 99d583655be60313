"""Use cases on the local adapters (SQLite table, outbox, fake clock, sandbox fleet).

Crash safety: every step can run again (a retried Lambda, an execution resumed from its last
state after the process was killed) and changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from stratus.platform.adapters.aws.fleet_sandbox import SandboxFleet
from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.mail import OutboxMailer
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports import IndexSpec, TableSpec
from stratus.solutions.amirollout import service
from stratus.solutions.amirollout.domain.model import Settings
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

    with pytest.raises(service.RolloutHealthTimeoutError):
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
