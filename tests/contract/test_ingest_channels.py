"""IngestChannels contract (the streaming solution's port): one suite, both adapters.

- ``LocalIngestChannels`` on a real SQLite table in ``tmp_path``: a key is accepted when its
  digest is indexed to the device and is the device's current one (what the RTMP publish
  hook reads, before the device record the service writes).
- ``IvsIngestChannels`` on a real boto3 ``ivs`` client: channel calls on moto, the stream-key
  and live-stream calls (not in moto 5.2) on the hand-written fake in ``ivs_fake.py``, which
  follows the IVS API's shapes and rules; a key is accepted when the fake's encoder side
  would accept it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.ports import (
    BackendUnavailableError,
    ConditionFailedError,
    IndexSpec,
    InvalidRequestError,
    NotFoundError,
    TableSpec,
)
from stratus.solutions.streaming.domain.devices import key_digest
from stratus.solutions.streaming.ingestchannels import (
    IngestChannel,
    IngestChannels,
    IvsIngestChannels,
    LocalIngestChannels,
    local_channel_arn,
)
from tests.contract.ivs_fake import FakeIvs

RECORDING_CONFIG = "arn:aws:ivs:us-east-1:123456789012:recording-configuration/AbCdEf123456"
Accepts = Callable[[IngestChannel, str], bool]


class IngestChannelsContract:
    """Subclasses provide ``channels`` and ``accepts(channel, key)``; ``missing`` is an ARN
    of the adapter's shape that names no channel."""

    missing = ""

    def test_a_device_gets_a_channel_with_a_key_the_ingest_accepts(
        self, channels: IngestChannels, accepts: Accepts
    ) -> None:
        channel = channels.provision("dev1")

        assert channel.stream_key
        assert channel.ingest_url.startswith(("rtmp://", "rtmps://"))
        assert channel.channel_id == channel.arn.rsplit("/", 1)[-1]
        assert accepts(channel, channel.stream_key)
        assert not accepts(channel, "sk_wrong")

    def test_every_device_has_its_own_channel_and_key(
        self, channels: IngestChannels, accepts: Accepts
    ) -> None:
        first, second = channels.provision("dev1"), channels.provision("dev2")

        assert first.arn != second.arn
        assert first.stream_key != second.stream_key
        assert not accepts(first, second.stream_key)
        assert not accepts(second, first.stream_key)

    def test_rotation_gives_a_new_key_and_the_old_one_is_refused(
        self, channels: IngestChannels, accepts: Accepts
    ) -> None:
        channel = channels.provision("dev1")

        rotated = channels.rotate_key(channel.arn)

        assert rotated.arn == channel.arn
        assert rotated.ingest_url == channel.ingest_url
        assert rotated.stream_key
        assert rotated.stream_key != channel.stream_key
        assert accepts(rotated, rotated.stream_key)
        assert not accepts(rotated, channel.stream_key)
        again = channels.rotate_key(channel.arn)  # one key per channel: rotating twice works
        assert accepts(again, again.stream_key)
        assert not accepts(again, rotated.stream_key)

    def test_a_revoked_channel_accepts_no_key_until_a_rotation(
        self, channels: IngestChannels, accepts: Accepts
    ) -> None:
        channel = channels.provision("dev1")

        channels.revoke(channel.arn)
        channels.revoke(channel.arn)  # twice is fine

        assert not accepts(channel, channel.stream_key)
        fresh = channels.rotate_key(channel.arn)
        assert accepts(fresh, fresh.stream_key)

    def test_stop_without_a_live_stream_says_so(self, channels: IngestChannels) -> None:
        channel = channels.provision("dev1")

        assert channels.stop(channel.arn) is False

    def test_quality_changes_on_an_idle_channel(
        self, channels: IngestChannels, accepts: Accepts
    ) -> None:
        channel = channels.provision("dev1")

        channels.set_quality(channel.arn, ladder=True)
        channels.set_quality(channel.arn, ladder=False)

        assert accepts(channel, channel.stream_key)  # the key is untouched

    def test_a_deleted_channel_is_gone_with_its_key(
        self, channels: IngestChannels, accepts: Accepts
    ) -> None:
        channel = channels.provision("dev1")

        channels.delete(channel.arn)

        assert not accepts(channel, channel.stream_key)
        with pytest.raises(NotFoundError):
            channels.rotate_key(channel.arn)

    @pytest.mark.parametrize("call", ["rotate_key", "revoke", "stop", "delete", "set_quality"])
    def test_an_unknown_channel_is_not_found(self, channels: IngestChannels, call: str) -> None:
        operation: Any = getattr(channels, call)
        kwargs = {"ladder": True} if call == "set_quality" else {}
        with pytest.raises(NotFoundError):
            operation(self.missing, **kwargs)


