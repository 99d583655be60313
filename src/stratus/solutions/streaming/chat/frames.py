"""Chat frames: what clients send, what they get back, and the rules between the two.

Both chat servers use this module: the local WebSocket server (``chat/server.py``) and, on
AWS, the API Gateway WebSocket API's functions (``entrypoints/chat.py``). A client frame is a
JSON object with a ``type``:

=========  ===================================  ==========================================
type       fields                               answer
=========  ===================================  ==========================================
say        ``text``                             ``message`` to the room
delete     ``id`` (a message id)                ``deleted`` to the room (moderators)
ban/unban  ``user`` (a user id)                 ``room`` to the room (moderators)
slow       ``seconds`` (0 to 3600; 0: off)      ``room`` to the room (moderators)
history    (none)                               ``history`` to the sender (anyone)
=========  ===================================  ==========================================

Anything refused (not JSON, an unknown type, a missing field, not signed in, not a
moderator, banned, slow mode, review) is an ``error`` frame ``{"type": "error", "reason":
...}`` to the sender only. The rules themselves are the service's (``service.post_chat``,
``service.moderate``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import DomainError
from stratus.solutions.streaming.domain.chat import ChatMessage, ChatRoom
from stratus.solutions.streaming.service import AuthError, Caller, Ports
from stratus.solutions.streaming.store import MissingError

Frame = dict[str, Any]
TYPES = ("say", "delete", "ban", "unban", "slow", "history")


class FrameError(ValueError):
    """A client frame that is not one of the protocol's; the text says what is wrong."""


def encode(frame: Frame) -> str:
    """The JSON text of a frame (timestamps as ISO strings)."""
    return json.dumps(frame, default=str)


def error(reason: str) -> Frame:
    return {"type": "error", "reason": reason}


def message(posted: ChatMessage) -> Frame:
    return {"type": "message", **asdict(posted)}


def deleted(message_id: str) -> Frame:
    return {"type": "deleted", "id": message_id}


def room(state: object) -> Frame:
    if not isinstance(state, ChatRoom):
        return {"type": "room"}
    return {"type": "room", "channel_id": state.channel_id, "slow_mode_s": state.slow_mode_s,
            "banned": sorted(state.banned)}


def history(ports: Ports, channel_id: str) -> Frame:
    """The room's latest messages (none for a channel without a room)."""
    try:
        messages = ports.store.chat_history(channel_id)
    except MissingError:
        messages = []
    return {"type": "history", "messages": [asdict(m) for m in messages]}


@dataclass(frozen=True)
class Outcome:
    """What one client frame gives: an event for every connection of the room, a frame for
    the sender only, or both (each may be None)."""

    broadcast: Frame | None = None
    reply: Frame | None = None


def parse(raw: str | bytes | None) -> Frame:
    """The client frame as a dict with a known ``type``; FrameError otherwise."""
    if raw is None or raw in ("", b""):
        raise FrameError("empty frame: send a JSON object with a type")
    try:
        frame = json.loads(raw)
    except ValueError as exc:
        raise FrameError(f"frame is not JSON ({exc})") from exc
    if not isinstance(frame, dict):
        raise FrameError("frame must be a JSON object with a type")
    kind = frame.get("type")
    if kind not in TYPES:
        raise FrameError(f"type: one of {', '.join(TYPES)} (got {kind!r})")
    return frame


def _text(frame: Frame, name: str) -> str:
    value = frame.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FrameError(f"{frame['type']}: {name} is required (a string)")
    return value


def _seconds(frame: Frame) -> int:
    value = frame.get("seconds")
    if isinstance(value, bool) or value is None:
        raise FrameError("slow: seconds is required (a whole number, 0 turns slow mode off)")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise FrameError(f"slow: seconds must be a whole number, not {value!r}") from exc


def handle(ports: Ports, who: Caller | None, channel_id: str, raw: str | bytes | None) -> Outcome:
    """Run one client frame of ``who`` (None: not signed in) in the room of ``channel_id``."""
    try:
        frame = parse(raw)
        kind = frame["type"]
        if kind == "history":
            return Outcome(reply=history(ports, channel_id))
        if who is None:
            raise AuthError("sign in to chat")
        if kind == "say":
            posted = service.post_chat(ports, who, channel_id, _text(frame, "text"))
            return Outcome(broadcast=message(posted))
        if kind == "delete":
            target = _text(frame, "id")
            service.moderate(ports, who, channel_id, "delete", target=target)
            return Outcome(broadcast=deleted(target))
        if kind in ("ban", "unban"):
            state = service.moderate(ports, who, channel_id, kind, target=_text(frame, "user"))
            return Outcome(broadcast=room(state))
        state = service.moderate(ports, who, channel_id, "slow", seconds=_seconds(frame))
        return Outcome(broadcast=room(state))
    except (ValueError, TypeError, DomainError, AuthError, MissingError) as exc:
        return Outcome(reply=error(str(exc)))
