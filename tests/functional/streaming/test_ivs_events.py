"""The IVS EventBridge handlers run by the local runtime on real IVS event JSON.

The events in ``tests/events/ivs_*.json`` are the examples of the IVS Low-Latency user guide
("Using Amazon EventBridge with IVS", "IVS Auto-Record to Amazon S3"); each test points their
channel ARN at a device paired through the API (its local channel: the runtime is the local
target, so the adapters are the local ones) and their bucket at the stack's recordings bucket.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.events.s3 import object_created_event
from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.streaming.store import Store

from .conftest import EVENTS, Api
from .test_handlers import _owner

FIRST, SECOND = "st-254sopYUvi6F78ghpO9vn0A", "st-1A2b3c4D5e6F78ghij9Klmn"
PREFIX = "ivs/v1/123456789012/AbCdef1G2hij/2020/6/23/20/12/j8Z9O91ndcVs"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


class Ivs:
    """A paired device and the IVS events of its channel."""

    def __init__(self, api: Api, runtime: LocalRuntime) -> None:
        self.api, self.runtime = api, runtime
        self.token = _owner(api)
        code = api("POST", "/pairing-codes", token=self.token)[1]["code"]
        paired = api("POST", "/devices/pair", body={"code": code, "name": "cam"})[1]
        self.device_id = paired["device"]["device_id"]
        self.channel_id = paired["device"]["channel_id"]
        app = runtime.apps[0]
        self.store = Store(runtime.resources.table(app.tables["StreamingTable"].spec.name))
        self.arn = self.store.device(self.device_id).ingest_arn
        self.bucket_name = app.buckets["RecordingsBucket"].name
        self.bucket = runtime.resources.bucket(self.bucket_name)

    def event(self, name: str, **detail: Any) -> dict[str, Any]:
        event = copy.deepcopy(sample(name))
        event["resources"] = [self.arn]
        if "recording_s3_bucket_name" in event["detail"]:
            event["detail"]["recording_s3_bucket_name"] = self.bucket_name
        event["detail"].update(detail)
        return event

    def state(self, name: str, **detail: Any) -> Any:
        return self.runtime.invoke("IvsStreamStateFunction", self.event(name, **detail))

    def recording(self, name: str, **detail: Any) -> Any:
        return self.runtime.invoke("IvsRecordingStateFunction", self.event(name, **detail))

    def live(self) -> Any:
        return self.api("GET", "/channels/{channelId}", channelId=self.channel_id)[1]["live"]

    def write_recording(self, info: dict[str, Any] | None = None) -> None:
        """What IVS auto-record leaves under the prefix when a recording ends."""
        self.bucket.put(f"{PREFIX}/media/hls/master.m3u8", b"#EXTM3U\n")
        self.bucket.put(f"{PREFIX}/media/thumbnails/thumb0.jpg", b"\xff\xd8first")
        self.bucket.put(f"{PREFIX}/media/thumbnails/thumb10.jpg", b"\xff\xd8last")
        self.bucket.put(f"{PREFIX}/media/latest_thumbnail/thumb.jpg", b"\xff\xd8latest")
        body = info if info is not None else sample("ivs_recording_ended")
        self.bucket.put(f"{PREFIX}/events/recording-ended.json", json.dumps(body).encode(),
                        content_type="application/json")


@pytest.fixture
def ivs(api: Api, runtime: LocalRuntime) -> Ivs:
    return Ivs(api, runtime)


def test_a_device_is_paired_to_its_own_channel(ivs: Ivs) -> None:
    device = ivs.store.device(ivs.device_id)
    assert device.ingest_arn.endswith(f":channel/{ivs.device_id}")
    assert ivs.store.device_by_ingest(device.ingest_arn) == device


def test_a_broadcast_goes_live_drops_reconnects_and_is_recorded(ivs: Ivs) -> None:
    created = ivs.state("ivs_stream_state_session_created")
    stream_id = created["stream_id"]
    assert (created["status"], created["resumed"]) == ("live", False)
    assert ivs.state("ivs_stream_state_stream_start") == {
        "event": "Stream Start", "stream_id": stream_id, "known": True}
    live = ivs.live()
    assert live["stream_id"] == stream_id
    assert live["playlist_url"] == f"/live/{stream_id}/index.m3u8"  # locally: the site's HLS

    assert ivs.state("ivs_stream_state_session_ended")["status"] == "interrupted"
    assert ivs.state("ivs_stream_state_stream_end")["status"] == "interrupted"
    again = ivs.state("ivs_stream_state_session_created", stream_id=SECOND)
    assert (again["stream_id"], again["resumed"]) == (stream_id, True)
    late = ivs.state("ivs_stream_state_session_ended")  # the first session, again
    assert late["ignored"] == f"session {FIRST} is not a current one"
    assert ivs.live()["status"] == "live"

    ivs.state("ivs_stream_state_stream_end", stream_id=SECOND)
    ivs.write_recording()
    result = ivs.recording("ivs_recording_state_recording_end")

    assert result == {
        "status": "Recording End", "recording_id": stream_id, "ready": True,
        "duration_s": 99370.264, "playlist_key": f"{PREFIX}/media/hls/master.m3u8",
        "thumbnail_key": f"{PREFIX}/media/latest_thumbnail/thumb.jpg"}
    assert ivs.live() is None
    assert ivs.store.stream(stream_id).status.value == "ended"
    status, rec = ivs.api("GET", "/recordings/{recordingId}", token=ivs.token,
                          recordingId=stream_id)
    assert (status, rec["ready"], rec["visibility"]) == (200, True, "private")
    assert rec["playlist_url"] == f"/media/{PREFIX}/media/hls/master.m3u8"
    assert ivs.api("GET", "/recordings/{recordingId}", recordingId=stream_id)[0] == 404


def test_without_a_latest_thumbnail_the_last_sequential_one_is_taken(ivs: Ivs) -> None:
    ivs.state("ivs_stream_state_session_created")
    info = sample("ivs_recording_ended")
    del info["media"]["latest_thumbnail"]
    ivs.write_recording(info)

    result = ivs.recording("ivs_recording_state_recording_end")

    assert result["thumbnail_key"] == f"{PREFIX}/media/thumbnails/thumb10.jpg"


def test_a_recording_that_ended_with_a_failure_shows_why(ivs: Ivs) -> None:
    stream_id = ivs.state("ivs_stream_state_session_created")["stream_id"]
    info = sample("ivs_recording_ended")
    info.update(recording_status="RECORDING_ENDED_WITH_FAILURE",
                recording_status_message="InternalServerException")
    ivs.write_recording(info)

    result = ivs.recording("ivs_recording_state_recording_end")

    assert result["ready"] is False
    recording = ivs.store.recording(stream_id)
    assert recording.error == "recording failed: InternalServerException"
    assert ivs.store.stream(stream_id).status.value == "ended"


def test_a_recording_that_could_not_start_leaves_the_stream_live(ivs: Ivs) -> None:
    stream_id = ivs.state("ivs_stream_state_session_created")["stream_id"]

    result = ivs.recording("ivs_recording_state_recording_start_failure")

    assert result == {"status": "Recording Start Failure", "recording_id": stream_id}
    assert ivs.store.recording(stream_id).error == (
        "recording failed to start: ValidationException")
    assert ivs.live()["status"] == "live"


def test_events_of_other_channels_and_malformed_events_are_ignored(ivs: Ivs) -> None:
    other = sample("ivs_stream_state_session_created")  # the guide's channel: not ours
    assert "no device streams to" in ivs.runtime.invoke("IvsStreamStateFunction", other)[
        "ignored"]
    assert ivs.runtime.invoke("IvsStreamStateFunction", {"source": "aws.ivs"}) == {
        "ignored": "not an IVS Stream State Change event"}
    assert ivs.state("ivs_stream_state_session_ended")["ignored"].startswith("session")
    unknown = ivs.recording("ivs_recording_state_recording_end")
    assert unknown["ignored"].startswith("no stream was fed by IVS streams")
    elsewhere = ivs.recording("ivs_recording_state_recording_end",
                              recording_s3_bucket_name="someone-elses-bucket")
    assert elsewhere["ignored"] == "bucket someone-elses-bucket"
    assert ivs.live() is None


def test_the_s3_recording_function_leaves_ivs_recordings_to_the_event(
    ivs: Ivs, tmp_path: Path
) -> None:
    ivs.state("ivs_stream_state_session_created")
    ivs.write_recording()
    info = ivs.bucket.head(f"{PREFIX}/events/recording-ended.json")

    result = ivs.runtime.invoke("RecordingEndedFunction", object_created_event(
        info, bucket=ivs.bucket_name, region="us-east-1"))

    assert result == {"ready": 0}
