"""Post-stream processing done: a recording's ``events/recording-ended.json`` landed.

The S3 object-created event (prefix ``recordings/``, suffix ``recording-ended.json``)
triggers this function: the local media service and the upload transcoder write
``recordings/<id>/events/recording-ended.json`` last, as IVS auto-record does. It marks the
recording ready with its duration and thumbnail; it stays private until the owner publishes.
IVS's own recordings (``ivs/v1/...``, another schema) come through the ``IVS Recording State
Change`` event instead (``entrypoints/ivs.py``); such keys are skipped here.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import unquote_plus

from stratus.platform.ports import PortError
from stratus.solutions.streaming import bootstrap, service
from stratus.solutions.streaming.store import MissingError

log = logging.getLogger("stratus.streaming.recordings")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process every S3 record; returns how many recordings became ready."""
    ports = bootstrap.ports()
    ready = 0
    for record in event.get("Records", []):
        key = unquote_plus(str(record.get("s3", {}).get("object", {}).get("key", "")))
        if not key.startswith("recordings/") or not key.endswith("events/recording-ended.json"):
            continue
        try:
            info = json.loads(ports.recordings.get(key))
            service.recording_ready(
                ports, str(info["recording_id"]), float(info.get("duration_s", 0.0)),
                info.get("thumbnail_key"),
            )
            ready += 1
        except (PortError, MissingError, ValueError, KeyError) as exc:
            log.error("recording event %s: %s", key, exc)
    return {"ready": ready}
