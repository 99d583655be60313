"""RTMP ingest with a real ffmpeg encoder: keys, live HLS over HTTP, reconnect, recordings."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from stratus.solutions.streaming.media.device import device_command, start_device

from .conftest import Platform, needs_ffmpeg, wait_for

pytestmark = [needs_ffmpeg, pytest.mark.slow]


def _live_stream(platform: Platform, channel_id: str) -> dict[str, Any] | None:
    status, body = platform.api("GET", f"/channels/{channel_id}")
    return body["live"] if status == 200 else None


def _playlist(platform: Platform, stream_id: str) -> bytes | None:
    status, body = platform.http("GET", f"/streaming/site/live/{stream_id}/index.m3u8")
    return body if status == 200 and b"#EXTINF" in body else None


def test_a_wrong_key_is_rejected_by_the_ingest(platform: Platform) -> None:
    result = subprocess.run(
        device_command(platform.site.media.ingest_url, "sk_wrong", duration_s=2),
        capture_output=True, timeout=30, check=False,
    )
    assert result.returncode != 0
    assert b"stream key not valid" in result.stderr
    assert platform.api("GET", "/home")[1]["live"] == []


def test_live_hls_reconnect_then_stop_gives_a_recording(platform: Platform) -> None:
    token = platform.owner()
    paired = platform.pair(token)
    channel_id = paired["device"]["channel_id"]
    ingest, key = paired["ingest_url"], paired["stream_key"]

    device = start_device(ingest, key)
    try:
        live = wait_for(lambda: _live_stream(platform, channel_id), what="stream is live")
        stream_id = live["stream_id"]
        first = wait_for(lambda: _playlist(platform, stream_id), what="first playlist")
        segment = next(ln for ln in first.decode().splitlines() if ln.endswith(".ts"))
        status, data = platform.http("GET", f"/streaming/site/live/{stream_id}/{segment}")
        assert status == 200
        assert data[:1] == b"\x47"  # MPEG-TS sync byte
    finally:
        device.terminate()
        device.wait(timeout=10)

    # The encoder dropped; it comes back within the window: same stream, one reconnect.
    wait_for(lambda: platform.api("GET", "/admin/streams")[0] and
             platform.site.ports.store.stream(stream_id).status.value == "interrupted",
             what="stream interrupted")
    device = start_device(ingest, key)
    try:
        resumed = wait_for(
            lambda: (s := platform.site.ports.store.stream(stream_id)).reconnects == 1
            and s.status.value == "live", what="stream resumed")
        assert resumed
        status, stopped = platform.api("POST", f"/streams/{stream_id}/stop", token=token)
        assert (status, stopped["status"]) == (200, "ended")
        device.wait(timeout=20)  # the media service cuts the encoder
    finally:
        if device.poll() is None:
            device.kill()

    rec = wait_for(
        lambda: (r := platform.api("GET", f"/recordings/{stream_id}", token=token))[0] == 200
        and r[1]["ready"] and r[1], timeout_s=30, what="recording ready")
    assert rec["visibility"] == "private"
    assert rec["duration_s"] > 1
    assert rec["thumbnail_url"]
    playlist_url = "/streaming/site" + rec["playlist_url"]
    assert platform.http("GET", playlist_url)[0] == 404  # private: not for anonymous viewers
    status, _ = platform.api("PUT", f"/recordings/{stream_id}", {"visibility": "public"}, token)
    assert status == 200
    status, text = platform.http("GET", playlist_url)
    assert status == 200
    assert b"#EXT-X-ENDLIST" in text
    assert b"#EXT-X-DISCONTINUITY" in text  # the reconnect is inside the same recording


def test_a_revoked_key_is_rejected_and_cuts_the_live_stream(platform: Platform) -> None:
    token = platform.owner()
    paired = platform.pair(token)
    device = start_device(paired["ingest_url"], paired["stream_key"])
    try:
        wait_for(lambda: _live_stream(platform, paired["device"]["channel_id"]), what="live")
        device_id = paired["device"]["device_id"]
        status, _ = platform.api("POST", f"/devices/{device_id}/revoke-key", token=token)
        assert status == 200
        device.wait(timeout=20)
    finally:
        if device.poll() is None:
            device.kill()
    again = subprocess.run(
        device_command(paired["ingest_url"], paired["stream_key"], duration_s=2),
        capture_output=True, timeout=30, check=False,
    )
    assert again.returncode != 0


def test_a_device_set_to_ladder_gets_three_renditions(platform: Platform) -> None:
    token = platform.owner()
    paired = platform.pair(token)
    device_id = paired["device"]["device_id"]
    status, device = platform.api("PUT", f"/devices/{device_id}", {"quality": "ladder"}, token)
    assert (status, device["quality"]) == (200, "ladder")
    assert platform.api("PUT", f"/devices/{device_id}", {"quality": "8k"}, token)[0] == 400
    encoder = start_device(paired["ingest_url"], paired["stream_key"])
    try:
        live = wait_for(lambda: _live_stream(platform, paired["device"]["channel_id"]),
                        what="live")
        base = f"/streaming/site/live/{live['stream_id']}"

        def variants() -> bytes | None:
            status, body = platform.http("GET", f"{base}/index.m3u8")
            return body if status == 200 and body.count(b"#EXT-X-STREAM-INF") == 3 else None

        master = wait_for(variants, what="master playlist")
        assert b"720p/index.m3u8" in master
        assert b"360p/index.m3u8" in master
        wait_for(lambda: platform.http("GET", f"{base}/360p/index.m3u8")[0] == 200,
                 what="a rendition playlist")
    finally:
        encoder.terminate()
        encoder.wait(timeout=10)
