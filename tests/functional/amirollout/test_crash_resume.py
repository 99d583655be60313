"""A rollout whose process dies mid-way resumes from the table state without doubling twice.

The first runtime "dies" inside TerminateOld (an exception no handler catches, as when the
process is killed: the execution stays RUNNING with its last checkpoint). A second runtime on
the same home resumes it, as `stratus up` does after a restart; the sandbox fleet is kept in
this process (across a real restart it would be gone: see docs/solutions/amirollout.md).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stratus.platform.adapters.aws.fleet_sandbox import SandboxFleet, install_sandbox
from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.amirollout.scenario import (
    TEMPLATE,
    build_fleet,
    image_builder_message,
    parse_scenario,
    publish,
    wait_for_rollouts,
)

SCENARIO = {
    "applications": [
        {
            "name": "shop",
            "image": "web-image",
            "ami": "web-v1",
            "asgs": [
                {"name": "shop-web", "min": 1, "max": 4, "desired": 2},
                {"name": "shop-api", "min": 1, "max": 2, "desired": 2},
            ],
        }
    ],
    "events": [{"image": "web-image", "ami": "web-v2"}],
}
# Resumed executions run before the new runtime installs its resources, so handlers then use
# the system clock: keep the bake at 0 and the timeout long so both clocks agree.
PARAMETERS = {"BakeSeconds": "0", "PollSeconds": "1", "HealthTimeoutSeconds": "86400"}


class ProcessKilledError(BaseException):
    """Not an Exception: nothing in the runtime catches it, as nothing survives a kill."""


def test_a_rollout_killed_mid_way_resumes_and_never_doubles_capacity_twice(
    tmp_path: Path,
) -> None:
    clock = FakeClock(datetime.now(UTC))
    sandbox = SandboxFleet("us-east-1", clock=clock, boot_seconds=0)
    install_sandbox(sandbox)
    try:
        first = LocalRuntime([TEMPLATE], home=tmp_path, clock=clock, parameters=PARAMETERS)
        first.start()
        scenario = parse_scenario(SCENARIO)
        built = build_fleet(sandbox, scenario, clock)
        terminate = first.find_function("TerminateOldFunction")

        def killed(event: Any, context: Any) -> Any:
            raise ProcessKilledError

        terminate.handler = killed
        ami = sandbox.image("web-v2")
        publish(
            first, image_builder_message("web-image", "1.0.1/1", "AVAILABLE", [("us-east-1", ami)])
        )
        deadline = time.monotonic() + 30
        while terminate.stats.invocations == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        [running] = first.workflows.list_executions("RolloutStateMachine")
        assert running.status == "RUNNING"
        assert sandbox.group("shop-web").desired == 4  # scaled out before the "kill"
        first.stop()

        second = LocalRuntime([TEMPLATE], home=tmp_path, clock=clock, parameters=PARAMETERS)
        second.start()
        try:
            executions = wait_for_rollouts(second)
        finally:
            second.stop()

        assert [e.status for e in executions] == ["SUCCEEDED"]
        for name, info in built.items():
            stats = sandbox.stats[name]
            assert stats.max_desired == 2 * info["original_desired"], name
            assert stats.violations == [], name
            assert stats.min_healthy is not None
            assert stats.min_healthy >= info["original_desired"], name
            group = sandbox.group(name)
            assert (group.desired, group.max_size) == (
                info["original_desired"],
                info["original_max"],
            )
            images = set(sandbox.images(i.instance_id for i in group.instances).values())
            assert images == {ami}, name
        mails = sorted((tmp_path / "outbox").glob("*.eml"))
        assert len(mails) == 1
        assert "2 ASG(s) updated" in mails[0].read_text()
        assert json.dumps(executions[0].output)
    finally:
        install_sandbox(None)
        sandbox.close()
