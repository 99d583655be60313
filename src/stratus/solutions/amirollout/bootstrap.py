"""Composition root of the AMI rollout: the only place that picks adapters.

On AWS the fleet is EC2 Auto Scaling through boto3 (:class:`AwsFleet`); locally it is the
moto sandbox account (:func:`current_sandbox`), shared by every handler of the process.
Everything else comes from :mod:`stratus.platform.connect`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from typing import cast

from stratus.platform import connect
from stratus.platform.ports.fleet import Fleet, Group, Launch
from stratus.solutions.amirollout.domain.model import HealthMode, HeldPolicy, Settings
from stratus.solutions.amirollout.service import Deps


def region() -> str:
    """Our region: Lambda's AWS_REGION (the local runtime sets it too)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@cache
def _aws_fleet(name: str) -> Fleet:
    from stratus.platform.adapters.aws.fleet import AwsFleet

    return AwsFleet(name)


def fleet() -> Fleet:
    """The fleet of our region: AWS, or the local sandbox."""
    if connect.target() == "aws":
        return _aws_fleet(region())
    from stratus.platform.adapters.aws.fleet_sandbox import current_sandbox

    return current_sandbox(region(), clock=connect.clock())


class LazyFleet:
    """The fleet, built on first use: a scheduled check with nothing due starts no sandbox
    and makes no AWS client."""

    def __init__(self) -> None:
        self.region = region()

    @property
    def _fleet(self) -> Fleet:
        return fleet()

    def groups(self, tag_key: str, tag_value: str | None = None) -> list[Group]:
        return self._fleet.groups(tag_key, tag_value)

    def group(self, name: str) -> Group:
        return self._fleet.group(name)

    def image_of(self, launch: Launch) -> str:
        return self._fleet.image_of(launch)

    def new_launch_version(self, launch: Launch, image_id: str) -> Launch:
        return self._fleet.new_launch_version(launch, image_id)

    def point_group(self, group: str, launch: Launch) -> None:
        self._fleet.point_group(group, launch)

    def set_capacity(
        self,
        group: str,
        *,
        desired: int | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
    ) -> None:
        self._fleet.set_capacity(group, desired=desired, min_size=min_size, max_size=max_size)

    def terminate(self, instance_id: str, *, decrement: bool) -> None:
        self._fleet.terminate(instance_id, decrement=decrement)

    def alarm_states(self, names: Iterable[str]) -> dict[str, str]:
        return self._fleet.alarm_states(names)

    def running(self, instance_ids: Iterable[str]) -> set[str]:
        return self._fleet.running(instance_ids)

    def images(self, instance_ids: Iterable[str]) -> dict[str, str]:
        return self._fleet.images(instance_ids)


def settings() -> Settings:
    """Settings from the function environment (template Parameters)."""
    env = os.environ
    mode = env.get("HEALTH_MODE", "bake")
    policy = env.get("HELD_INSTANCE_POLICY", "skip")
    return Settings(
        health_mode=cast(HealthMode, mode if mode in ("bake", "fixed") else "bake"),
        bake_s=int(env.get("BAKE_SECONDS", "120")),
        timeout_s=int(env.get("HEALTH_TIMEOUT_SECONDS", "900")),
        poll_s=int(env.get("POLL_SECONDS", "15")),
        fixed_wait_s=int(env.get("FIXED_WAIT_SECONDS", "180")),
        held_policy=cast(HeldPolicy, policy if policy in ("skip", "wait") else "skip"),
        held_wait_s=int(env.get("HELD_WAIT_SECONDS", "600")),
        grace_s=int(env.get("TERMINATION_GRACE_SECONDS", "900")),
        opt_in_tag=env.get("OPT_IN_TAG", "ami-rollout:image"),
        app_tag=env.get("APP_TAG", "ami-rollout:app"),
        alarm_tag=env.get("ALARM_TAG", "ami-rollout:alarms"),
        sender=env.get("REPORT_SENDER", "ami-rollout@example.com"),
        recipients=tuple(
            r.strip()
            for r in env.get("REPORT_RECIPIENTS", "ops@example.com").split(",")
            if r.strip()
        ),
    )


def deps() -> Deps:
    """Ports for a handler, from its environment."""
    return Deps(
        table=connect.table(os.environ["TABLE_NAME"]),
        fleet=LazyFleet(),
        mailer=connect.mailer(),
        clock=connect.clock(),
        settings=settings(),
        workflows=connect.workflows(),
        state_machine=os.environ.get("STATE_MACHINE_ARN", ""),
    )
