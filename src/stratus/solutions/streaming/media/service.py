"""The local media service: RTMP ingest -> ffmpeg HLS -> recordings in the bucket.

Locally it stands in for IVS (ingest, live HLS, auto-record to S3). It asks the ingest hook
function before each publish and tells it when one ends, so every rule (key validation,
reconnect window, stream lifecycle) lives in the service layer, not here.

Lifecycle of one stream:

1. ``publish`` with a key -> the hook accepts (stream id, resumed?) or refuses (client gets
   ``NetStream.Publish.BadName``);
2. FLV tags go to an :class:`HlsPackager` writing ``live_dir/<stream id>/``;
3. the encoder leaves -> ``publish_done``; if the owner stopped the stream, or the reconnect
   window passes without a new publish, the stream is ``finish``-ed and the recording
   finalised: ``#EXT-X-ENDLIST``, thumbnail, every file copied to the recordings bucket under
   ``recordings/<stream id>/``, then ``events/recording-ended.json`` (which triggers the
   post-processing function, as IVS does on AWS).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stratus.platform.ports import ObjectStore
from stratus.solutions.streaming.media.hls import (
    PLAYLIST,
    HlsPackager,
    ffmpeg_path,
    finish_playlist,
    make_thumbnail,
    playlist_duration_s,
)
from stratus.solutions.streaming.media.rtmp import FlvSink, IngestRejectedError, RtmpServer

log = logging.getLogger("stratus.streaming.media")

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
"""Calls the ingest hook function with one event and returns its answer."""

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".json": "application/json",
}


@dataclass
class _Live:
    stream_id: str
    key: str
    packager: HlsPackager | None = None
    finalize_timer: threading.Timer | None = None


@dataclass
class ViewerTracker:
    """Who fetched a live playlist recently: the live viewer count (per stream)."""

    window_s: float = 10.0
    _seen: dict[str, dict[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, stream_id: str, viewer: str) -> None:
        with self._lock:
            self._seen.setdefault(stream_id, {})[viewer] = time.monotonic()

    def counts(self) -> dict[str, int]:
        cutoff = time.monotonic() - self.window_s
        with self._lock:
            return {
                sid: sum(1 for at in seen.values() if at >= cutoff)
                for sid, seen in self._seen.items()
            }


class _PublishSink:
    """The packager plus the end-of-publish notification."""

    def __init__(self, packager: HlsPackager, on_close: Callable[[], None]) -> None:
        self.packager = packager
        self._on_close = on_close

    def write_tag(self, tag_type: int, timestamp_ms: int, payload: bytes) -> None:
        self.packager.write_tag(tag_type, timestamp_ms, payload)

    def close(self) -> None:
        self.packager.close()
        self._on_close()


class MediaService:
    """RTMP server + packagers + recording finaliser + a watcher (stops, viewer counts)."""

    def __init__(
        self,
        invoke: Invoke,
        live_dir: Path,
        recordings: ObjectStore,
        *,
        host: str = "127.0.0.1",
        rtmp_port: int = 1935,
        segment_s: float = 1.0,
        watch_interval_s: float = 0.5,
    ) -> None:
        self.invoke = invoke
        self.live_dir = live_dir
        self.recordings = recordings
        self.segment_s = segment_s
        self.watch_interval_s = watch_interval_s
        self.viewers = ViewerTracker()
        self.rtmp = RtmpServer(self._authorize, host=host, port=rtmp_port)
        self._live: dict[str, _Live] = {}
        self._finalized: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="streaming-watch", daemon=True)

    @property
    def ingest_url(self) -> str:
        return self.rtmp.url

    def start(self) -> None:
        """Serve ingest; streams left live by a previous (killed) process are ended first."""
        self.live_dir.mkdir(parents=True, exist_ok=True)
        orphans = self.invoke({"call": "reset"}).get("ended") or []
        for stream_id in orphans:
            with self._lock:
                self._finalized.add(stream_id)
            try:
                self.finalize_recording(str(stream_id))
            except Exception:  # keep serving; the log says which recording is missing
                log.exception("stream %s: recording could not be finalised", stream_id)
        self.rtmp.start()
        self._watcher.start()

    def stop(self) -> None:
        """Stop ingest; live streams are interrupted (their recordings finalised at once)."""
        self._stop.set()
        self.rtmp.stop()
        with self._lock:
            pending = list(self._live.values())
        for live in pending:
            if live.finalize_timer is not None:
                live.finalize_timer.cancel()
            self._finish(live.stream_id)
        self._watcher.join(timeout=5)

    # -- ingest -----------------------------------------------------------------------------------

    def _authorize(self, app: str, key: str, address: str) -> FlvSink:
        if app != "live":
            raise IngestRejectedError(f"unknown application {app!r} (publish to /live/KEY)")
        if ffmpeg_path() is None:
            raise IngestRejectedError("this server cannot package HLS: ffmpeg is not installed")
        answer = self.invoke({"call": "publish", "name": key, "addr": address})
        if not answer.get("ok"):
            raise IngestRejectedError(str(answer.get("reason") or "publish refused"))
        stream_id = str(answer["stream_id"])
        with self._lock:
            live = self._live.get(stream_id)
            if live is not None and live.finalize_timer is not None:
                live.finalize_timer.cancel()
            live = _Live(stream_id=stream_id, key=key)
            self._live[stream_id] = live
        packager = HlsPackager(
            self.live_dir / stream_id,
            segment_s=self.segment_s,
            ladder=answer.get("quality") == "ladder",
        )
        live.packager = packager
        window = float(answer.get("reconnect_window_s") or 10.0)
        log.info("stream %s: publishing (resumed=%s)", stream_id, answer.get("resumed"))
        return _PublishSink(packager, lambda: self._publish_done(stream_id, window))

    def _publish_done(self, stream_id: str, window_s: float) -> None:
        answer = self.invoke({"call": "publish_done", "stream_id": stream_id})
        if answer.get("status") == "ended" or self._stop.is_set():
            self._finish(stream_id)
            return
        timer = threading.Timer(window_s, self._window_passed, args=(stream_id,))
        timer.daemon = True
        with self._lock:
            live = self._live.get(stream_id)
            if live is None:
                return
            live.finalize_timer = timer
        timer.start()

    def _window_passed(self, stream_id: str) -> None:
        status = self.invoke({"call": "status", "stream_ids": [stream_id]})
        if status.get("status", {}).get(stream_id) in ("interrupted", "ended"):
            self._finish(stream_id)

    def _finish(self, stream_id: str) -> None:
        with self._lock:
            if stream_id in self._finalized:
                return
            self._finalized.add(stream_id)
            self._live.pop(stream_id, None)
        self.invoke({"call": "finish", "stream_id": stream_id})
        try:
            self.finalize_recording(stream_id)
        except Exception:  # the stream is ended either way; say why the recording is missing
            log.exception("stream %s: recording could not be finalised", stream_id)

    def finalize_recording(self, stream_id: str) -> None:
        """ENDLIST, thumbnail, upload to ``recordings/<id>/``, then the ended event last."""
        out = self.live_dir / stream_id
        if not (out / PLAYLIST).exists():
            log.warning("stream %s: no media was received, no recording", stream_id)
            return
        publish_recording(out, self.recordings, stream_id)

    # -- watcher ----------------------------------------------------------------------------------

    def _watch(self) -> None:
        last_viewers = 0.0
        while not self._stop.wait(self.watch_interval_s):
            with self._lock:
                active = {sid: live.key for sid, live in self._live.items()
                          if live.finalize_timer is None}
            if active:
                try:
                    status = self.invoke({"call": "status", "stream_ids": sorted(active)})
                except Exception:
                    log.exception("status check failed")
                    continue
                for sid, state in (status.get("status") or {}).items():
                    if state in ("ended", "missing"):
                        self.rtmp.kick(active[sid])
            if time.monotonic() - last_viewers >= 2.0:
                last_viewers = time.monotonic()
                counts = self.viewers.counts()
                if counts:
                    try:
                        self.invoke({"call": "viewers", "counts": counts})
                    except Exception:
                        log.exception("viewer update failed")


def publish_recording(out: Path, recordings: ObjectStore, recording_id: str) -> dict[str, Any]:
    """Post-processing shared by streams and uploads: ``#EXT-X-ENDLIST``, thumbnail,
    duration, every file copied to ``recordings/<id>/``, then
    ``events/recording-ended.json`` last (whose S3 event marks the recording ready, as IVS
    auto-record does on AWS). Returns the event."""
    finish_playlist(out)
    thumbnail = make_thumbnail(out)
    prefix = f"recordings/{recording_id}/"
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in CONTENT_TYPES:
            rel = path.relative_to(out).as_posix()
            with path.open("rb") as handle:
                recordings.put(prefix + rel, handle, content_type=CONTENT_TYPES[path.suffix])
    durations = [playlist_duration_s(p.read_text(encoding="utf-8")) for p in out.rglob("*.m3u8")]
    event = {
        "recording_id": recording_id,
        "duration_s": round(max(durations, default=0.0), 3),
        "thumbnail_key": prefix + "thumbnail.jpg" if thumbnail else None,
        "playlist_key": prefix + PLAYLIST,
    }
    recordings.put(
        prefix + "events/recording-ended.json", json.dumps(event).encode(),
        content_type="application/json",
    )
    log.info("recording %s: uploaded (%.1f s)", recording_id, event["duration_s"])
    return event
