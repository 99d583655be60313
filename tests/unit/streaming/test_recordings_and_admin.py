from __future__ import annotations

import pytest

from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.domain.streams import StreamStatus, Visibility
from stratus.solutions.streaming.media.hls import finish_playlist, playlist_duration_s
from stratus.solutions.streaming.service import Caller, Ports


def _live(ports: Ports, owner: Caller) -> str:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    return service.start_publish(ports, paired.stream_key).stream.stream_id


def test_every_stream_gets_a_private_recording_published_by_the_owner(
    ports: Ports, owner: Caller, viewer: Caller
) -> None:
    stream_id = _live(ports, owner)
    recording = ports.store.recording(stream_id)
    assert recording.visibility is Visibility.PRIVATE
    assert not recording.ready
    with pytest.raises(ConflictError):
        service.set_recording_visibility(ports, owner, stream_id, Visibility.PUBLIC)
    assert service.stop_stream(ports, owner, stream_id).status is StreamStatus.ENDED
    service.recording_ready(ports, stream_id, 12.5, None)
    assert not service.can_watch_recording(ports, viewer, ports.store.recording(stream_id))
    assert service.can_watch_recording(ports, owner, ports.store.recording(stream_id))
    with pytest.raises(NotAllowedError):
        service.set_recording_visibility(ports, viewer, stream_id, Visibility.PUBLIC)
    published = service.set_recording_visibility(ports, owner, stream_id, Visibility.PUBLIC)
    assert published.visibility is Visibility.PUBLIC
    assert service.can_watch_recording(ports, None, published)


def test_likes_count_once_per_user_and_comments_need_text(
    ports: Ports, owner: Caller, viewer: Caller
) -> None:
    channel = service.create_channel(ports, owner, "Stage")
    target = f"channel:{channel.channel_id}"
    assert service.like(ports, viewer, target) == 1
    assert service.like(ports, viewer, target) == 1
    assert service.like(ports, owner, target) == 2
    service.comment(ports, viewer, target, "great set")
    assert [c["text"] for c in ports.store.comments(target)] == ["great set"]
    with pytest.raises(DomainError):
        service.comment(ports, viewer, target, " ")


def test_channel_customisation_checks_theme_and_cover(ports: Ports, owner: Caller) -> None:
    channel = service.create_channel(ports, owner, "Stage")
    changed = service.customise_channel(ports, owner, channel.channel_id, theme="sunset",
                                        cover=b"\x89PNG...", cover_type="image/png")
    assert changed.theme == "sunset"
    assert changed.cover_key is not None
    assert ports.recordings.get(changed.cover_key) == b"\x89PNG..."
    with pytest.raises(DomainError):
        service.customise_channel(ports, owner, channel.channel_id, theme="neon")
    with pytest.raises(DomainError):
        service.customise_channel(ports, owner, channel.channel_id, cover=b"x",
                                  cover_type="text/html")


def test_tracking_report_and_dashboard_are_for_admins(
    ports: Ports, owner: Caller, admin: Caller
) -> None:
    _live(ports, owner)
    service.track(ports, "GET /home", owner.user_id)
    service.track(ports, "GET /home", None)
    day = ports.clock.now().date().isoformat()
    report = service.tracking_report(ports, admin, day)
    assert report["by_action"] == {"GET /home": 2}
    assert report["users"] == 1
    assert service.dashboard(ports, admin)["live"][0]["viewers"] == 0
    with pytest.raises(NotAllowedError):
        service.dashboard(ports, owner)
    with pytest.raises(DomainError):
        service.tracking_report(ports, admin, "yesterday")


def test_playlists_are_finished_once_and_durations_summed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    playlist = tmp_path / "index.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\na.ts\n#EXTINF:0.5,\nb.ts\n")
    finish_playlist(tmp_path)
    finish_playlist(tmp_path)
    text = playlist.read_text()
    assert text.count("#EXT-X-ENDLIST") == 1
    assert playlist_duration_s(text) == 1.5
