"""Channels, streams (sessions) and recordings.

A stream goes scheduled -> live -> (interrupted -> live)* -> ended. When the encoder drops and
publishes again with the same key within the reconnect window, the same stream continues
(same id, same recording); after the window it ends. Recordings are private until published.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from stratus.solutions.streaming.domain import ConflictError, DomainError

THEMES = ("light", "dark", "sunset", "ocean")


class StreamStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    INTERRUPTED = "interrupted"
    ENDED = "ended"


class Visibility(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"


@dataclass(frozen=True)
class Channel:
    """An owner's channel: page customisation included."""

    channel_id: str
    owner_id: str
    name: str
    description: str = ""
    theme: str = "dark"
    cover_key: str | None = None
    live_stream_id: str | None = None

    def customise(self, *, theme: str | None, description: str | None) -> Channel:
        """Theme from :data:`THEMES`; DomainError otherwise."""
        if theme is not None and theme not in THEMES:
            raise DomainError(f"theme: one of {', '.join(THEMES)}")
        return replace(
            self,
            theme=theme if theme is not None else self.theme,
            description=description if description is not None else self.description,
        )


@dataclass(frozen=True)
class Stream:
    """One broadcast of a channel."""

    stream_id: str
    channel_id: str
    title: str
    status: StreamStatus
    created_at: datetime
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    interrupted_at: datetime | None = None
    device_id: str | None = None
    reconnects: int = 0
    viewers: int = 0

    def go_live(self, device_id: str, now: datetime) -> Stream:
        """A scheduled stream starts."""
        if self.status is not StreamStatus.SCHEDULED:
            raise ConflictError(f"stream {self.stream_id} is {self.status}, not scheduled")
        return replace(
            self, status=StreamStatus.LIVE, started_at=now, device_id=device_id
        )

    def interrupt(self, now: datetime) -> Stream:
        """The encoder disconnected: the reconnect window opens."""
        if self.status is not StreamStatus.LIVE:
            return self
        return replace(self, status=StreamStatus.INTERRUPTED, interrupted_at=now)

    def can_resume(self, now: datetime, window: timedelta) -> bool:
        """True when a publish now continues this stream."""
        return (
            self.status is StreamStatus.INTERRUPTED
            and self.interrupted_at is not None
            and now - self.interrupted_at <= window
        )

    def resume(self, now: datetime, window: timedelta) -> Stream:
        """The encoder is back within the window."""
        if not self.can_resume(now, window):
            raise ConflictError(f"stream {self.stream_id} cannot be resumed")
        return replace(
            self, status=StreamStatus.LIVE, interrupted_at=None, reconnects=self.reconnects + 1
        )

    def end(self, now: datetime) -> Stream:
        """Stopped by the owner, or the window passed."""
        if self.status is StreamStatus.ENDED:
            return self
        return replace(self, status=StreamStatus.ENDED, ended_at=now)


@dataclass(frozen=True)
class Recording:
    """The recording of a stream (or an uploaded video)."""

    recording_id: str
    channel_id: str
    title: str
    created_at: datetime
    visibility: Visibility = Visibility.PRIVATE
    ready: bool = False
    duration_s: float = 0.0
    playlist_key: str = ""
    thumbnail_key: str | None = None
    source: str = "stream"
    """``stream`` (recorded live) or ``upload`` (a video file the owner uploaded)."""
    quality: str = "passthrough"
    """An upload's rendition choice: ``passthrough`` or ``ladder`` (as a device's)."""
    error: str = ""
    """Why processing failed (an upload that is not a playable video); empty otherwise."""

    def publish(self) -> Recording:
        """Public from now on; ConflictError before processing finished."""
        if not self.ready:
            raise ConflictError("recording: still processing")
        return replace(self, visibility=Visibility.PUBLIC)

    def unpublish(self) -> Recording:
        return replace(self, visibility=Visibility.PRIVATE)


def check_title(title: str) -> str:
    """Stripped, 1..120 characters."""
    cleaned = title.strip()
    if not 1 <= len(cleaned) <= 120:
        raise DomainError("title: 1 to 120 characters")
    return cleaned
