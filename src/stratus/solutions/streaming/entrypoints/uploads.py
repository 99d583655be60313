"""Post-upload processing: an owner's video landed in ``uploads/<id>/source.upload``.

The S3 object-created event (prefix ``uploads/``, suffix ``.upload``) runs this function. It
transcodes the file with ffmpeg into the same HLS layout as a live recording (passthrough
for H.264/AAC, re-encoded otherwise; or the 720p/480p/360p ladder), then hands it to the
recordings' own post-processing (:func:`~stratus.solutions.streaming.media.service.
publish_recording`: thumbnail, duration, upload under ``recordings/<id>/``,
``events/recording-ended.json``), whose event makes the recording ready, private until the
owner publishes it. A file that is not a playable video leaves the recording with an
``error`` its owner sees.

On AWS the function needs ffmpeg on its path (a Lambda layer); MediaConvert is the managed
alternative and is not written.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from stratus.platform.ports import PortError
from stratus.solutions.streaming import bootstrap, service
from stratus.solutions.streaming.media.hls import TranscodeError, transcode_file
from stratus.solutions.streaming.media.service import publish_recording
from stratus.solutions.streaming.service import Ports
from stratus.solutions.streaming.store import MissingError

log = logging.getLogger("stratus.streaming.uploads")
CHUNK = 1024 * 1024


def process_upload(ports: Ports, key: str, work_dir: Path) -> str:
    """Transcode one uploaded file; returns ``ready``, ``failed`` or ``skipped``."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "uploads" or not parts[2].endswith(".upload"):
        return "skipped"
    recording = ports.store.find_recording(parts[1])
    if recording is None or recording.source != "upload" or recording.ready:
        log.warning("upload %s: no recording waits for it", key)
        return "skipped"
    source = work_dir / "source"
    with ports.recordings.open(key) as remote, source.open("wb") as local:
        shutil.copyfileobj(remote, local, CHUNK)
    out = work_dir / "hls"
    try:
        transcode_file(source, out, ladder=recording.quality == "ladder")
    except TranscodeError as exc:
        service.upload_failed(ports, recording.recording_id, str(exc))
        log.warning("upload %s: %s", key, exc)
        return "failed"
    publish_recording(out, ports.recordings, recording.recording_id)
    return "ready"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Process every S3 record; counts by outcome."""
    ports = bootstrap.ports()
    counts = {"ready": 0, "failed": 0, "skipped": 0}
    for record in event.get("Records", []):
        key = unquote_plus(str(record.get("s3", {}).get("object", {}).get("key", "")))
        with tempfile.TemporaryDirectory(prefix="stratus-upload-") as tmp:
            try:
                counts[process_upload(ports, key, Path(tmp))] += 1
            except (PortError, MissingError, OSError) as exc:
                log.error("upload %s: %s", key, exc)
                counts["failed"] += 1
    return counts
