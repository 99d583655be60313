from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.domain.devices import (
    PAIRING_TTL,
    key_digest,
    new_pairing_code,
    normalise_code,
)
from stratus.solutions.streaming.domain.streams import StreamStatus
from stratus.solutions.streaming.service import Caller, Ports
from stratus.solutions.streaming.store import MissingError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_pairing_codes_use_an_unambiguous_alphabet_and_expire() -> None:
    code = new_pairing_code(bytes(range(8)), "owner", NOW)
    assert len(code.code) == 8
    assert not set(code.code) & set("01IO")
    assert normalise_code(code.code.lower()[:4] + "-" + code.code[4:]) == code.code
    with pytest.raises(DomainError):
        code.redeem(NOW + PAIRING_TTL)
    used = code.redeem(NOW)
    with pytest.raises(ConflictError):
        used.redeem(NOW)


def test_viewers_cannot_get_pairing_codes(ports: Ports, viewer: Caller) -> None:
    with pytest.raises(NotAllowedError):
        service.new_pairing(ports, viewer)


def test_pairing_gives_the_device_a_key_an_ingest_url_and_a_channel(
    ports: Ports, owner: Caller
) -> None:
    code, _ = service.new_pairing(ports, owner)
    paired = service.pair_device(ports, code, "stage cam")
    assert paired.stream_key.startswith("sk_")
    assert paired.ingest_url == "rtmp://127.0.0.1:1935/live"
    assert paired.device.key_digest == key_digest(paired.stream_key)
    assert [c.channel_id for c in ports.store.channels_of(owner.user_id)] == [
        paired.device.channel_id
    ]
    stored = ports.store.table.get({"PK": f"DEVICE#{paired.device.device_id}", "SK": "META"})
    assert stored is not None
    assert paired.stream_key not in str(stored)  # only the digest is kept
    with pytest.raises(ConflictError):
        service.pair_device(ports, code)


def test_an_expired_or_unknown_code_pairs_nothing(
    ports: Ports, owner: Caller, clock: FakeClock
) -> None:
    code, _ = service.new_pairing(ports, owner)
    clock.advance(PAIRING_TTL.total_seconds() + 1)
    with pytest.raises(DomainError):
        service.pair_device(ports, code)
    with pytest.raises(MissingError):
        service.pair_device(ports, "ABCDEFGH")
    assert ports.store.devices_of(owner.user_id) == []


def test_rotating_a_key_invalidates_the_old_one(ports: Ports, owner: Caller) -> None:
    code, _ = service.new_pairing(ports, owner)
    paired = service.pair_device(ports, code)
    rotated = service.rotate_key(ports, owner, paired.device.device_id)
    assert rotated.device.key_version == 2
    assert rotated.ingest_url == "rtmp://127.0.0.1:1935/live"
    with pytest.raises(NotAllowedError):
        service.start_publish(ports, paired.stream_key)
    grant = service.start_publish(ports, rotated.stream_key)
    assert grant.stream.status is StreamStatus.LIVE


def test_revoking_rejects_publishing_and_stops_a_live_stream(
    ports: Ports, owner: Caller
) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    grant = service.start_publish(ports, paired.stream_key)
    device = service.revoke_key(ports, owner, paired.device.device_id)
    assert device.revoked
    assert ports.store.stream(grant.stream.stream_id).status is StreamStatus.ENDED
    with pytest.raises(NotAllowedError):
        service.start_publish(ports, paired.stream_key)
    key = service.rotate_key(ports, owner, paired.device.device_id).stream_key
    assert service.start_publish(ports, key).stream.stream_id != grant.stream.stream_id


def test_only_the_owner_configures_a_device(
    ports: Ports, owner: Caller, viewer: Caller
) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    with pytest.raises(NotAllowedError):
        service.rotate_key(ports, viewer, paired.device.device_id)
    with pytest.raises(NotAllowedError):
        service.configure_device(ports, viewer, paired.device.device_id, name="x",
                                 channel_id=None, quality=None)
    renamed = service.configure_device(ports, owner, paired.device.device_id, name="cam 2",
                                       channel_id=None, quality=None)
    assert renamed.name == "cam 2"


def test_reconnect_within_the_window_continues_the_stream(
    ports: Ports, owner: Caller, clock: FakeClock
) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    first = service.start_publish(ports, paired.stream_key)
    with pytest.raises(ConflictError):
        service.start_publish(ports, paired.stream_key)  # already live
    service.end_publish(ports, first.stream.stream_id)
    clock.advance(ports.reconnect_window_s - 1)
    again = service.start_publish(ports, paired.stream_key)
    assert again.resumed
    assert again.stream.stream_id == first.stream.stream_id
    assert again.stream.reconnects == 1
    service.end_publish(ports, first.stream.stream_id)
    clock.advance(ports.reconnect_window_s + 1)
    later = service.start_publish(ports, paired.stream_key)
    assert not later.resumed
    assert later.stream.stream_id != first.stream.stream_id


def test_a_scheduled_stream_goes_live_on_publish_and_followers_are_told(
    ports: Ports, owner: Caller, viewer: Caller
) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    channel_id = paired.device.channel_id
    scheduled = service.schedule_stream(ports, owner, channel_id, "Gig",
                                        ports.clock.now() + timedelta(minutes=5))
    service.follow(ports, viewer, channel_id)
    grant = service.start_publish(ports, paired.stream_key)
    assert grant.stream.stream_id == scheduled.stream_id
    notes = ports.store.notifications(viewer.user_id)
    assert notes[0]["kind"] == "go-live"
    assert "Gig" in notes[0]["text"]
    outbox = list((ports.store.table.path.parent / "outbox").glob("*.eml"))  # type: ignore[attr-defined]
    assert len(outbox) == 1
    with pytest.raises(DomainError):
        service.schedule_stream(ports, owner, channel_id, "naive",
                                datetime(2030, 1, 1))


def test_a_restart_ends_streams_left_live(ports: Ports, owner: Caller) -> None:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    stream_id = service.start_publish(ports, paired.stream_key).stream.stream_id
    assert service.end_orphaned_streams(ports) == [stream_id]
    assert ports.store.stream(stream_id).status is StreamStatus.ENDED
    assert ports.store.channel(paired.device.channel_id).live_stream_id is None
    assert service.end_orphaned_streams(ports) == []
