"""WebSocket chat over loopback: delivery to every viewer, moderation, and Redis fan-out."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from .conftest import Platform


def _recv(conn: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(conn.recv(timeout=10))
        if frame["type"] == kind:
            return dict(frame)


def test_chat_delivers_to_every_viewer_and_moderation_works(platform: Platform) -> None:
    owner = platform.owner()
    channel_id = platform.pair(owner)["device"]["channel_id"]
    _, reg = platform.api("POST", "/auth/register",
                               {"email": "vic@example.com", "password": "another pass 2"})
    viewer = reg["token"]
    url = f"{platform.site.chat.url}/chat/{channel_id}"
    with connect(f"{url}?token={owner}") as mod, connect(f"{url}?token={viewer}") as vic, \
            connect(url) as anon:
        for conn in (mod, vic, anon):
            assert _recv(conn, "history")["messages"] == []
        vic.send(json.dumps({"type": "say", "text": "hello"}))
        seen = [_recv(conn, "message") for conn in (mod, vic, anon)]
        assert {m["text"] for m in seen} == {"hello"}
        anon.send(json.dumps({"type": "say", "text": "me too"}))
        assert "sign in" in _recv(anon, "error")["reason"]
        vic.send(json.dumps({"type": "delete", "id": seen[0]["message_id"]}))
        assert "moderators" in _recv(vic, "error")["reason"]
        mod.send(json.dumps({"type": "delete", "id": seen[0]["message_id"]}))
        assert _recv(anon, "deleted")["id"] == seen[0]["message_id"]
        mod.send(json.dumps({"type": "ban", "user": seen[0]["user_id"]}))
        assert _recv(vic, "room")["banned"] == [seen[0]["user_id"]]
        vic.send(json.dumps({"type": "say", "text": "let me in"}))
        assert "banned" in _recv(vic, "error")["reason"]
        vic.send("not json")
        assert _recv(vic, "error")
    history = platform.api("GET", f"/channels/{channel_id}/chat")[1]["messages"]
    assert [m["deleted"] for m in history] == [True]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_redis_fans_out_between_two_chat_servers(platform: Platform) -> None:
    from stratus.solutions.streaming.chat.server import ChatServer

    owner = platform.owner()
    channel_id = platform.pair(owner)["device"]["channel_id"]
    ports = platform.site.ports
    first = ChatServer(ports, port=0, redis_url="redis://127.0.0.1:6379/0")
    second = ChatServer(ports, port=0, redis_url="redis://127.0.0.1:6379/0")
    first.start()
    second.start()
    try:
        with connect(f"{first.url}/chat/{channel_id}?token={owner}") as a, \
                connect(f"{second.url}/chat/{channel_id}") as b:
            _recv(a, "history")
            _recv(b, "history")
            a.send(json.dumps({"type": "say", "text": "across processes"}))
            assert _recv(b, "message")["text"] == "across processes"
    finally:
        first.stop()
        second.stop()
