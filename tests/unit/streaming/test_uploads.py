"""Custom video uploads: signed URLs, the upload use case, and the post-upload transcoding."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.domain.devices import Quality
from stratus.solutions.streaming.entrypoints.uploads import process_upload
from stratus.solutions.streaming.media.hls import probe_codecs
from stratus.solutions.streaming.service import Caller, Ports
from stratus.solutions.streaming.uploads import (
    UPLOAD_PATH,
    LocalUploadSigner,
    S3UploadSigner,
    upload_key,
)

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="ffmpeg/ffprobe are not installed (apt-get install ffmpeg)",
)


def _make_video(path: Path, *codec_args: str, seconds: int = 3) -> Path:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         *codec_args, "-shortest", str(path)],
        check=True, timeout=60,
    )
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    base = tmp_path_factory.mktemp("videos")
    return {
        "h264": _make_video(base / "clip.mp4", "-c:v", "libx264", "-preset", "ultrafast",
                            "-g", "25", "-c:a", "aac", seconds=4),
        "mpeg4": _make_video(base / "clip.avi", "-c:v", "mpeg4", "-c:a", "mp3"),
    }


def _channel(ports: Ports, owner: Caller) -> str:
    return service.create_channel(ports, owner, "Uploads").channel_id


def test_local_signed_url_allows_one_key_one_type_until_it_expires(
    ports: Ports, clock: FakeClock
) -> None:
    signer = LocalUploadSigner(ports.secrets, "http://127.0.0.1:8000/",
                               now=lambda: clock.now().timestamp())
    url = signer.put_url("uploads/abc/source.upload", "video/mp4", 500, 60)
    parts = urlsplit(url)
    assert parts.path == UPLOAD_PATH + "uploads/abc/source.upload"
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    key = "uploads/abc/source.upload"
    assert signer.check(key, "video/mp4", 500, q) is None
    assert signer.check("uploads/other/source.upload", "video/mp4", 500, q)
    assert signer.check(key, "video/webm", 500, q)
    assert signer.check(key, "video/mp4", 500, {**q, "expires": str(int(q["expires"]) + 1)})
    assert signer.check(key, "video/mp4", 501, {**q, "size": "501"})
    assert signer.check(key, "video/mp4", 501, q) == "body is 501 bytes, the URL is for 500"
    assert signer.check(key, "video/mp4", 500, {**q, "expires": "soon"}) == (
        "expires, size: numbers")
    clock.advance(61)
    assert signer.check(key, "video/mp4", 500, q) == "upload URL expired"


def test_s3_signer_makes_a_presigned_put_for_the_key_and_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")  # signing is offline
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    url = S3UploadSigner("rec-bucket").put_url("uploads/x/source.upload", "video/mp4", 42, 900)
    parts = urlsplit(url)
    assert parts.netloc == "rec-bucket.s3.eu-west-1.amazonaws.com"
    assert parts.path == "/uploads/x/source.upload"
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert "/eu-west-1/s3/aws4_request" in query["X-Amz-Credential"][0]


def test_start_upload_makes_a_private_processing_recording(ports: Ports, owner: Caller) -> None:
    channel_id = _channel(ports, owner)
    grant = service.start_upload(ports, owner, channel_id, " My clip ", "video/mp4", 1234,
                                 Quality.LADDER)
    rec = ports.store.recording(grant.recording.recording_id)
    assert (rec.source, rec.quality, rec.ready, rec.visibility.value) == (
        "upload", "ladder", False, "private")
    assert rec.title == "My clip"
    assert rec.playlist_key == f"recordings/{rec.recording_id}/index.m3u8"
    assert upload_key(rec.recording_id) in grant.upload_url
    with pytest.raises(ConflictError):
        service.set_recording_visibility(ports, owner, rec.recording_id,
                                         service.Visibility.PUBLIC)


def test_start_upload_rules(ports: Ports, owner: Caller, viewer: Caller) -> None:
    channel_id = _channel(ports, owner)
    with pytest.raises(NotAllowedError):
        service.start_upload(ports, viewer, channel_id, "clip", "video/mp4", 10)
    with pytest.raises(DomainError, match="content_type"):
        service.start_upload(ports, owner, channel_id, "clip", "text/plain", 10)
    with pytest.raises(DomainError, match="size_bytes"):
        service.start_upload(ports, owner, channel_id, "clip", "video/mp4", 3 * 1024**3)
    with pytest.raises(DomainError, match="title"):
        service.start_upload(ports, owner, channel_id, "  ", "video/mp4", 10)


def _uploaded(ports: Ports, owner: Caller, file: Path, quality: Quality) -> str:
    grant = service.start_upload(ports, owner, _channel(ports, owner), "clip", "video/mp4",
                                 file.stat().st_size, quality)
    rid = grant.recording.recording_id
    ports.recordings.put(upload_key(rid), file.read_bytes(), content_type="video/mp4")
    return rid


def _finish(ports: Ports, rid: str) -> None:
    """What RecordingEndedFunction does with the ended event."""
    info = json.loads(ports.recordings.get(f"recordings/{rid}/events/recording-ended.json"))
    service.recording_ready(ports, rid, info["duration_s"], info["thumbnail_key"])


@needs_ffmpeg
def test_h264_upload_is_packaged_as_is_like_a_recording(
    ports: Ports, owner: Caller, videos: dict[str, Path], tmp_path: Path
) -> None:
    rid = _uploaded(ports, owner, videos["h264"], Quality.PASSTHROUGH)
    assert process_upload(ports, upload_key(rid), tmp_path) == "ready"
    keys = {i.key for i in ports.recordings.list(f"recordings/{rid}/")}
    assert f"recordings/{rid}/index.m3u8" in keys
    assert f"recordings/{rid}/thumbnail.jpg" in keys
    playlist = ports.recordings.get(f"recordings/{rid}/index.m3u8").decode()
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    _finish(ports, rid)
    rec = ports.store.recording(rid)
    assert rec.ready
    assert rec.visibility.value == "private"
    assert 3.5 <= rec.duration_s <= 4.5
    assert rec.thumbnail_key == f"recordings/{rid}/thumbnail.jpg"
    segment = tmp_path / "seg.ts"
    first = sorted(k for k in keys if k.endswith(".ts"))[0]
    segment.write_bytes(ports.recordings.get(first))
    assert probe_codecs(segment) == ("h264", "aac")
    service.set_recording_visibility(ports, owner, rid, service.Visibility.PUBLIC)
    assert service.can_watch_recording(ports, None, ports.store.recording(rid))


@needs_ffmpeg
def test_other_codecs_are_transcoded_to_h264_aac(
    ports: Ports, owner: Caller, videos: dict[str, Path], tmp_path: Path
) -> None:
    assert probe_codecs(videos["mpeg4"]) == ("mpeg4", "mp3")
    rid = _uploaded(ports, owner, videos["mpeg4"], Quality.PASSTHROUGH)
    assert process_upload(ports, upload_key(rid), tmp_path) == "ready"
    first = sorted(i.key for i in ports.recordings.list(f"recordings/{rid}/")
                   if i.key.endswith(".ts"))[0]
    (tmp_path / "seg.ts").write_bytes(ports.recordings.get(first))
    assert probe_codecs(tmp_path / "seg.ts") == ("h264", "aac")


@needs_ffmpeg
def test_ladder_upload_gets_three_renditions(
    ports: Ports, owner: Caller, videos: dict[str, Path], tmp_path: Path
) -> None:
    rid = _uploaded(ports, owner, videos["h264"], Quality.LADDER)
    assert process_upload(ports, upload_key(rid), tmp_path) == "ready"
    master = ports.recordings.get(f"recordings/{rid}/index.m3u8").decode()
    assert master.count("#EXT-X-STREAM-INF") == 3
    for name in ("720p", "480p", "360p"):
        media = ports.recordings.get(f"recordings/{rid}/{name}/index.m3u8").decode()
        assert "#EXT-X-ENDLIST" in media
    _finish(ports, rid)
    assert ports.store.recording(rid).duration_s >= 3.5


@needs_ffmpeg
def test_a_file_that_is_not_a_video_fails_with_a_reason(
    ports: Ports, owner: Caller, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"this is not a video" * 100)
    rid = _uploaded(ports, owner, junk, Quality.PASSTHROUGH)
    work = tmp_path / "work"
    work.mkdir()
    assert process_upload(ports, upload_key(rid), work) == "failed"
    rec = ports.store.recording(rid)
    assert not rec.ready
    assert "not a video" in rec.error
    assert not list(ports.recordings.list(f"recordings/{rid}/"))


def test_unknown_or_foreign_keys_are_skipped(ports: Ports, tmp_path: Path) -> None:
    assert process_upload(ports, "uploads/nope/source.upload", tmp_path) == "skipped"
    assert process_upload(ports, "covers/x/y", tmp_path) == "skipped"
