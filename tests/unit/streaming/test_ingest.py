"""Devices on IVS channels (the aws adapter on moto + the IVS fake) and the IVS event use
cases on the local adapters with a fake clock; the adapter each target gets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.streaming import bootstrap, service
from stratus.solutions.streaming.domain import ConflictError, NotAllowedError
from stratus.solutions.streaming.domain.devices import Quality, key_digest
from stratus.solutions.streaming.domain.streams import StreamStatus
from stratus.solutions.streaming.ingestchannels import IvsIngestChannels, LocalIngestChannels
from stratus.solutions.streaming.service import Caller, Ports
from tests.contract.ivs_fake import FakeIvs


@pytest.fixture
def ivs_client(moto_aws: None) -> Any:
    import boto3

    return boto3.client("ivs", region_name="us-east-1")


@pytest.fixture
def fake(ivs_client: Any) -> FakeIvs:
    return FakeIvs(ivs_client)


@pytest.fixture
def on_ivs(ports: Ports, ivs_client: Any, fake: FakeIvs) -> Ports:
    from stratus.platform.adapters.aws.ivs import IvsClient

    return replace(ports, ingest=IvsIngestChannels(IvsClient(ivs_client), name_prefix="t"))


def test_a_device_paired_on_aws_has_an_ivs_channel_and_key(
    on_ivs: Ports, owner: Caller, fake: FakeIvs
) -> None:
    paired = service.pair_device(on_ivs, service.new_pairing(on_ivs, owner)[0], "cam")

    device = paired.device
    assert device.ingest_arn.startswith("arn:aws:ivs:us-east-1:")
    assert paired.ingest_url.startswith("rtmps://")
    assert paired.ingest_url.endswith(":443/app")
    assert device.playback_url.endswith(".m3u8")
    assert fake.accepts(device.ingest_arn, paired.stream_key)
    assert on_ivs.store.device_by_ingest(device.ingest_arn) == device
    assert device.key_digest == key_digest(paired.stream_key)
    assert on_ivs.store.device_by_key(device.key_digest) is None  # IVS checks keys, not us


def test_on_aws_rotation_revocation_and_stop_go_to_ivs(
    on_ivs: Ports, owner: Caller, fake: FakeIvs
) -> None:
    paired = service.pair_device(on_ivs, service.new_pairing(on_ivs, owner)[0])
    arn = paired.device.ingest_arn

    rotated = service.rotate_key(on_ivs, owner, paired.device.device_id)
    assert rotated.device.key_version == 2
    assert not fake.accepts(arn, paired.stream_key)
    assert fake.accepts(arn, rotated.stream_key)

    session = fake.publish(arn, rotated.stream_key)
    assert session is not None
    grant = service.ingest_started(on_ivs, arn, session)
    assert grant is not None
    service.stop_stream(on_ivs, owner, grant.stream.stream_id)
    assert arn not in fake.live  # StopStream
    assert on_ivs.store.stream(grant.stream.stream_id).status is StreamStatus.ENDED

    session = fake.publish(arn, rotated.stream_key)
    assert session is not None
    grant = service.ingest_started(on_ivs, arn, session)
    assert grant is not None
    with pytest.raises(ConflictError, match="stop it before changing quality"):
        service.configure_device(on_ivs, owner, paired.device.device_id, name=None,
                                 channel_id=None, quality=Quality.LADDER)
    device = service.revoke_key(on_ivs, owner, paired.device.device_id)
    assert device.revoked
    assert arn not in fake.live
    assert fake.publish(arn, rotated.stream_key) is None
    assert on_ivs.store.stream(grant.stream.stream_id).status is StreamStatus.ENDED
    ladder = service.configure_device(on_ivs, owner, paired.device.device_id, name=None,
                                      channel_id=None, quality=Quality.LADDER)
    assert ladder.quality is Quality.LADDER


def test_a_session_after_the_window_opens_a_new_stream(
    ports: Ports, owner: Caller, clock: FakeClock
) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    arn = paired.device.ingest_arn
    first = service.ingest_started(ports, arn, "st-1")
    assert first is not None
    assert service.ingest_started(ports, arn, "st-1") is None  # Stream Start after Created
    service.ingest_ended(ports, "st-1")
    clock.advance(ports.reconnect_window_s + 1)

    second = service.ingest_started(ports, arn, "st-2")

    assert second is not None
    assert not second.resumed
    assert second.stream.stream_id != first.stream.stream_id


def test_a_new_session_while_live_continues_the_stream(ports: Ports, owner: Caller) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    arn = paired.device.ingest_arn
    first = service.ingest_started(ports, arn, "st-1")

    again = service.ingest_started(ports, arn, "st-2")  # the end of st-1 never came

    assert first is not None
    assert again is not None
    assert (again.stream.stream_id, again.resumed) == (first.stream.stream_id, True)
    assert service.ingest_ended(ports, "st-1") is None  # not the current session
    assert ports.store.stream(first.stream.stream_id).status is StreamStatus.LIVE


def test_a_recording_of_an_older_session_does_not_end_a_continued_stream(
    ports: Ports, owner: Caller
) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    arn = paired.device.ingest_arn
    grant = service.ingest_started(ports, arn, "st-1")
    assert grant is not None
    service.ingest_ended(ports, "st-1")
    service.ingest_started(ports, arn, "st-2")  # IVS did not merge it into st-1's recording

    recording = service.ingest_recording_ended(
        ports, ["st-1"], duration_s=12.0, playlist_key="ivs/v1/x/media/hls/master.m3u8",
        thumbnail_key=None)

    assert (recording.ready, recording.duration_s) == (True, 12.0)
    assert recording.playlist_key == "ivs/v1/x/media/hls/master.m3u8"
    assert ports.store.stream(grant.stream.stream_id).status is StreamStatus.LIVE


def test_the_local_publish_hook_still_checks_keys_of_devices_paired_before_channels(
    ports: Ports, owner: Caller
) -> None:
    """A device stored before ingest channels (no ARN, no LOCALINGEST item) keeps working."""
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    legacy = replace(paired.device, ingest_arn="")
    ports.store.put_device(legacy)
    ports.store.delete_local_ingest(legacy.device_id)

    rotated = service.rotate_key(ports, owner, legacy.device_id)

    with pytest.raises(NotAllowedError):
        service.start_publish(ports, paired.stream_key)
    assert service.start_publish(ports, rotated.stream_key).stream.status is StreamStatus.LIVE
    assert rotated.device.ingest_arn.endswith(legacy.device_id)


@pytest.fixture
def no_ivs_cache() -> Iterator[None]:
    bootstrap._ivs_channels.cache_clear()
    yield
    bootstrap._ivs_channels.cache_clear()


def test_each_target_gets_its_ingest(
    ports: Ports, monkeypatch: pytest.MonkeyPatch, moto_aws: None, no_ivs_cache: None
) -> None:
    monkeypatch.setenv("STRATUS_TARGET", "local")
    assert isinstance(bootstrap.ingest_channels(ports.store), LocalIngestChannels)
    monkeypatch.setenv("STRATUS_TARGET", "aws")
    monkeypatch.setenv("RECORDING_CONFIGURATION_ARN", "arn:aws:ivs:us-east-1:1:recording"
                       "-configuration/x")
    monkeypatch.setenv("INGEST_CHANNEL_PREFIX", "stack")
    chosen: Any = bootstrap.ingest_channels(ports.store)
    assert isinstance(chosen, IvsIngestChannels)
    assert chosen.name_prefix == "stack"
    assert chosen.recording_configuration_arn.endswith("/x")
    assert bootstrap.ingest_channels(ports.store) is chosen  # one client per process
