"""Uploads and tracking through the runtime: REST proxy events, S3 events, the warehouse file."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.streaming.domain.accounts import Role
from stratus.solutions.streaming.store import Store
from stratus.solutions.streaming.uploads import upload_key
from stratus.solutions.streaming.warehouse import SqliteWarehouse

from .conftest import Api
from .test_handlers import _owner


def _store(runtime: LocalRuntime) -> Store:
    return Store(runtime.resources.table(runtime.apps[0].tables["StreamingTable"].spec.name))


def _channel(api: Api, token: str) -> str:
    status, channel = api("POST", "/channels", token=token, body={"name": "Clips"})
    assert status == 201
    return str(channel["channel_id"])


def test_upload_route_validates_and_needs_the_channel_owner(
    api: Api, runtime: LocalRuntime
) -> None:
    token = _owner(api)
    channel_id = _channel(api, token)
    route = "/channels/{channelId}/uploads"
    # no server yet: the local signer has no base URL to sign for
    status, body = api("POST", route, token=token, channelId=channel_id,
                       body={"title": "t", "content_type": "video/mp4", "size_bytes": 10})
    assert (status, body["message"]) == (409, "uploads are not configured on this deployment")
    for fn in runtime.functions.values():
        fn.base_environment = {**fn.base_environment, "STRATUS_LOCAL_URL": "http://127.0.0.1:9"}
    status, body = api("POST", route, token=token, channelId=channel_id,
                       body={"title": "t", "content_type": "text/plain", "size_bytes": 0})
    assert status == 400
    assert any(r.startswith("content_type") for r in body["reasons"])
    assert any(r.startswith("size_bytes") for r in body["reasons"])
    assert api("POST", route, channelId=channel_id,
               body={"title": "t", "content_type": "video/mp4", "size_bytes": 10})[0] == 401
    status, grant = api("POST", route, token=token, channelId=channel_id,
                        body={"title": "Clip", "content_type": "video/mp4", "size_bytes": 10})
    assert status == 201
    rid = grant["recording"]["recording_id"]
    assert grant["upload"]["method"] == "PUT"
    assert grant["upload"]["headers"] == {"Content-Type": "video/mp4"}
    assert grant["upload"]["url"].startswith(
        f"http://127.0.0.1:9/streaming/site/upload/{upload_key(rid)}?")
    assert grant["recording"]["ready"] is False
    assert grant["recording"]["visibility"] == "private"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_an_uploaded_object_is_transcoded_by_its_s3_event(
    api: Api, runtime: LocalRuntime, tmp_path: Path
) -> None:
    token = _owner(api)
    channel_id = _channel(api, token)
    for fn in runtime.functions.values():
        fn.base_environment = {**fn.base_environment, "STRATUS_LOCAL_URL": "http://127.0.0.1:9"}
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", "25", str(clip)], check=True, timeout=60)
    status, grant = api("POST", "/channels/{channelId}/uploads", token=token,
                        channelId=channel_id, body={"title": "Clip", "content_type": "video/mp4",
                                                    "size_bytes": clip.stat().st_size})
    assert status == 201
    rid = grant["recording"]["recording_id"]
    bucket = runtime.resources.bucket(runtime.apps[0].buckets["RecordingsBucket"].name)
    bucket.put(upload_key(rid), clip.read_bytes(), content_type="video/mp4")  # the PUT
    deadline = time.monotonic() + 60
    rec: Any = None
    while time.monotonic() < deadline:  # S3 event -> TranscodeFunction -> RecordingEnded
        rec = api("GET", "/recordings/{recordingId}", token=token, recordingId=rid)[1]
        if rec["ready"]:
            break
        time.sleep(0.2)
    assert rec["ready"], rec
    assert rec["source"] == "upload"
    assert 1.5 <= rec["duration_s"] <= 2.5
    assert rec["thumbnail_url"] == f"/media/recordings/{rid}/thumbnail.jpg"
    assert api("GET", "/recordings/{recordingId}", recordingId=rid)[0] == 404  # private


def test_tracking_goes_to_the_warehouse_file_and_the_report(
    api: Api, runtime: LocalRuntime
) -> None:
    token = _owner(api)
    channel_id = _channel(api, token)
    for _ in range(3):
        assert api("GET", "/channels/{channelId}", channelId=channel_id)[0] == 200
    assert api("GET", "/channels/{channelId}", token=token, channelId=channel_id)[0] == 200
    store = _store(runtime)
    user = store.user_by_email("ann@example.com")
    assert user is not None
    store.put_user(replace(user, role=Role.ADMIN))
    status, report = api("GET", "/admin/report", token=token)
    assert status == 200, report
    assert report["views_per_channel"] == [
        {"channel_id": channel_id, "name": "Clips", "views": 4}]
    assert report["by_action"]["view_channel"] == 4
    assert report["by_action"]["GET /channels/{channelId}"] == 4
    assert list(report["daily_active_users"].values()) == [1]
    assert report["top_streams"] == []  # the channel was never live
    wh = runtime.home / "streaming" / "warehouse.sqlite3"
    assert wh.is_file()
    day = report["to"]
    assert store.tracked(day) == []  # nothing in the operational table
    reopened = SqliteWarehouse(wh)
    from datetime import date

    assert reopened.views_per_channel(date.fromisoformat(day), date.fromisoformat(day)) == {
        channel_id: 4}
    reopened.close()
    assert api("GET", "/admin/report", token=token, query={"from": "2026-13-01"})[0] == 400
    assert api("GET", "/admin/report", token=token, query={"top": "many"})[0] == 400
