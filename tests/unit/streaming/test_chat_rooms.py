"""The chat frames both chat servers share, and the rooms of the API Gateway chat, on the real
local adapters (SQLite table), the in-memory connection poster and a fake clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.ports import BackendUnavailableError, TableSpec
from stratus.platform.runtime.resources import LocalResources
from stratus.solutions.streaming import service
from stratus.solutions.streaming.chat import frames, rooms
from stratus.solutions.streaming.chat.connections import (
    MAX_CONNECTION_S,
    ConnectionStore,
    MemoryConnectionPoster,
)
from stratus.solutions.streaming.service import Caller, Ports


@pytest.fixture
def channel_id(ports: Ports, owner: Caller) -> str:
    return service.create_channel(ports, owner, "Stage").channel_id


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> ConnectionStore:
    resources = LocalResources(tmp_path / "connections", clock=clock)
    return ConnectionStore(resources.create_table(
        TableSpec(name="connections", ttl_attribute="ExpiresAt")), clock)


def test_frames_run_the_service_rules(
    ports: Ports, owner: Caller, viewer: Caller, channel_id: str
) -> None:
    said = frames.handle(ports, viewer, channel_id, json.dumps({"type": "say", "text": "hi"}))
    assert said.reply is None
    assert said.broadcast is not None
    assert (said.broadcast["type"], said.broadcast["text"]) == ("message", "hi")

    refused = frames.handle(ports, viewer, channel_id, '{"type": "slow", "seconds": 9}')
    assert refused == frames.Outcome(
        reply=frames.error("only the channel's moderators can do this"))
    slow = frames.handle(ports, owner, channel_id, '{"type": "slow", "seconds": "9"}')
    assert slow.broadcast == {"type": "room", "channel_id": channel_id, "slow_mode_s": 9,
                              "banned": []}
    history = frames.handle(ports, None, channel_id, b'{"type": "history"}')
    assert history.reply is not None
    assert [m["text"] for m in history.reply["messages"]] == ["hi"]
    assert frames.handle(ports, None, channel_id, '{"type": "say", "text": "x"}') == (
        frames.Outcome(reply=frames.error("sign in to chat")))
    assert frames.handle(ports, owner, "nope", '{"type": "say", "text": "x"}') == (
        frames.Outcome(reply=frames.error("channel not found")))


def test_a_connection_expires_after_api_gateways_two_hours(
    store: ConnectionStore, clock: FakeClock, ports: Ports, channel_id: str
) -> None:
    now = int(clock.now().timestamp())
    connection = rooms.connect(ports, store, "c1=", channel_id, None, now)
    assert connection.expires_at == now + MAX_CONNECTION_S
    assert store.in_room(channel_id) == ["c1="]

    clock.advance(MAX_CONNECTION_S - 1)
    assert store.get("c1=") == connection
    clock.advance(1)
    assert store.get("c1=") is None
    assert store.in_room(channel_id) == []
    assert store.table.expire() == 2  # the TTL process deletes both items


class BrokenPoster(MemoryConnectionPoster):
    """A poster whose posts to one connection fail (API Gateway throttling, say)."""

    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken = broken

    def post(self, connection_id: str, data: str | bytes) -> bool:
        if connection_id == self.broken:
            raise BackendUnavailableError("LimitExceededException")
        return super().post(connection_id, data)


def test_one_failing_post_does_not_stop_the_rest_of_the_room(
    ports: Ports, store: ConnectionStore, viewer: Caller, channel_id: str, clock: FakeClock
) -> None:
    poster = BrokenPoster("bad=")
    now = int(clock.now().timestamp())
    for connection_id in ("bad=", "good=", "gone="):
        rooms.connect(ports, store, connection_id, channel_id, None, now)
    poster.open("good=")
    poster.open("bad=")

    delivery = rooms.fan_out(store, poster, channel_id,
                             frames.message(service.post_chat(ports, viewer, channel_id, "hi")))

    assert (delivery.delivered, delivery.failed, delivery.gone) == (1, 1, ["gone="])
    assert [json.loads(t)["text"] for t in poster.received("good=")] == ["hi"]
    assert sorted(store.in_room(channel_id)) == ["bad=", "good="]  # failed is not gone
