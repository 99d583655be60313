"""Amazon IVS events (EventBridge, ``source: aws.ivs``): the AWS side of the ingest hook.

On AWS a device publishes to its own IVS channel, which checks the stream key itself; IVS
then tells us what happened, and these handlers call the same service functions as the local
RTMP publish hook (``entrypoints/ingest.py``):

- ``stream_state_handler`` (``IVS Stream State Change``): ``Session Created`` / ``Stream
  Start`` take the device's stream live (a resume within the reconnect window, the next
  scheduled stream, or a new one: whichever event comes first; the second is a no-op);
  ``Session Ended`` / ``Stream End`` interrupt it (the reconnect window opens).
- ``recording_state_handler`` (``IVS Recording State Change``): ``Recording End`` reads IVS's
  ``<prefix>/events/recording-ended.json`` from the recordings bucket and registers the
  recording (duration from ``media.hls.duration_ms``, playlist ``media.hls.path`` +
  ``playlist``, a thumbnail from ``latest_thumbnail`` or ``thumbnails``) and ends the stream:
  IVS sends it after the recording configuration's reconnect window, so the broadcast is
  over. ``Recording End Failure`` ends it with the reason; ``Recording Start Failure`` marks
  the recording failed while the stream goes on.

EventBridge delivers at least once and not always in order: every step is idempotent, a
late end of an older session is ignored. A channel that no device has (another stack's) is
ignored with a warning; a backend error is raised, so Lambda retries the event.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stratus.platform.ports import NotFoundError, ObjectStore
from stratus.solutions.streaming import bootstrap, service
from stratus.solutions.streaming.store import MissingError

log = logging.getLogger("stratus.streaming.ivs")

STARTS = ("Session Created", "Stream Start")
ENDS = ("Session Ended", "Stream End")


class _Event(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: str
    detail_type: str = Field(alias="detail-type")
    resources: list[str] = []


class StreamStateDetail(BaseModel):
    event_name: str
    stream_id: str
    channel_name: str = ""


class StreamStateEvent(_Event):
    detail: StreamStateDetail


class RecordingStateDetail(BaseModel):
    recording_status: str
    stream_id: str = ""
    recording_status_reason: str = ""
    recording_s3_bucket_name: str = ""
    recording_s3_key_prefix: str = ""
    recording_duration_ms: int = 0
    recording_session_stream_ids: list[str] = []


class RecordingStateEvent(_Event):
    detail: RecordingStateDetail


class _Hls(BaseModel):
    path: str
    playlist: str
    duration_ms: int = 0


class _Thumbnails(BaseModel):
    path: str


class _Media(BaseModel):
    hls: _Hls
    thumbnails: _Thumbnails | None = None
    latest_thumbnail: _Thumbnails | None = None


class RecordingEnded(BaseModel):
    """IVS's ``events/recording-ended.json`` (low-latency channels, schema ``v1``)."""

    recording_status: str
    media: _Media
    recording_status_message: str = ""
    channel_arn: str = ""

    @property
    def ok(self) -> bool:
        return self.recording_status == "RECORDING_ENDED"


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def _thumb_number(key: str) -> int:
    found = re.search(r"(\d+)\.jpg$", key)
    return int(found.group(1)) if found else -1


def pick_thumbnail(bucket: ObjectStore, prefix: str, info: RecordingEnded) -> str | None:
    """The latest thumbnail when IVS kept one, else the last of the sequential ones."""
    latest = info.media.latest_thumbnail
    if latest is not None:
        key = _join(prefix, latest.path)
        if key.endswith(".jpg"):
            try:
                bucket.head(key)
                return key
            except NotFoundError:
                pass
        else:
            found = [o.key for o in bucket.list(key + "/") if o.key.endswith(".jpg")]
            if found:
                return sorted(found)[-1]
    if info.media.thumbnails is not None:
        folder = _join(prefix, info.media.thumbnails.path) + "/"
        found = [o.key for o in bucket.list(folder) if o.key.endswith(".jpg")]
        if found:
            return max(found, key=lambda k: (_thumb_number(k), k))
    return None


def _channel_arn(event: _Event) -> str:
    return next((r for r in event.resources if ":channel/" in r), "")


