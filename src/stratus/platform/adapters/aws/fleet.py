"""Fleet on AWS: EC2 Auto Scaling, EC2 launch templates and CloudWatch alarms with boto3.

Every API call made through the adapter is counted (``calls``, by operation) with a botocore
``before-call`` hook, so benchmarks can report AWS API calls per Auto Scaling group.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
    PortError,
)
from stratus.platform.ports.fleet import Group, GroupInstance, Launch

T = TypeVar("T")

_TRANSIENT = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "ScalingActivityInProgress",
    "ResourceContention",
}
_NOT_FOUND = {
    "InvalidInstanceID.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.VersionNotFound",
}
_ALIVE = {"pending", "running", "stopping", "stopped", "shutting-down"}


def _translate(exc: Exception) -> PortError:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = str(exc.response.get("Error", {}).get("Message", code))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400) or 400)
        if code in _TRANSIENT or status >= 500:
            return BackendUnavailableError(f"{code}: {message}")
        if code in _NOT_FOUND or "not found" in message.lower():
            return NotFoundError(f"{code}: {message}")
        return InvalidRequestError(f"{code}: {message}")
    return BackendUnavailableError(f"{type(exc).__name__}: {exc}")


class AwsFleet:
    """The Fleet port on EC2 Auto Scaling + EC2 + CloudWatch (boto3)."""

    def __init__(self, region: str, *, session: Any = None, endpoint_url: str | None = None):
        self.region = region
        session = session or boto3.session.Session()
        kwargs: dict[str, Any] = {"region_name": region}
        if endpoint_url:
            kwargs["endpoint_url"] = endpoint_url
        self._asg = session.client("autoscaling", **kwargs)
        self._ec2 = session.client("ec2", **kwargs)
        self._cw = session.client("cloudwatch", **kwargs)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        for client in (self._asg, self._ec2, self._cw):
            client.meta.events.register("before-call.*.*", self._count)

    def _count(self, model: Any = None, **_: Any) -> None:
        with self._lock:
            self.calls[getattr(model, "name", "?")] += 1

    @property
    def total_calls(self) -> int:
        """API calls made so far."""
        return sum(self.calls.values())

    @staticmethod
    def _call(fn: Callable[..., T], **kwargs: Any) -> T:
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc

    # -- groups -------------------------------------------------------------------------------

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            args = dict(kwargs)
            if token:
                args["NextToken"] = token
            page = self._call(self._asg.describe_auto_scaling_groups, **args)
            yield from page.get("AutoScalingGroups", [])
            token = page.get("NextToken")
            if not token:
                return

    def groups(self, tag_key: str, tag_value: str | None = None) -> list[Group]:
        if tag_value is None:
            filters = [{"Name": "tag-key", "Values": [tag_key]}]
        else:
            filters = [{"Name": f"tag:{tag_key}", "Values": [tag_value]}]
        return [group_from_api(g) for g in self._pages(Filters=filters)]

    def group(self, name: str) -> Group:
        found = list(self._pages(AutoScalingGroupNames=[name]))
        if not found:
            raise NotFoundError(f"no Auto Scaling group named {name!r}")
        return group_from_api(found[0])

    # -- launch templates / configurations ----------------------------------------------------

    def _template_version(self, launch: Launch) -> dict[str, Any]:
        versions = self._call(
            self._ec2.describe_launch_template_versions,
            LaunchTemplateId=launch.template_id or "",
            Versions=[launch.version or "$Default"],
        ).get("LaunchTemplateVersions", [])
        if not versions:
            raise NotFoundError(f"{launch.describe()} does not exist")
        return dict(versions[0])

    def _configuration(self, name: str) -> dict[str, Any]:
        found = self._call(
            self._asg.describe_launch_configurations, LaunchConfigurationNames=[name]
        ).get("LaunchConfigurations", [])
        if not found:
            raise NotFoundError(f"launch configuration {name!r} does not exist")
        return dict(found[0])

    def image_of(self, launch: Launch) -> str:
        if launch.kind == "launch_configuration":
            return str(self._configuration(launch.name)["ImageId"])
        return str(self._template_version(launch)["LaunchTemplateData"].get("ImageId", ""))

    def new_launch_version(self, launch: Launch, image_id: str) -> Launch:
        if launch.kind == "launch_configuration":
            return self._new_configuration(launch, image_id)
        source = self._template_version(launch)
        # Copy the whole LaunchTemplateData explicitly (no SourceVersion): every setting of the
        # source version is kept, only ImageId changes.
        data = dict(source["LaunchTemplateData"])
        data["ImageId"] = image_id
        created = self._call(
            self._ec2.create_launch_template_version,
            LaunchTemplateId=launch.template_id or "",
            LaunchTemplateData=data,
            VersionDescription=f"ami rollout: {image_id} from version {source['VersionNumber']}",
        )["LaunchTemplateVersion"]
        return Launch(
            kind="launch_template",
            name=launch.name,
            template_id=launch.template_id,
            version=str(created["VersionNumber"]),
            mixed=launch.mixed,
        )

    def _new_configuration(self, launch: Launch, image_id: str) -> Launch:
        base = launch.name.split("--ami-")[0]
        name = f"{base}--{image_id}"[:255]
        source = self._configuration(launch.name)
        keep = (
            "KeyName",
            "SecurityGroups",
            "ClassicLinkVPCId",
            "ClassicLinkVPCSecurityGroups",
            "UserData",
            "InstanceType",
            "KernelId",
            "RamdiskId",
            "BlockDeviceMappings",
            "InstanceMonitoring",
            "SpotPrice",
            "IamInstanceProfile",
            "EbsOptimized",
            "AssociatePublicIpAddress",
            "PlacementTenancy",
            "MetadataOptions",
        )
        args = {k: source[k] for k in keep if source.get(k) not in (None, "", [])}
        try:
            self._configuration(name)  # idempotent: a resumed step finds it made
        except NotFoundError:
            self._call(
                self._asg.create_launch_configuration,
                LaunchConfigurationName=name,
                ImageId=image_id,
                **args,
            )
        return Launch(kind="launch_configuration", name=name)

    def point_group(self, group: str, launch: Launch) -> None:
        if launch.kind == "launch_configuration":
            self._call(
                self._asg.update_auto_scaling_group,
                AutoScalingGroupName=group,
                LaunchConfigurationName=launch.name,
            )
            return
        spec = {"LaunchTemplateId": launch.template_id, "Version": launch.version}
        if not launch.mixed:
            self._call(
                self._asg.update_auto_scaling_group,
                AutoScalingGroupName=group,
                LaunchTemplate=spec,
            )
            return
        current = next(iter(self._pages(AutoScalingGroupNames=[group])), None)
        if current is None:
            raise NotFoundError(f"no Auto Scaling group named {group!r}")
        policy = dict(current.get("MixedInstancesPolicy") or {})
        template = dict(policy.get("LaunchTemplate") or {})
        template["LaunchTemplateSpecification"] = spec
        template.setdefault("Overrides", [])
        policy["LaunchTemplate"] = template
        self._call(
            self._asg.update_auto_scaling_group,
            AutoScalingGroupName=group,
            MixedInstancesPolicy=policy,
        )

    def set_capacity(
        self,
        group: str,
        *,
        desired: int | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
    ) -> None:
        args: dict[str, Any] = {"AutoScalingGroupName": group}
        if desired is not None:
            args["DesiredCapacity"] = desired
        if min_size is not None:
            args["MinSize"] = min_size
        if max_size is not None:
            args["MaxSize"] = max_size
        if len(args) > 1:
            # One UpdateAutoScalingGroup call sets all three atomically; AWS validates
            # min <= desired <= max against the new values.
            self._call(self._asg.update_auto_scaling_group, **args)

    def terminate(self, instance_id: str, *, decrement: bool) -> None:
        self._call(
            self._asg.terminate_instance_in_auto_scaling_group,
            InstanceId=instance_id,
            ShouldDecrementDesiredCapacity=decrement,
        )

    # -- alarms and instances -----------------------------------------------------------------

    def alarm_states(self, names: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(names))
        states: dict[str, str] = {}
        for start in range(0, len(wanted), 100):
            found = self._call(
                self._cw.describe_alarms, AlarmNames=wanted[start : start + 100]
            ).get("MetricAlarms", [])
            states.update({a["AlarmName"]: a["StateValue"] for a in found})
        return states

    def _instances(self, instance_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = sorted(set(instance_ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            page = self._call(
                self._ec2.describe_instances,
                Filters=[{"Name": "instance-id", "Values": chunk}],
            )
            for reservation in page.get("Reservations", []):
                found.extend(reservation.get("Instances", []))
        return found

    def running(self, instance_ids: Iterable[str]) -> set[str]:
        return {
            i["InstanceId"]
            for i in self._instances(instance_ids)
            if i.get("State", {}).get("Name") in _ALIVE
        }

    def images(self, instance_ids: Iterable[str]) -> dict[str, str]:
        return {i["InstanceId"]: i.get("ImageId", "") for i in self._instances(instance_ids)}


def group_from_api(raw: dict[str, Any]) -> Group:
    if raw.get("LaunchConfigurationName"):
        launch = Launch(kind="launch_configuration", name=raw["LaunchConfigurationName"])
    else:
        policy = raw.get("MixedInstancesPolicy")
        spec = (
            policy["LaunchTemplate"]["LaunchTemplateSpecification"]
            if policy
            else raw.get("LaunchTemplate") or {}
        )
        launch = Launch(
            kind="launch_template",
            name=str(spec.get("LaunchTemplateName") or spec.get("LaunchTemplateId") or ""),
            template_id=spec.get("LaunchTemplateId"),
            version=str(spec.get("Version") or "$Default"),
            mixed=bool(policy),
        )
    return Group(
        name=raw["AutoScalingGroupName"],
        arn=raw["AutoScalingGroupARN"],
        min_size=int(raw["MinSize"]),
        max_size=int(raw["MaxSize"]),
        desired=int(raw["DesiredCapacity"]),
        launch=launch,
        tags={t["Key"]: t.get("Value", "") for t in raw.get("Tags", [])},
        instances=tuple(
            GroupInstance(
                instance_id=i["InstanceId"],
                lifecycle=i.get("LifecycleState", ""),
                health=i.get("HealthStatus", ""),
                protected=bool(i.get("ProtectedFromScaleIn")),
            )
            for i in raw.get("Instances", [])
        ),
    )


@contextmanager
def counting(fleet: AwsFleet) -> Iterator[Counter[str]]:
    """Count the calls made inside the block (a fresh Counter, by operation)."""
    before = Counter(fleet.calls)
    delta: Counter[str] = Counter()
    try:
        yield delta
    finally:
        delta.update(fleet.calls - before)
