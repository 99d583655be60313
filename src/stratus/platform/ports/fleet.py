"""Fleet port: EC2 Auto Scaling groups, their launch templates/configurations, instances and
the CloudWatch alarms that guard them.

Semantics every adapter keeps (tests/contract/test_fleet.py):

* ``groups(tag_key, tag_value)`` finds groups by tag with a filtered query
  (DescribeAutoScalingGroups ``Filters``), never by listing every group.
* ``new_launch_version`` copies every setting of the source launch template version (or launch
  configuration) explicitly and changes only the image id. It never relies on
  ``SourceVersion``: some backends ignore it.
* ``point_group`` makes a group launch from the given launch; for a mixed-instances-policy group
  only the policy's ``LaunchTemplateSpecification`` changes, overrides and distribution stay.
* ``set_capacity`` changes min, max and desired in one call (UpdateAutoScalingGroup), so desired
  never exceeds MaxSize in between; AWS refuses min <= desired <= max being broken.
* Backend errors become port errors: a missing group or instance :class:`NotFoundError`,
  throttling and 5xx :class:`BackendUnavailableError` (retryable), other refusals
  :class:`InvalidRequestError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

LaunchKind = Literal["launch_template", "launch_configuration"]


@dataclass(frozen=True)
class Launch:
    """What a group launches from: a launch template version, or a launch configuration.

    ``mixed`` is True when the launch template is referenced through a MixedInstancesPolicy."""

    kind: LaunchKind
    name: str
    template_id: str | None = None
    version: str | None = None
    mixed: bool = False

    def describe(self) -> str:
        """A short human description (for reports)."""
        if self.kind == "launch_configuration":
            return f"launch configuration {self.name}"
        where = " (mixed instances policy)" if self.mixed else ""
        return f"launch template {self.name} version {self.version}{where}"


@dataclass(frozen=True)
class GroupInstance:
    """An instance of a group as Auto Scaling reports it.

    ``lifecycle`` is Auto Scaling's LifecycleState (Pending, InService, Standby, Terminating,
    ...); ``health`` is Healthy or Unhealthy."""

    instance_id: str
    lifecycle: str
    health: str
    protected: bool = False

    @property
    def serving(self) -> bool:
        """In service and healthy: it counts towards healthy capacity."""
        return self.lifecycle == "InService" and self.health == "Healthy"


@dataclass(frozen=True)
class Group:
    """An Auto Scaling group."""

    name: str
    arn: str
    min_size: int
    max_size: int
    desired: int
    launch: Launch
    tags: Mapping[str, str] = field(default_factory=dict)
    instances: tuple[GroupInstance, ...] = ()

    def healthy_capacity(self) -> int:
        """How many instances are in service and healthy."""
        return sum(1 for i in self.instances if i.serving)


@runtime_checkable
class Fleet(Protocol):
    """EC2 Auto Scaling + launch templates + CloudWatch alarms in one region."""

    region: str

    def groups(self, tag_key: str, tag_value: str | None = None) -> list[Group]:
        """Groups carrying the tag (with this value when given), found by a filtered query."""
        ...

    def group(self, name: str) -> Group:
        """One group by name; NotFoundError when it does not exist."""
        ...

    def image_of(self, launch: Launch) -> str:
        """The image id the launch template version / launch configuration launches."""
        ...

    def new_launch_version(self, launch: Launch, image_id: str) -> Launch:
        """A copy of ``launch`` with every setting kept and only the image id changed.

        Launch templates get a new version; a launch configuration (immutable) gets a new
        launch configuration named after the old one and the image."""
        ...

    def point_group(self, group: str, launch: Launch) -> None:
        """Make the group launch new instances from ``launch``."""
        ...

    def set_capacity(
        self,
        group: str,
        *,
        desired: int | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
    ) -> None:
        """Change the group's capacity in one call (min <= desired <= max must hold)."""
        ...

    def terminate(self, instance_id: str, *, decrement: bool) -> None:
        """Terminate one instance of a group, decrementing desired capacity or not."""
        ...

    def alarm_states(self, names: Iterable[str]) -> dict[str, str]:
        """The state (OK, ALARM, INSUFFICIENT_DATA) of each named alarm that exists."""
        ...

    def running(self, instance_ids: Iterable[str]) -> set[str]:
        """Which of these instances still exist and are not terminated (pending, running,
        stopping, stopped or shutting down)."""
        ...

    def images(self, instance_ids: Iterable[str]) -> dict[str, str]:
        """The image id of each existing instance."""
        ...