def stream_state_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One ``IVS Stream State Change``: what it did to which stream."""
    try:
        change = StreamStateEvent.model_validate(event)
    except ValidationError as exc:
        log.error("not an IVS stream state event (%d error(s)): %s", exc.error_count(), exc)
        return {"ignored": "not an IVS Stream State Change event"}
    name, session = change.detail.event_name, change.detail.stream_id
    ports = bootstrap.ports()
    if name in STARTS:
        arn = _channel_arn(change)
        try:
            grant = service.ingest_started(ports, arn, session)
        except MissingError as exc:
            log.warning("IVS %s on %s: %s", name, arn, exc)
            return {"ignored": str(exc)}
        if grant is None:
            return {"event": name, "stream_id": ports.store.session_stream(session),
                    "known": True}
        return {"event": name, "stream_id": grant.stream.stream_id,
                "status": grant.stream.status.value, "resumed": grant.resumed}
    if name in ENDS:
        stream = service.ingest_ended(ports, session)
        if stream is None:
            return {"event": name, "ignored": f"session {session} is not a current one"}
        return {"event": name, "stream_id": stream.stream_id, "status": stream.status.value}
    return {"event": name, "ignored": f"{name} changes nothing here"}


def recording_state_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One ``IVS Recording State Change``: the recording it registered, if any."""
    try:
        change = RecordingStateEvent.model_validate(event)
    except ValidationError as exc:
        log.error("not an IVS recording state event (%d error(s)): %s", exc.error_count(), exc)
        return {"ignored": "not an IVS Recording State Change event"}
    detail = change.detail
    status = detail.recording_status
    sessions = list(dict.fromkeys([*detail.recording_session_stream_ids, detail.stream_id]))
    sessions = [s for s in sessions if s]
    ports = bootstrap.ports()
    try:
        if status == "Recording Start Failure":
            recording = service.ingest_recording_failed(
                ports, detail.stream_id,
                f"recording failed to start: {detail.recording_status_reason or 'IVS error'}")
            if recording is None:
                return {"status": status, "ignored": f"session {detail.stream_id} unknown"}
            return {"status": status, "recording_id": recording.recording_id}
        if status == "Recording End Failure":
            recording = service.ingest_recording_ended(
                ports, sessions, duration_s=detail.recording_duration_ms / 1000,
                playlist_key="", thumbnail_key=None,
                error=f"recording failed: {detail.recording_status_reason or 'IVS error'}")
            return {"status": status, "recording_id": recording.recording_id}
        if status != "Recording End":
            return {"status": status, "ignored": f"{status} changes nothing here"}
        bucket = os.environ["RECORDINGS_BUCKET"]
        if detail.recording_s3_bucket_name != bucket:
            log.error("IVS recorded into %s, not the recordings bucket %s",
                      detail.recording_s3_bucket_name, bucket)
            return {"status": status, "ignored": f"bucket {detail.recording_s3_bucket_name}"}
        if not any(ports.store.session_stream(s) is not None for s in sessions):
            raise MissingError(f"no stream was fed by IVS streams {', '.join(sessions)}")
        prefix = detail.recording_s3_key_prefix.strip("/")
        raw = ports.recordings.get(_join(prefix, "events/recording-ended.json"))
        try:
            info = RecordingEnded.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            log.error("%s/events/recording-ended.json: not IVS's schema: %s", prefix, exc)
            return {"status": status, "ignored": "recording-ended.json not understood"}
        recording = service.ingest_recording_ended(
            ports, sessions, duration_s=info.media.hls.duration_ms / 1000,
            playlist_key=_join(prefix, info.media.hls.path, info.media.hls.playlist),
            thumbnail_key=pick_thumbnail(ports.recordings, prefix, info),
            error="" if info.ok else
            f"recording failed: {info.recording_status_message or info.recording_status}",
        )
    except MissingError as exc:
        log.warning("IVS %s: %s", status, exc)
        return {"status": status, "ignored": str(exc)}
    return {"status": status, "recording_id": recording.recording_id, "ready": recording.ready,
            "duration_s": recording.duration_s, "playlist_key": recording.playlist_key,
            "thumbnail_key": recording.thumbnail_key}
