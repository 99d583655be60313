from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import DomainError
from stratus.solutions.streaming.domain.chat import (
    ChatRejectedError,
    ChatRoom,
    Verdict,
    default_review,
)
from stratus.solutions.streaming.service import Caller, Ports

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_slow_mode_spaces_posts_of_viewers_but_not_of_moderators() -> None:
    room = ChatRoom("c", "owner").slow_mode("owner", 30)
    _, room = room.check_post("v", "hi", NOW)
    with pytest.raises(ChatRejectedError, match="slow mode"):
        room.check_post("v", "again", NOW + timedelta(seconds=10))
    _, room = room.check_post("v", "again", NOW + timedelta(seconds=30))
    _, room = room.check_post("owner", "one", NOW)
    room.check_post("owner", "two", NOW)


def test_banned_users_cannot_post_and_only_moderators_ban() -> None:
    room = ChatRoom("c", "owner")
    with pytest.raises(ChatRejectedError):
        room.ban("v", "w")
    room = room.ban("owner", "v")
    with pytest.raises(ChatRejectedError, match="banned"):
        room.check_post("v", "hi", NOW)
    with pytest.raises(DomainError):
        room.ban("owner", "owner")
    room.unban("owner", "v").check_post("v", "hi", NOW)


def test_the_review_hook_masks_or_blocks() -> None:
    room = ChatRoom("c", "owner")
    review = default_review(frozenset({"spoiler"}))
    text, _ = room.check_post("v", "big SPOILER here", NOW, review)
    assert "spoiler" not in text.lower()
    assert "removed by review" in text
    with pytest.raises(ChatRejectedError, match="review"):
        room.check_post("v", "anything", NOW, lambda _t: Verdict.BLOCK)
    with pytest.raises(ChatRejectedError):
        room.check_post("v", "   ", NOW)
    with pytest.raises(ChatRejectedError):
        room.check_post("v", "x" * 501, NOW)


def test_chat_through_the_service_persists_and_moderates(
    ports: Ports, owner: Caller, viewer: Caller, clock: FakeClock
) -> None:
    channel = service.create_channel(ports, owner, "Stage")
    message = service.post_chat(ports, viewer, channel.channel_id, "hello")
    assert [m.text for m in ports.store.chat_history(channel.channel_id)] == ["hello"]
    with pytest.raises(ChatRejectedError):
        service.moderate(ports, viewer, channel.channel_id, "delete", target=message.message_id)
    service.moderate(ports, owner, channel.channel_id, "delete", target=message.message_id)
    history = ports.store.chat_history(channel.channel_id)
    assert history[0].deleted
    assert history[0].text == ""
    service.moderate(ports, owner, channel.channel_id, "slow", seconds=60)
    clock.advance(61)
    service.post_chat(ports, viewer, channel.channel_id, "one")
    with pytest.raises(ChatRejectedError):
        service.post_chat(ports, viewer, channel.channel_id, "two")
    clock.advance(61)
    service.post_chat(ports, viewer, channel.channel_id, "two")
    service.moderate(ports, owner, channel.channel_id, "ban", target=viewer.user_id)
    clock.advance(61)
    with pytest.raises(ChatRejectedError, match="banned"):
        service.post_chat(ports, viewer, channel.channel_id, "three")
    with pytest.raises(DomainError):
        service.moderate(ports, owner, channel.channel_id, "explode")
