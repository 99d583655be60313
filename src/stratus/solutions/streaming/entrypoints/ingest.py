"""Ingest hook: the media server asks before and tells after each publish.

Locally the RTMP server invokes this function (like nginx-rtmp's ``on_publish`` /
``on_publish_done`` hooks); on AWS the same calls come from the IVS stream-state events.
Events: ``{"call": "publish", "name": KEY}``, ``{"call": "publish_done", "stream_id": ID}``,
``{"call": "finish", "stream_id": ID}``, ``{"call": "status", "stream_ids": [...]}``,
``{"call": "viewers", "counts": {ID: N}}``, ``{"call": "reset"}`` (the media server
restarted: end the streams it was serving).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from stratus.solutions.streaming import bootstrap, service
from stratus.solutions.streaming.domain import DomainError
from stratus.solutions.streaming.store import MissingError


class IngestEvent(BaseModel):
    call: str
    name: str = ""
    stream_id: str = ""
    stream_ids: list[str] = []
    counts: dict[str, int] = {}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one ingest call; ``ok: false`` with a reason when a publish is refused."""
    try:
        call = IngestEvent.model_validate(event)
    except ValidationError as exc:
        return {"ok": False, "reason": f"bad ingest event: {exc.error_count()} error(s)"}
    ports = bootstrap.ports()
    try:
        if call.call == "publish":
            grant = service.start_publish(ports, call.name)
            return {"ok": True, "stream_id": grant.stream.stream_id, "resumed": grant.resumed,
                    "channel_id": grant.stream.channel_id, "quality": grant.device.quality.value,
                    "reconnect_window_s": ports.reconnect_window_s}
        if call.call == "publish_done":
            stream = service.end_publish(ports, call.stream_id)
            return {"ok": True, "status": stream.status.value}
        if call.call == "finish":
            stream = service.finish_stream(ports, call.stream_id)
            return {"ok": True, "status": stream.status.value}
        if call.call == "status":
            found: dict[str, str] = {}
            for sid in call.stream_ids:
                try:
                    found[sid] = ports.store.stream(sid).status.value
                except MissingError:
                    found[sid] = "missing"
            return {"ok": True, "status": found}
        if call.call == "reset":
            return {"ok": True, "ended": service.end_orphaned_streams(ports)}
        if call.call == "viewers":
            for sid, count in call.counts.items():
                ports.store.set_viewers(sid, max(count, 0))
            return {"ok": True}
    except (DomainError, MissingError) as exc:
        return {"ok": False, "reason": str(exc)}
    return {"ok": False, "reason": f"unknown call {call.call!r}"}