class TestLocalIngestChannels(IngestChannelsContract):
    missing = local_channel_arn("nosuchdevice")

    @pytest.fixture
    def store(self, tmp_path: Path) -> Any:
        from stratus.platform.runtime.resources import LocalResources
        from stratus.solutions.streaming.store import Store

        spec = TableSpec(name="streaming", indexes={
            "GSI1": IndexSpec("Data1", "Sort1"), "GSI2": IndexSpec("Data2", "Sort2")})
        return Store(LocalResources(tmp_path).create_table(spec))

    @pytest.fixture
    def channels(self, store: Any) -> IngestChannels:
        return LocalIngestChannels(store, "rtmp://127.0.0.1:1935/live")

    @pytest.fixture
    def accepts(self, store: Any) -> Accepts:
        def check(channel: IngestChannel, key: str) -> bool:
            device_id = channel.channel_id
            digest = key_digest(key)
            return (store.key_owner(digest) == device_id
                    and store.local_ingest_digest(device_id) == digest)

        return check

    def test_the_ingest_url_is_the_running_media_service_s(self, store: Any) -> None:
        store.put_config("media", {"ingest_url": "rtmp://127.0.0.1:41935/live"})

        channel = LocalIngestChannels(store).provision("dev1")

        assert channel.ingest_url == "rtmp://127.0.0.1:41935/live"
        assert channel.playback_url == ""  # per stream on the local site
        assert channel.arn == local_channel_arn("dev1")

    def test_only_local_arns_are_local_channels(self, channels: IngestChannels) -> None:
        with pytest.raises(InvalidRequestError, match="not a local ingest channel"):
            channels.rotate_key("arn:aws:ivs:us-east-1:123456789012:channel/AbCd")


class TestIvsIngestChannels(IngestChannelsContract):
    missing = "arn:aws:ivs:us-east-1:123456789012:channel/NoSuchChannel"

    @pytest.fixture
    def client(self, moto_aws: None) -> Any:
        import boto3

        return boto3.client("ivs", region_name="us-east-1")

    @pytest.fixture
    def fake(self, client: Any) -> FakeIvs:
        return FakeIvs(client)

    @pytest.fixture
    def channels(self, client: Any, fake: FakeIvs) -> IvsIngestChannels:
        from stratus.platform.adapters.aws.ivs import IvsClient

        return IvsIngestChannels(IvsClient(client), recording_configuration_arn=RECORDING_CONFIG,
                                 name_prefix="stack")

    @pytest.fixture
    def accepts(self, fake: FakeIvs) -> Accepts:
        return lambda channel, key: fake.accepts(channel.arn, key)

    def test_a_channel_is_recorded_passthrough_first_and_named_after_the_device(
        self, channels: IvsIngestChannels, client: Any
    ) -> None:
        channel = channels.provision("dev1")

        described = client.get_channel(arn=channel.arn)["channel"]
        assert described["name"] == "stack-dev1"
        assert described["type"] == "BASIC"
        assert described["recordingConfigurationArn"] == RECORDING_CONFIG
        assert described["insecureIngest"] is False
        assert described["tags"] == {"stratus:device": "dev1"}
        assert channel.ingest_url == f"rtmps://{described['ingestEndpoint']}:443/app"
        assert channel.playback_url == described["playbackUrl"]
        assert channels.provision("dev2", ladder=True).arn != channel.arn
        assert client.get_channel(arn=channels.provision("dev3", ladder=True).arn)[
            "channel"]["type"] == "STANDARD"

    def test_quality_is_the_channel_type(
        self, channels: IvsIngestChannels, client: Any
    ) -> None:
        channel = channels.provision("dev1")

        channels.set_quality(channel.arn, ladder=True)

        assert client.get_channel(arn=channel.arn)["channel"]["type"] == "STANDARD"

    def test_revoke_deletes_the_key_and_stops_the_live_stream(
        self, channels: IvsIngestChannels, fake: FakeIvs
    ) -> None:
        channel = channels.provision("dev1")
        assert fake.publish(channel.arn, channel.stream_key) is not None

        channels.revoke(channel.arn)

        assert channel.arn not in fake.live
        assert fake.publish(channel.arn, channel.stream_key) is None
        assert fake.calls[-3:] == ["ListStreamKeys", "DeleteStreamKey", "StopStream"]

    def test_rotation_leaves_a_live_stream_on_and_stop_cuts_it(
        self, channels: IvsIngestChannels, fake: FakeIvs
    ) -> None:
        channel = channels.provision("dev1")
        fake.publish(channel.arn, channel.stream_key)

        channels.rotate_key(channel.arn)

        assert channel.arn in fake.live  # as on IVS: the key goes, the session stays
        assert channels.stop(channel.arn) is True
        assert channel.arn not in fake.live

    def test_a_live_channel_is_neither_changed_nor_deleted(
        self, channels: IvsIngestChannels, fake: FakeIvs
    ) -> None:
        channel = channels.provision("dev1")
        fake.publish(channel.arn, channel.stream_key)

        with pytest.raises(ConditionFailedError):
            channels.set_quality(channel.arn, ladder=True)
        with pytest.raises(ConditionFailedError):
            channels.delete(channel.arn)
        channels.stop(channel.arn)
        channels.delete(channel.arn)

    def test_an_unreachable_ivs_is_a_port_error(
        self, unreachable_client: Callable[[str], Any]
    ) -> None:
        from stratus.platform.adapters.aws.ivs import IvsClient

        channels = IvsIngestChannels(IvsClient(unreachable_client("ivs")))

        with pytest.raises(BackendUnavailableError):
            channels.provision("dev1")
        with pytest.raises(BackendUnavailableError):
            channels.stop(self.missing)
