"""Over real HTTP on a started runtime: a custom video upload from API call to playback, the
tracking report, and `stratus up --demo` (the runtime with the demo loader) serving the site
with the demo channel live."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from stratus.solutions.streaming import demo

from .conftest import Platform, needs_ffmpeg, wait_for

pytestmark = [needs_ffmpeg, pytest.mark.slow]


def make_clip(path: Path, seconds: int = 3) -> Path:
    """An H.264/AAC MP4 with a keyframe every second (what a phone records, roughly)."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-shortest",
         "-movflags", "+faststart", str(path)],
        check=True, timeout=60,
    )
    return path


def put(url: str, data: bytes, content_type: str) -> int:
    req = urllib.request.Request(url, data=data, method="PUT")
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _ready(platform: Platform, rid: str, token: str) -> dict[str, Any] | None:
    status, rec = platform.api("GET", f"/recordings/{rid}", None, token)
    return rec if status == 200 and (rec["ready"] or rec["error"]) else None


def test_upload_transcode_publish_and_play(platform: Platform, tmp_path: Path) -> None:
    token = platform.owner()
    status, channel = platform.api("POST", "/channels", {"name": "Clips"}, token)
    assert status == 201
    clip = make_clip(tmp_path / "clip.mp4").read_bytes()
    status, grant = platform.api(
        "POST", f"/channels/{channel['channel_id']}/uploads",
        {"title": "Holiday clip", "content_type": "video/mp4", "size_bytes": len(clip)}, token)
    assert status == 201, grant
    url, rid = grant["upload"]["url"], grant["recording"]["recording_id"]
    assert url.startswith(platform.base + "/streaming/site/upload/uploads/")
    # the signed URL fixes the content type and cannot be tampered with
    assert put(url, clip, "video/webm") == 403
    assert put(url.replace("uploads/" + rid, "uploads/other"), clip, "video/mp4") == 403
    assert put(url, clip + b"\0", "video/mp4") == 403  # not the size it was signed for
    assert put(url, clip, "video/mp4") == 200
    rec = wait_for(lambda: _ready(platform, rid, token), timeout_s=60, what="transcoded")
    assert rec["ready"]
    assert not rec["error"]
    assert rec["source"] == "upload"
    assert 2.5 <= rec["duration_s"] <= 3.5
    # private: not for visitors, listed for the owner
    media = f"/streaming/site{rec['playlist_url']}"
    assert platform.http("GET", media)[0] == 404
    assert platform.api("GET", f"/recordings/{rid}")[0] == 404
    # published: anyone plays it (playlist, a segment, the thumbnail)
    status, rec = platform.api("PUT", f"/recordings/{rid}", {"visibility": "public"}, token)
    assert (status, rec["visibility"]) == (200, "public")
    status, playlist = platform.http("GET", media)
    assert status == 200
    assert b"#EXT-X-ENDLIST" in playlist
    segment = next(ln for ln in playlist.decode().splitlines() if ln.endswith(".ts"))
    status, data = platform.http("GET", media.rsplit("/", 1)[0] + "/" + segment)
    assert status == 200
    assert data[:1] == b"\x47"
    assert platform.http("GET", f"/streaming/site{rec['thumbnail_url']}")[0] == 200
    home = platform.api("GET", "/home")[1]
    assert [r["recording_id"] for r in home["recordings"]] == [rid]


def test_an_upload_that_is_not_a_video_says_why(platform: Platform) -> None:
    token = platform.owner()
    channel = platform.api("POST", "/channels", {"name": "Clips"}, token)[1]
    junk = b"definitely not a video" * 64
    grant = platform.api("POST", f"/channels/{channel['channel_id']}/uploads",
                         {"title": "oops", "content_type": "video/mp4",
                          "size_bytes": len(junk)}, token)[1]
    assert put(grant["upload"]["url"], junk, "video/mp4") == 200
    rid = grant["recording"]["recording_id"]
    rec = wait_for(lambda: _ready(platform, rid, token), timeout_s=30, what="failure")
    assert not rec["ready"]
    assert "not a video" in rec["error"]
    status, _body = platform.api("PUT", f"/recordings/{rid}", {"visibility": "public"}, token)
    assert status == 409


def test_stratus_up_demo_serves_the_site_with_the_demo_channel_live(
    platform: Platform,
) -> None:
    lines = platform.runtime.load_demo()  # what `stratus up --demo` runs after start-up
    assert any("demo device is live" in line for line in lines), lines
    site_line = next(line for line in lines if line.startswith("site: "))
    status, page = platform.http("GET", "/streaming/site/")
    assert status == 200
    assert b"<html" in page
    channel_url = site_line.split("channel: ", 1)[1]
    channel_id = channel_url.rsplit("c=", 1)[1]
    assert platform.http("GET", channel_url.removeprefix(platform.base))[0] == 200
    status, channel = platform.api("GET", f"/channels/{channel_id}")
    assert status == 200
    assert channel["channel"]["name"] == "Demo channel"
    assert [s["title"] for s in channel["schedule"]] == ["Friday night session"]
    live = wait_for(lambda: platform.api("GET", f"/channels/{channel_id}")[1]["live"],
                    timeout_s=30, what="demo channel live")
    home = platform.api("GET", "/home")[1]
    assert [s["channel_id"] for s in home["live"]] == [channel_id]

    def playlist() -> bytes | None:
        status, body = platform.http("GET", "/streaming/site" + live["playlist_url"])
        return body if status == 200 and b"#EXTINF" in body else None

    wait_for(playlist, timeout_s=30, what="demo live playlist")
    # the demo logins work
    status, login = platform.api("POST", "/auth/login", {"email": demo.OWNER_EMAIL,
                                                         "password": demo.DEMO_PASSWORD})
    assert (status, login["user"]["role"]) == (200, "owner")
