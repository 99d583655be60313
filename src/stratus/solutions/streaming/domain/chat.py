"""Chat rooms (one per channel) and their moderation: delete, ban, slow mode, review hook.

The room's rules are pure: :meth:`ChatRoom.check_post` says whether a user may post now and
what the review hook decided; persistence and delivery live elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from stratus.solutions.streaming.domain import DomainError

MAX_MESSAGE = 500
MAX_SLOW_MODE_S = 3600


class ChatRejectedError(DomainError):
    """The message is not posted; the text says why."""


class Verdict(StrEnum):
    """What the review hook says about a message."""

    ALLOW = "allow"
    MASK = "mask"
    BLOCK = "block"


ReviewHook = Callable[[str], Verdict]


def default_review(blocked_words: frozenset[str]) -> ReviewHook:
    """A word-list reviewer: masks messages containing a blocked word."""

    def review(text: str) -> Verdict:
        words = {w.strip(".,!?").lower() for w in text.split()}
        return Verdict.MASK if words & blocked_words else Verdict.ALLOW

    return review


@dataclass(frozen=True)
class ChatMessage:
    """A posted message."""

    message_id: str
    channel_id: str
    user_id: str
    user_name: str
    text: str
    at: datetime
    deleted: bool = False


@dataclass(frozen=True)
class ChatRoom:
    """Moderation state of a channel's room."""

    channel_id: str
    owner_id: str
    banned: frozenset[str] = frozenset()
    slow_mode_s: int = 0
    moderators: frozenset[str] = frozenset()
    last_post: Mapping[str, datetime] = field(default_factory=dict)

    def is_moderator(self, user_id: str) -> bool:
        return user_id == self.owner_id or user_id in self.moderators

    def check_post(
        self, user_id: str, text: str, now: datetime, review: ReviewHook | None = None
    ) -> tuple[str, ChatRoom]:
        """The text to post and the room after the post; ChatRejectedError when refused."""
        cleaned = text.strip()
        if not cleaned:
            raise ChatRejectedError("empty message")
        if len(cleaned) > MAX_MESSAGE:
            raise ChatRejectedError(f"message longer than {MAX_MESSAGE} characters")
        if user_id in self.banned:
            raise ChatRejectedError("you are banned from this chat")
        last = self.last_post.get(user_id)
        if (
            self.slow_mode_s
            and not self.is_moderator(user_id)
            and last is not None
            and now - last < timedelta(seconds=self.slow_mode_s)
        ):
            wait = self.slow_mode_s - int((now - last).total_seconds())
            raise ChatRejectedError(f"slow mode: wait {wait} s")
        verdict = review(cleaned) if review else Verdict.ALLOW
        if verdict is Verdict.BLOCK:
            raise ChatRejectedError("message held by review")
        if verdict is Verdict.MASK:
            cleaned = "*" * min(len(cleaned), 12) + " (removed by review)"
        return cleaned, replace(self, last_post={**self.last_post, user_id: now})

    def ban(self, by: str, user_id: str) -> ChatRoom:
        self._moderator(by)
        if user_id == self.owner_id:
            raise DomainError("the channel owner cannot be banned")
        return replace(self, banned=self.banned | {user_id})

    def unban(self, by: str, user_id: str) -> ChatRoom:
        self._moderator(by)
        return replace(self, banned=self.banned - {user_id})

    def slow_mode(self, by: str, seconds: int) -> ChatRoom:
        self._moderator(by)
        if not 0 <= seconds <= MAX_SLOW_MODE_S:
            raise DomainError(f"slow mode: 0 to {MAX_SLOW_MODE_S} seconds")
        return replace(self, slow_mode_s=seconds)

    def check_delete(self, by: str) -> None:
        """Only moderators delete messages."""
        self._moderator(by)

    def _moderator(self, user_id: str) -> None:
        if not self.is_moderator(user_id):
            raise ChatRejectedError("only the channel's moderators can do this")
