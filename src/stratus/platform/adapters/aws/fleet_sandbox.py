"""A sandbox AWS account for the Fleet port: moto in-process, plus a health simulator.

EC2 and Auto Scaling cannot exist on one machine, so the local target runs the real
:class:`AwsFleet` code against moto's in-memory EC2/Auto Scaling/CloudWatch. moto is started
once per process (:func:`current_sandbox`) or per sandbox in tests (``SandboxFleet(...)`` then
``close()``); the fleet lives in memory and does not survive a restart.

What the sandbox adds on top of moto (each departure from moto copies AWS behaviour):

* Health, driven by the :class:`Clock`: an instance first seen at time t is ``Pending`` until
  t + ``boot_seconds``, then ``InService``; it is ``Unhealthy`` when its image or the instance
  itself was marked failing. moto reports every instance InService/Healthy at once.
* Alarms that go to ALARM at a given time (``alarm(name, at=...)``).
* AWS's capacity rules moto does not check: ``min <= desired <= max`` on updates, and no
  decrementing termination below MinSize. Breaking them raises InvalidRequestError, as AWS does.
* An observer: after every change it records each group's desired, MaxSize and healthy
  capacity, so tests and ``stratus ami simulate`` can check invariants at every step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3

from stratus.platform.adapters.aws.fleet import AwsFleet, group_from_api
from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.ports.clock import Clock
from stratus.platform.ports.errors import InvalidRequestError, NotFoundError
from stratus.platform.ports.fleet import Group, GroupInstance, Launch

_moto_lock = threading.Lock()


def _start_moto() -> Any:
    from moto import mock_aws

    mock = mock_aws()
    mock.start(reset=False)
    return mock


@dataclass
class GroupStats:
    """What the observer saw of one group during a run."""

    max_desired: int = 0
    max_max_size: int = 0
    min_healthy: int | None = None
    violations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_desired": self.max_desired,
            "max_max_size": self.max_max_size,
            "min_healthy": self.min_healthy,
            "violations": list(self.violations),
        }


class SandboxFleet:
    """The Fleet port on a moto sandbox account, with simulated health and alarms."""

    def __init__(
        self,
        region: str = "us-east-1",
        *,
        clock: Clock | None = None,
        boot_seconds: float = 60.0,
        fresh: bool = True,
    ) -> None:
        self.region = region
        self.clock: Clock = clock or SystemClock()
        self.boot_seconds = boot_seconds
        with _moto_lock:
            self._mock = _start_moto()
            if fresh:
                self._mock.reset()
        session = boto3.session.Session(
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106 - moto's fake account, not a secret
            region_name=region,
        )
        self.aws = AwsFleet(region, session=session)
        self._asg = session.client("autoscaling", region_name=region)
        self._ec2 = session.client("ec2", region_name=region)
        self._cw = session.client("cloudwatch", region_name=region)
        self._lock = threading.RLock()
        self._first_seen: dict[str, datetime] = {}
        self._image_of: dict[str, str] = {}
        self._failing_images: set[str] = set()
        self._failing_instances: set[str] = set()
        self._alarms_at: dict[str, datetime] = {}
        self.stats: dict[str, GroupStats] = {}
        self._closed = False

    def close(self) -> None:
        """Stop this sandbox's moto (its data goes when no other sandbox is open)."""
        with _moto_lock:
            if not self._closed:
                self._closed = True
                self._mock.stop()

    # -- building the sandbox (not part of the Fleet port) -----------------------------------

    @property
    def calls(self) -> int:
        """AWS API calls made through the Fleet port (not the simulator's own)."""
        return self.aws.total_calls

    def image(self, name: str) -> str:
        """Register an AMI named ``name`` (or find it) and return its id."""
        found = self._ec2.describe_images(Filters=[{"Name": "name", "Values": [name]}])["Images"]
        if found:
            return str(found[0]["ImageId"])
        return str(
            self._ec2.register_image(Name=name, Description=f"sandbox image {name}")["ImageId"]
        )

    def add_group(
        self,
        name: str,
        *,
        image_id: str,
        min_size: int,
        max_size: int,
        desired: int,
        launch: str = "template",
        tags: dict[str, str] | None = None,
        instance_type: str = "t3.micro",
    ) -> Group:
        """Create a group launching ``image_id`` from a launch template (``template``), a
        mixed-instances policy (``mixed``) or a legacy launch configuration
        (``configuration``); its instances count as booted."""
        subnet = self._ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        args: dict[str, Any] = {
            "AutoScalingGroupName": name,
            "MinSize": min_size,
            "MaxSize": max_size,
            "DesiredCapacity": desired,
            "VPCZoneIdentifier": subnet,
            "Tags": [
                {"Key": k, "Value": v, "PropagateAtLaunch": False} for k, v in (tags or {}).items()
            ],
        }
        if launch == "configuration":
            self._asg.create_launch_configuration(
                LaunchConfigurationName=f"{name}-lc",
                ImageId=image_id,
                InstanceType=instance_type,
                InstanceMonitoring={"Enabled": True},
            )
            args["LaunchConfigurationName"] = f"{name}-lc"
        else:
            template = self._ec2.create_launch_template(
                LaunchTemplateName=f"{name}-lt",
                LaunchTemplateData={
                    "ImageId": image_id,
                    "InstanceType": instance_type,
                    "KeyName": "sandbox-key",
                    "Monitoring": {"Enabled": True},
                    "TagSpecifications": [
                        {"ResourceType": "instance", "Tags": [{"Key": "app", "Value": name}]}
                    ],
                },
            )["LaunchTemplate"]
            spec = {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"}
            if launch == "mixed":
                args["MixedInstancesPolicy"] = {
                    "LaunchTemplate": {
                        "LaunchTemplateSpecification": spec,
                        "Overrides": [{"InstanceType": "t3.small"}, {"InstanceType": "t3.medium"}],
                    },
                    # No spot split: moto's on-demand/spot emulation replaces instances on
                    # every capacity change, which AWS does not do.
                    "InstancesDistribution": {"OnDemandPercentageAboveBaseCapacity": 100},
                }
            elif launch == "template":
                args["LaunchTemplate"] = spec
            else:
                raise InvalidRequestError(
                    f"launch must be template, mixed or configuration, not {launch!r}"
                )
        with self._lock:
            self._asg.create_auto_scaling_group(**args)
            self.settle()
            self._observe(name)
            return self.group(name)

    def protect(self, group: str, instance_ids: Iterable[str]) -> None:
        """Protect these instances from scale-in."""
        self._asg.set_instance_protection(
            AutoScalingGroupName=group, InstanceIds=list(instance_ids), ProtectedFromScaleIn=True
        )

    def standby(self, group: str, instance_ids: Iterable[str]) -> None:
        """Move these instances to Standby (desired capacity decremented, as AWS allows)."""
        self._asg.enter_standby(
            AutoScalingGroupName=group,
            InstanceIds=list(instance_ids),
            ShouldDecrementDesiredCapacity=True,
        )

    def fail_image(self, image_id: str) -> None:
        """Instances of this image never pass health checks."""
        self._failing_images.add(image_id)

    def fail_instance(self, instance_id: str) -> None:
        """This instance fails health checks from now on."""
        self._failing_instances.add(instance_id)

    def alarm(self, name: str, *, at: datetime | None = None) -> None:
        """Create a CloudWatch alarm in OK that goes to ALARM at ``at`` (never when None)."""
        self._cw.put_metric_alarm(
            AlarmName=name,
            MetricName="HealthyHostCount",
            Namespace="Sandbox",
            Statistic="Minimum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
        )
        self._cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="sandbox")
        if at is not None:
            self._alarms_at[name] = at

    def settle(self) -> None:
        """Count every current instance as booted long ago (a fleet already serving)."""
        long_ago = self.clock.now() - timedelta(days=1)
        for raw in self._all_groups():
            for inst in raw.get("Instances", []):
                self._first_seen.setdefault(inst["InstanceId"], long_ago)

    # -- simulation ---------------------------------------------------------------------------

    def _all_groups(self) -> Iterator[dict[str, Any]]:
        for page in self._asg.get_paginator("describe_auto_scaling_groups").paginate():
            yield from page["AutoScalingGroups"]

    def _images(self, ids: list[str]) -> None:
        unknown = [i for i in ids if i not in self._image_of]
        if unknown:
            for res in self._ec2.describe_instances(InstanceIds=unknown)["Reservations"]:
                for inst in res["Instances"]:
                    self._image_of[inst["InstanceId"]] = inst.get("ImageId", "")

    def _simulate(self, group: Group) -> Group:
        now = self.clock.now()
        ids = [i.instance_id for i in group.instances]
        self._images(ids)
        boot = timedelta(seconds=self.boot_seconds)
        out = []
        for inst in group.instances:
            first = self._first_seen.setdefault(inst.instance_id, now)
            lifecycle, health = inst.lifecycle, inst.health
            if lifecycle == "InService" and now < first + boot:
                lifecycle = "Pending"
            failing = (
                inst.instance_id in self._failing_instances
                or self._image_of.get(inst.instance_id) in self._failing_images
            )
            if failing and lifecycle in ("InService", "Pending") and now >= first + boot:
                health = "Unhealthy"
            out.append(GroupInstance(inst.instance_id, lifecycle, health, inst.protected))
        return Group(
            name=group.name,
            arn=group.arn,
            min_size=group.min_size,
            max_size=group.max_size,
            desired=group.desired,
            launch=group.launch,
            tags=group.tags,
            instances=tuple(out),
        )

    def _observe(self, name: str) -> None:
        raw = next(
            iter(
                self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
                    "AutoScalingGroups"
                ]
            ),
            None,
        )
        if raw is None:
            return
        group = self._simulate(group_from_api(raw))
        stats = self.stats.setdefault(name, GroupStats())
        stats.max_desired = max(stats.max_desired, group.desired)
        stats.max_max_size = max(stats.max_max_size, group.max_size)
        healthy = group.healthy_capacity()
        stats.min_healthy = (
            healthy if stats.min_healthy is None else min(stats.min_healthy, healthy)
        )
        if group.desired > group.max_size:
            stats.violations.append(f"desired {group.desired} above MaxSize {group.max_size}")

    def observe_all(self) -> None:
        """Record the current state of every group (the observer's baseline)."""
        with self._lock:
            for raw in self._all_groups():
                self._observe(raw["AutoScalingGroupName"])

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every group as it is now: capacity, launch and each instance with its image."""
        with self._lock:
            out: dict[str, dict[str, Any]] = {}
            for raw in self._all_groups():
                group = self._simulate(group_from_api(raw))
                images = {
                    i.instance_id: self._image_of.get(i.instance_id, "") for i in group.instances
                }
                out[group.name] = {
                    "min_size": group.min_size,
                    "max_size": group.max_size,
                    "desired": group.desired,
                    "launch": group.launch.describe(),
                    "image": self.aws.image_of(group.launch),
                    "tags": dict(group.tags),
                    "instances": [
                        {
                            "id": i.instance_id,
                            "image": images[i.instance_id],
                            "lifecycle": i.lifecycle,
                            "health": i.health,
                            "protected": i.protected,
                        }
                        for i in group.instances
                    ],
                }
            return out

    # -- the Fleet port -----------------------------------------------------------------------

    def groups(self, tag_key: str, tag_value: str | None = None) -> list[Group]:
        with self._lock:
            return [self._simulate(g) for g in self.aws.groups(tag_key, tag_value)]

    def group(self, name: str) -> Group:
        with self._lock:
            return self._simulate(self.aws.group(name))

    def image_of(self, launch: Launch) -> str:
        with self._lock:
            return self.aws.image_of(launch)

    def new_launch_version(self, launch: Launch, image_id: str) -> Launch:
        with self._lock:
            return self.aws.new_launch_version(launch, image_id)

    def point_group(self, group: str, launch: Launch) -> None:
        with self._lock:
            self.aws.point_group(group, launch)
            self._observe(group)

    def set_capacity(
        self,
        group: str,
        *,
        desired: int | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
    ) -> None:
        with self._lock:
            raw = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
                "AutoScalingGroups"
            ]
            if not raw:
                raise NotFoundError(f"no Auto Scaling group named {group!r}")
            current = group_from_api(raw[0])
            lo = current.min_size if min_size is None else min_size
            hi = current.max_size if max_size is None else max_size
            want = current.desired if desired is None else desired
            if not lo <= want <= hi:  # AWS: ValidationError; moto accepts it
                raise InvalidRequestError(
                    f"ValidationError: desired capacity {want} must be between min {lo} and "
                    f"max {hi} for {group}"
                )
            # moto's UpdateAutoScalingGroup forgets the launch template / mixed instances
            # policy when they are not given again (AWS keeps them): pass them back unchanged.
            keep = {
                k: raw[0][k]
                for k in ("LaunchTemplate", "MixedInstancesPolicy", "LaunchConfigurationName")
                if raw[0].get(k)
            }
            if "LaunchTemplate" in keep:
                keep["LaunchTemplate"] = _spec(keep["LaunchTemplate"])
            if "MixedInstancesPolicy" in keep:
                policy = dict(keep["MixedInstancesPolicy"])
                template = dict(policy["LaunchTemplate"])
                template["LaunchTemplateSpecification"] = _spec(
                    template["LaunchTemplateSpecification"]
                )
                policy["LaunchTemplate"] = template
                keep["MixedInstancesPolicy"] = policy
            self.aws._call(
                self.aws._asg.update_auto_scaling_group,
                AutoScalingGroupName=group,
                MinSize=lo,
                MaxSize=hi,
                DesiredCapacity=want,
                **keep,
            )
            self._observe(group)

    def terminate(self, instance_id: str, *, decrement: bool) -> None:
        with self._lock:
            found = self._asg.describe_auto_scaling_instances(InstanceIds=[instance_id])[
                "AutoScalingInstances"
            ]
            if not found:
                raise NotFoundError(f"instance {instance_id} is not in an Auto Scaling group")
            name = found[0]["AutoScalingGroupName"]
            if decrement:
                current = self.aws.group(name)
                if current.desired - 1 < current.min_size:  # AWS refuses; moto does not
                    raise InvalidRequestError(
                        f"ValidationError: terminating {instance_id} would put {name} below "
                        f"its minimum size {current.min_size}"
                    )
            self.aws.terminate(instance_id, decrement=decrement)
            self._observe(name)

    def alarm_states(self, names: Iterable[str]) -> dict[str, str]:
        wanted = list(names)
        with self._lock:
            now = self.clock.now()
            for name in wanted:
                at = self._alarms_at.get(name)
                if at is not None and now >= at:
                    self._cw.set_alarm_state(
                        AlarmName=name, StateValue="ALARM", StateReason="sandbox scenario"
                    )
                    del self._alarms_at[name]
            return self.aws.alarm_states(wanted)

    def running(self, instance_ids: Iterable[str]) -> set[str]:
        with self._lock:
            return self.aws.running(instance_ids)

    def images(self, instance_ids: Iterable[str]) -> dict[str, str]:
        with self._lock:
            return self.aws.images(instance_ids)


def _spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {"LaunchTemplateId": spec["LaunchTemplateId"], "Version": spec["Version"]}


_current: SandboxFleet | None = None
_current_lock = threading.Lock()


def current_sandbox(region: str, clock: Clock | None = None) -> SandboxFleet:
    """The process-wide sandbox (created on first use, moto started once per process)."""
    global _current
    with _current_lock:
        if _current is None or _current.region != region:
            _current = SandboxFleet(region, clock=clock, fresh=False)
        return _current


def install_sandbox(sandbox: SandboxFleet | None) -> None:
    """Make ``sandbox`` the process-wide one (tests, `stratus ami demo`); None removes it."""
    global _current
    with _current_lock:
        _current = sandbox
