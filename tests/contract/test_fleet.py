"""Fleet port contract: the aws adapter and the sandbox adapter, both on moto.

moto accepts things AWS rejects (desired above MaxSize, terminating below MinSize); the
sandbox refuses them as AWS does, and the aws adapter never asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from stratus.platform.adapters.aws.fleet_sandbox import SandboxFleet
from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.ports.errors import InvalidRequestError, NotFoundError
from stratus.platform.ports.fleet import Fleet

TAG = "ami-rollout:image"


class FleetContract:
    """Every Fleet adapter passes these. Fixtures: ``fleet`` (the port) and ``sandbox``
    (builds groups in the same moto account)."""

    def test_groups_are_found_by_tag_value_and_others_are_left_out(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        ami = sandbox.image("app-v1")
        sandbox.add_group("web", image_id=ami, min_size=1, max_size=3, desired=2, tags={TAG: "app"})
        sandbox.add_group("other", image_id=ami, min_size=1, max_size=3, desired=1, tags={TAG: "x"})
        sandbox.add_group("untagged", image_id=ami, min_size=1, max_size=3, desired=1)

        assert [g.name for g in fleet.groups(TAG, "app")] == ["web"]
        assert sorted(g.name for g in fleet.groups(TAG)) == ["other", "web"]

    def test_a_group_reports_capacity_launch_tags_and_instances(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        ami = sandbox.image("app-v1")
        sandbox.add_group("web", image_id=ami, min_size=1, max_size=4, desired=2, tags={TAG: "a"})

        group = fleet.group("web")

        assert (group.min_size, group.max_size, group.desired) == (1, 4, 2)
        assert group.launch.kind == "launch_template"
        assert group.launch.version == "1"
        assert group.tags[TAG] == "a"
        assert len(group.instances) == 2
        assert group.healthy_capacity() == 2
        assert fleet.image_of(group.launch) == ami

    def test_a_missing_group_is_not_found(self, fleet: Fleet) -> None:
        with pytest.raises(NotFoundError):
            fleet.group("nope")

    def test_a_new_launch_template_version_keeps_every_other_setting(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        old, new = sandbox.image("app-v1"), sandbox.image("app-v2")
        group = sandbox.add_group("web", image_id=old, min_size=1, max_size=3, desired=1)

        launch = fleet.new_launch_version(group.launch, new)

        assert launch.version == "2"
        assert launch.template_id == group.launch.template_id
        before = sandbox._ec2.describe_launch_template_versions(
            LaunchTemplateId=launch.template_id, Versions=["1", "2"]
        )["LaunchTemplateVersions"]
        data = {str(v["VersionNumber"]): v["LaunchTemplateData"] for v in before}
        assert data["2"]["ImageId"] == new
        assert {k: v for k, v in data["2"].items() if k != "ImageId"} == {
            k: v for k, v in data["1"].items() if k != "ImageId"
        }
        assert fleet.image_of(launch) == new

    def test_pointing_a_group_launches_new_instances_from_the_new_image(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        old, new = sandbox.image("app-v1"), sandbox.image("app-v2")
        group = sandbox.add_group("web", image_id=old, min_size=1, max_size=4, desired=1)

        fleet.point_group("web", fleet.new_launch_version(group.launch, new))
        fleet.set_capacity("web", desired=2)

        after = fleet.group("web")
        assert after.launch.version == "2"
        images = fleet.images(i.instance_id for i in after.instances)
        assert sorted(images.values()) == sorted([old, new])

    def test_a_mixed_instances_group_keeps_its_overrides(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        old, new = sandbox.image("app-v1"), sandbox.image("app-v2")
        group = sandbox.add_group(
            "mix", image_id=old, min_size=1, max_size=4, desired=2, launch="mixed"
        )
        assert group.launch.mixed

        fleet.point_group("mix", fleet.new_launch_version(group.launch, new))

        raw = sandbox._asg.describe_auto_scaling_groups(AutoScalingGroupNames=["mix"])[
            "AutoScalingGroups"
        ][0]["MixedInstancesPolicy"]
        assert raw["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "2"
        assert [o["InstanceType"] for o in raw["LaunchTemplate"]["Overrides"]] == [
            "t3.small",
            "t3.medium",
        ]

    def test_a_legacy_launch_configuration_is_copied_with_the_new_image(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        old, new = sandbox.image("app-v1"), sandbox.image("app-v2")
        group = sandbox.add_group(
            "legacy", image_id=old, min_size=1, max_size=2, desired=1, launch="configuration"
        )

        launch = fleet.new_launch_version(group.launch, new)
        again = fleet.new_launch_version(group.launch, new)
        fleet.point_group("legacy", launch)

        assert launch == again  # a resumed step reuses the copy
        assert fleet.group("legacy").launch.name == launch.name
        copied = sandbox._asg.describe_launch_configurations(
            LaunchConfigurationNames=[launch.name]
        )["LaunchConfigurations"][0]
        assert copied["ImageId"] == new
        assert copied["InstanceType"] == "t3.micro"
        assert copied["InstanceMonitoring"] == {"Enabled": True}

    def test_terminating_with_decrement_lowers_desired_capacity(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        ami = sandbox.image("app-v1")
        group = sandbox.add_group("web", image_id=ami, min_size=1, max_size=3, desired=2)
        victim = group.instances[0].instance_id

        fleet.terminate(victim, decrement=True)

        after = fleet.group("web")
        assert after.desired == 1
        assert victim not in {i.instance_id for i in after.instances}
        assert victim not in fleet.running([victim])

    def test_alarm_states_name_only_existing_alarms(
        self, fleet: Fleet, sandbox: SandboxFleet
    ) -> None:
        sandbox.alarm("web-5xx")
        assert fleet.alarm_states(["web-5xx", "missing"]) == {"web-5xx": "OK"}

    def test_running_lists_live_instances_only(self, fleet: Fleet, sandbox: SandboxFleet) -> None:
        ami = sandbox.image("app-v1")
        group = sandbox.add_group("web", image_id=ami, min_size=0, max_size=3, desired=2)
        ids = [i.instance_id for i in group.instances]

        assert fleet.running([*ids, "i-0000000000000dead"]) == set(ids)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxFleet]:
    fleet = SandboxFleet("us-east-1", clock=clock, boot_seconds=60)
    yield fleet
    fleet.close()


class TestAwsFleet(FleetContract):
    """The boto3 adapter on moto (the sandbox only builds the groups)."""

    @pytest.fixture
    def fleet(self, sandbox: SandboxFleet) -> Fleet:
        return sandbox.aws

    def test_every_api_call_is_counted(self, sandbox: SandboxFleet) -> None:
        ami = sandbox.image("app-v1")
        sandbox.add_group("web", image_id=ami, min_size=1, max_size=3, desired=1)
        before = sandbox.aws.total_calls
        sandbox.aws.group("web")
        assert sandbox.aws.total_calls == before + 1
        assert sandbox.aws.calls["DescribeAutoScalingGroups"] >= 1


class TestSandboxFleet(FleetContract):
    """The sandbox: moto plus simulated health and AWS's capacity rules."""

    @pytest.fixture
    def fleet(self, sandbox: SandboxFleet) -> Fleet:
        return sandbox

    def test_new_instances_are_pending_for_the_boot_time_then_in_service(
        self, sandbox: SandboxFleet, clock: FakeClock
    ) -> None:
        ami = sandbox.image("app-v1")
        sandbox.add_group("web", image_id=ami, min_size=1, max_size=4, desired=2)

        sandbox.set_capacity("web", desired=4)
        assert sandbox.group("web").healthy_capacity() == 2
        clock.advance(61)
        assert sandbox.group("web").healthy_capacity() == 4

    def test_instances_of_a_failing_image_turn_unhealthy_after_booting(
        self, sandbox: SandboxFleet, clock: FakeClock
    ) -> None:
        old, bad = sandbox.image("app-v1"), sandbox.image("app-bad")
        group = sandbox.add_group("web", image_id=old, min_size=1, max_size=4, desired=1)
        sandbox.fail_image(bad)
        sandbox.point_group("web", sandbox.new_launch_version(group.launch, bad))
        sandbox.set_capacity("web", desired=2)

        clock.advance(120)

        health = sorted(i.health for i in sandbox.group("web").instances)
        assert health == ["Healthy", "Unhealthy"]

    def test_an_alarm_goes_to_alarm_at_its_time(
        self, sandbox: SandboxFleet, clock: FakeClock
    ) -> None:
        sandbox.alarm("web-5xx", at=clock.now() + timedelta(seconds=30))
        assert sandbox.alarm_states(["web-5xx"]) == {"web-5xx": "OK"}
        clock.advance(30)
        assert sandbox.alarm_states(["web-5xx"]) == {"web-5xx": "ALARM"}

    def test_desired_above_max_size_is_refused_as_aws_does(self, sandbox: SandboxFleet) -> None:
        ami = sandbox.image("app-v1")
        sandbox.add_group("web", image_id=ami, min_size=1, max_size=2, desired=2)

        with pytest.raises(InvalidRequestError):
            sandbox.set_capacity("web", desired=3)
        assert sandbox.group("web").desired == 2
        assert sandbox.stats["web"].violations == []

    def test_terminating_below_min_size_is_refused_as_aws_does(self, sandbox: SandboxFleet) -> None:
        ami = sandbox.image("app-v1")
        group = sandbox.add_group("web", image_id=ami, min_size=2, max_size=3, desired=2)

        with pytest.raises(InvalidRequestError):
            sandbox.terminate(group.instances[0].instance_id, decrement=True)
        assert len(sandbox.group("web").instances) == 2

    def test_the_observer_records_capacity_seen_after_every_change(
        self, sandbox: SandboxFleet, clock: FakeClock
    ) -> None:
        ami = sandbox.image("app-v1")
        sandbox.add_group("web", image_id=ami, min_size=1, max_size=2, desired=2)
        sandbox.observe_all()

        sandbox.set_capacity("web", desired=4, max_size=4)
        clock.advance(61)
        sandbox.set_capacity("web", desired=2, max_size=2)

        stats = sandbox.stats["web"]
        assert (stats.max_desired, stats.max_max_size, stats.min_healthy) == (4, 4, 2)
