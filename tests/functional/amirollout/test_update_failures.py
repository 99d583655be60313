"""UpdateAmi failing part-way, through the real handlers: the template in a LocalRuntime, the
state machine on the local ASL runner, the table, the outbox and the sandbox fleet.

Whatever UpdateAmi switched before it failed is switched back (UpdateAmi's Catch →
RevertUpdate → SendReport), the execution ends as a clean rollback and one report says what
was reverted and why. The faults are injected by a sandbox whose ``point_group`` refuses a
group (as AWS can) or "kills the process" right after switching one (before UpdateAmi could
record it); a second runtime on the same home then resumes the execution, as `stratus up`
does after a restart (the sandbox is kept in this process: see test_crash_resume.py).
"""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.aws.fleet_sandbox import SandboxFleet, install_sandbox
from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.ports import InvalidRequestError
from stratus.platform.ports.fleet import Launch
from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.amirollout.scenario import (
    TEMPLATE,
    build_fleet,
    image_builder_message,
    parse_scenario,
    publish,
    wait_for_rollouts,
)

GROUPS = ("shop-a", "shop-b", "shop-c")
SCENARIO = {
    "applications": [
        {
            "name": "shop",
            "image": "web-image",
            "ami": "web-v1",
            "asgs": [{"name": n, "min": 1, "max": 4, "desired": 2} for n in GROUPS],
        }
    ],
    "events": [{"image": "web-image", "ami": "web-v2"}],
}
# As in test_crash_resume: a resumed execution's handlers use the system clock at first.
PARAMETERS = {"BakeSeconds": "0", "PollSeconds": "1", "HealthTimeoutSeconds": "86400"}


class ProcessKilledError(BaseException):
    """Not an Exception: nothing in the runtime catches it, as nothing survives a kill."""


class FaultySandbox(SandboxFleet):
    """The sandbox fleet with one-shot faults in ``point_group``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refuse: dict[str, Exception] = {}
        self.die_after: set[str] = set()

    def point_group(self, group: str, launch: Launch) -> None:
        if group in self.refuse:
            raise self.refuse.pop(group)
        super().point_group(group, launch)
        if group in self.die_after:
            self.die_after.discard(group)
            raise ProcessKilledError


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[FaultySandbox]:
    fleet = FaultySandbox("us-east-1", clock=clock, boot_seconds=0)
    install_sandbox(fleet)
    try:
        yield fleet
    finally:
        install_sandbox(None)
        fleet.close()


def runtime(home: Path, clock: FakeClock) -> LocalRuntime:
    started = LocalRuntime([TEMPLATE], home=home, clock=clock, parameters=PARAMETERS)
    started.start()
    return started


def start_rollout(first: LocalRuntime, sandbox: SandboxFleet, clock: FakeClock) -> str:
    build_fleet(sandbox, parse_scenario(SCENARIO), clock)
    ami = sandbox.image("web-v2")
    publish(first, image_builder_message("web-image", "1.0.1/1", "AVAILABLE", [("us-east-1", ami)]))
    return ami


def launches(sandbox: SandboxFleet) -> dict[str, str | None]:
    return {n: sandbox.group(n).launch.version for n in GROUPS}


def assert_all_back_on_the_old_ami(sandbox: SandboxFleet, ami: str) -> None:
    old = sandbox.image("web-v1")
    assert launches(sandbox) == dict.fromkeys(GROUPS, "1")
    for name in GROUPS:
        group = sandbox.group(name)
        assert sandbox.image_of(group.launch) == old, name
        assert (group.desired, group.max_size) == (2, 4), name
        assert set(sandbox.images(i.instance_id for i in group.instances).values()) == {old}
        assert sandbox.stats[name].max_desired == 2, name  # never scaled out
        assert sandbox.stats[name].violations == [], name
    assert ami != old


def the_report(home: Path) -> tuple[str, str]:
    mails = sorted((home / "outbox").glob("*.eml"))
    assert len(mails) == 1
    msg = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return str(msg["Subject"]), str(body.get_content())


def test_update_ami_refused_on_the_second_of_three_groups_reverts_the_first_and_reports(
    tmp_path: Path, clock: FakeClock, sandbox: FaultySandbox
) -> None:
    sandbox.refuse["shop-b"] = InvalidRequestError("ValidationError: launch template refused")
    first = runtime(tmp_path, clock)
    try:
        ami = start_rollout(first, sandbox, clock)
        executions = wait_for_rollouts(first, deliveries=1, timeout_s=60)
    finally:
        first.stop()

    assert [e.status for e in executions] == ["SUCCEEDED"]  # a clean rollback
    assert executions[0].output["rolled_back"] is True
    assert_all_back_on_the_old_ami(sandbox, ami)
    subject, body = the_report(tmp_path)
    assert "UpdateAmi failed, 3 of 3 ASG(s) rolled back" in subject
    assert "UpdateAmi failed: InvalidRequestError: ValidationError: launch template refused" in body
    assert "ROLLED BACK: shop-a back on launch template" in body
    assert "shop-b back on launch template" in body  # SWITCHING: pointed back to be sure
    assert "shop-c not switched" in body
    assert "error: UpdateAmi: InvalidRequestError: ValidationError: launch template refused" in body


def test_a_runtime_killed_inside_update_ami_resumes_and_reverts_every_switched_group(
    tmp_path: Path, clock: FakeClock, sandbox: FaultySandbox
) -> None:
    sandbox.die_after.add("shop-b")  # shop-b switched, then the process "dies"
    first = runtime(tmp_path, clock)
    update = first.find_function("UpdateAmiFunction")
    ami = start_rollout(first, sandbox, clock)
    deadline = time.monotonic() + 30
    while sandbox.die_after and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    [running] = first.workflows.list_executions("RolloutStateMachine")
    assert running.status == "RUNNING"
    assert update.stats.invocations == 1
    assert launches(sandbox) == {"shop-a": "2", "shop-b": "2", "shop-c": "1"}
    first.stop()

    second = runtime(tmp_path, clock)
    try:
        executions = wait_for_rollouts(second, timeout_s=60)
    finally:
        second.stop()

    assert [e.status for e in executions] == ["SUCCEEDED"]
    assert_all_back_on_the_old_ami(sandbox, ami)
    subject, body = the_report(tmp_path)
    assert "UpdateAmi failed, 3 of 3 ASG(s) rolled back" in subject
    assert "RolloutInterruptedError: UpdateAmi was interrupted" in body
    assert "shop-a back on launch template" in body
    assert "shop-b back on launch template" in body  # switched but never recorded as such
    assert "shop-c not switched" in body
