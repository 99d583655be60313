"""Chat on AWS: the API Gateway WebSocket API's functions, run by the local runtime on real
WebSocket event JSON.

``tests/events/apigateway_websocket_*.json`` have the shape of events API Gateway sends to a
Lambda proxy integration (``$connect`` with its query string, ``$default`` with the frame in
``body``, ``$disconnect`` with its status code; ``requestContext`` with ``routeKey``,
``eventType``, ``connectionId``, ``domainName``, ``stage``, ``connectedAt``). :class:`Gateway`
plays API Gateway: it opens a connection on the poster the functions use (locally the
in-memory one of ``bootstrap.local_connection_poster`` for the event's endpoint), invokes the
route's function, and reads what each client received. The adapters are the local ones
(SQLite tables of the runtime).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

import pytest

from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.streaming import bootstrap
from stratus.solutions.streaming.chat.connections import (
    MAX_CONNECTION_S,
    ConnectionStore,
    MemoryConnectionPoster,
)

from .conftest import EVENTS, Api
from .test_handlers import _owner


def sample(route: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"apigateway_websocket_{route}.json").read_text()))


class Gateway:
    """API Gateway's side of one WebSocket API stage, in a test."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.api_id = uuid.uuid4().hex[:10]
        self.domain = f"{self.api_id}.execute-api.us-east-1.amazonaws.com"
        self.poster: MemoryConnectionPoster = bootstrap.local_connection_poster(
            f"https://{self.domain}/dev")
        self.read: dict[str, int] = {}

    def _event(self, route: str, connection_id: str, *, connected_s: float | None = None,
               **fields: Any) -> dict[str, Any]:
        event = copy.deepcopy(sample(route))
        context = event["requestContext"]
        now_ms = int(time.time() * 1000)
        connected_ms = now_ms if connected_s is None else int(connected_s * 1000)
        context.update(connectionId=connection_id, domainName=self.domain, apiId=self.api_id,
                       connectedAt=connected_ms, requestTimeEpoch=now_ms)
        event.update(fields)
        return event

    def connect(self, channel: str | None, token: str | None = None, *,
                connected_s: float | None = None) -> tuple[int, str]:
        """The status $connect answered and the connection id (open when 200)."""
        connection_id = uuid.uuid4().hex[:14] + "="
        query = {k: v for k, v in (("channel", channel), ("token", token)) if v is not None}
        event = self._event("connect", connection_id, connected_s=connected_s,
                            queryStringParameters=query or None,
                            multiValueQueryStringParameters={k: [v] for k, v in query.items()}
                            or None)
        self.poster.open(connection_id)  # API Gateway keeps the upgrade pending meanwhile
        answer = self.runtime.invoke("ChatConnectFunction", event)
        if answer["statusCode"] != 200:
            self.poster.close(connection_id)
        assert self.poster.received(connection_id) == []  # nothing is posted during $connect
        return int(answer["statusCode"]), connection_id

    def join(self, channel: str, token: str | None = None) -> str:
        status, connection_id = self.connect(channel, token)
        assert status == 200
        return connection_id

    def send(self, connection_id: str, body: Any, *, raw: bool = False) -> dict[str, Any]:
        text = body if raw else json.dumps(body)
        answer = self.runtime.invoke("ChatMessageFunction",
                                     self._event("message", connection_id, body=text))
        return dict(answer)

    def drop(self, connection_id: str) -> dict[str, Any]:
        """The client goes: API Gateway closes it, then calls $disconnect."""
        self.poster.close(connection_id)
        return dict(self.runtime.invoke("ChatDisconnectFunction",
                                        self._event("disconnect", connection_id)))

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        """Frames the client received since the last call."""
        received = self.poster.received(connection_id)
        start = self.read.get(connection_id, 0)
        self.read[connection_id] = len(received)
        return [json.loads(text) for text in received[start:]]

    def last(self, connection_id: str, kind: str) -> dict[str, Any]:
        found = [f for f in self.frames(connection_id) if f["type"] == kind]
        assert found, f"{connection_id} received no {kind} frame"
        return found[-1]


class Room:
    """A channel with its owner, a signed-in viewer and an anonymous reader connected."""

    def __init__(self, api: Api, gateway: Gateway) -> None:
        self.api, self.gw = api, gateway
        self.owner_token = _owner(api)
        status, channel = api("POST", "/channels", token=self.owner_token,
                              body={"name": "Live room"})
        assert status == 201
        self.channel_id = str(channel["channel_id"])
        status, reg = api("POST", "/auth/register",
                          body={"email": "vic@example.com", "password": "another pass 2"})
        assert status == 201
        self.viewer_token = str(reg["token"])
        self.viewer_id = str(reg["user"]["user_id"])
        self.owner = gateway.join(self.channel_id, self.owner_token)
        self.viewer = gateway.join(self.channel_id, self.viewer_token)
        self.reader = gateway.join(self.channel_id)

    @property
    def everyone(self) -> tuple[str, str, str]:
        return self.owner, self.viewer, self.reader


@pytest.fixture
def gateway(runtime: LocalRuntime) -> Gateway:
    return Gateway(runtime)


@pytest.fixture
def room(api: Api, gateway: Gateway) -> Room:
    return Room(api, gateway)


def connections(runtime: LocalRuntime) -> ConnectionStore:
    name = runtime.apps[0].tables["ChatConnectionsTable"].spec.name
    return ConnectionStore(runtime.resources.table(name), runtime.resources.clock())


def test_the_template_has_the_websocket_api_and_the_runtime_skips_it(
    runtime: LocalRuntime,
) -> None:
    app = runtime.apps[0]
    assert app.unsupported["ChatApi"] == "AWS::ApiGatewayV2::Api"
    assert app.unsupported["ChatStage"] == "AWS::ApiGatewayV2::Stage"
    assert app.tables["ChatConnectionsTable"].spec.ttl_attribute == "ExpiresAt"
    for name in ("ChatConnectFunction", "ChatDisconnectFunction", "ChatMessageFunction"):
        assert app.functions[name].environment["CONNECTIONS_TABLE"] == (
            app.tables["ChatConnectionsTable"].spec.name)


def test_two_viewers_in_a_room_get_each_message(room: Room, gateway: Gateway) -> None:
    assert gateway.send(room.viewer, {"type": "say", "text": "hello"}) == {"statusCode": 200}

    seen = [gateway.frames(c) for c in room.everyone]
    assert [[f["type"] for f in frames] for frames in seen] == [["message"]] * 3
    message = seen[0][0]
    assert (message["text"], message["user_id"], message["channel_id"]) == (
        "hello", room.viewer_id, room.channel_id)
    assert message["user_name"] == "vic"
    status, history = room.api("GET", "/channels/{channelId}/chat", channelId=room.channel_id)
    assert (status, [m["text"] for m in history["messages"]]) == (200, ["hello"])


def test_history_is_asked_for_once_the_connection_is_open(room: Room, gateway: Gateway) -> None:
    gateway.send(room.owner, {"type": "say", "text": "first"})
    late = gateway.join(room.channel_id)
    assert gateway.frames(late) == []

    gateway.send(late, {"type": "history"})

    history = gateway.frames(late)
    assert [f["type"] for f in history] == ["history"]
    assert [m["text"] for m in history[0]["messages"]] == ["first"]
    assert all(gateway.frames(c)[-1]["type"] == "message" for c in room.everyone)


def test_readers_without_a_session_read_but_cannot_post(room: Room, gateway: Gateway) -> None:
    gateway.send(room.reader, {"type": "say", "text": "me too"})

    assert gateway.frames(room.reader) == [{"type": "error", "reason": "sign in to chat"}]
    assert gateway.frames(room.owner) == []
    assert gateway.frames(room.viewer) == []


def test_a_refused_token_connects_as_a_reader_and_is_told_why(
    room: Room, gateway: Gateway
) -> None:
    connection_id = gateway.join(room.channel_id, "not-a-token")

    gateway.send(connection_id, {"type": "history"})
    first, second = gateway.frames(connection_id)
    assert first["type"] == "error"
    assert first["reason"].startswith("session not valid")
    assert second["type"] == "history"
    gateway.send(connection_id, {"type": "say", "text": "hi"})
    assert gateway.last(connection_id, "error")["reason"] == "sign in to chat"


def test_moderation_by_the_owner_reaches_the_room(room: Room, gateway: Gateway) -> None:
    gateway.send(room.viewer, {"type": "say", "text": "spam spam"})
    message_id = gateway.last(room.owner, "message")["message_id"]
    gateway.frames(room.viewer)
    gateway.frames(room.reader)

    gateway.send(room.owner, {"type": "delete", "id": message_id})
    assert [gateway.last(c, "deleted")["id"] for c in room.everyone] == [message_id] * 3

    gateway.send(room.owner, {"type": "ban", "user": room.viewer_id})
    assert gateway.last(room.reader, "room")["banned"] == [room.viewer_id]
    gateway.send(room.viewer, {"type": "say", "text": "let me in"})
    assert gateway.frames(room.viewer)[-1] == {
        "type": "error", "reason": "you are banned from this chat"}
    assert gateway.frames(room.reader) == []

    gateway.send(room.owner, {"type": "unban", "user": room.viewer_id})
    assert gateway.last(room.viewer, "room")["banned"] == []
    gateway.send(room.owner, {"type": "slow", "seconds": 30})
    assert gateway.last(room.reader, "room")["slow_mode_s"] == 30
    gateway.frames(room.viewer)
    gateway.send(room.viewer, {"type": "say", "text": "again"})  # within 30 s of "spam spam"
    refused = gateway.frames(room.viewer)
    assert [f["type"] for f in refused] == ["error"]
    assert refused[0]["reason"].startswith("slow mode: wait")
    gateway.send(room.owner, {"type": "say", "text": "one"})  # moderators are not slowed
    gateway.send(room.owner, {"type": "say", "text": "two"})
    assert [f["text"] for f in gateway.frames(room.reader)] == ["one", "two"]
    status, history = room.api("GET", "/channels/{channelId}/chat", channelId=room.channel_id)
    assert (status, [(m["text"], m["deleted"]) for m in history["messages"]]) == (200, [
        ("", True), ("one", False), ("two", False)])


@pytest.mark.parametrize("frame", [
    {"type": "delete", "id": "anything"},
    {"type": "ban", "user": "someone"},
    {"type": "unban", "user": "someone"},
    {"type": "slow", "seconds": 5},
])
def test_moderation_is_refused_to_viewers(
    room: Room, gateway: Gateway, frame: dict[str, Any]
) -> None:
    gateway.send(room.viewer, frame)

    assert gateway.frames(room.viewer) == [
        {"type": "error", "reason": "only the channel's moderators can do this"}]
    assert gateway.frames(room.owner) == []


@pytest.mark.parametrize(("body", "reason"), [
    ("not json", "frame is not JSON"),
    ("", "empty frame: send a JSON object with a type"),
    ("[1, 2]", "frame must be a JSON object with a type"),
    ('{"type": "shout", "text": "hi"}', "type: one of say, delete, ban, unban, slow, history"),
    ('{"text": "no type"}', "type: one of say, delete, ban, unban, slow, history (got None)"),
    ('{"type": "say"}', "say: text is required (a string)"),
    ('{"type": "say", "text": 42}', "say: text is required (a string)"),
    ('{"type": "delete"}', "delete: id is required (a string)"),
    ('{"type": "ban", "user": ""}', "ban: user is required (a string)"),
    ('{"type": "slow"}', "slow: seconds is required"),
    ('{"type": "slow", "seconds": "soon"}', "slow: seconds must be a whole number"),
    ('{"type": "say", "text": "' + "x" * 501 + '"}', "message longer than 500 characters"),
])
def test_a_bad_frame_gets_an_error_frame_and_never_a_failure(
    room: Room, gateway: Gateway, body: str, reason: str
) -> None:
    connection_id = room.owner  # the owner: moderation rights do not excuse a bad frame

    assert gateway.send(connection_id, body, raw=True) == {"statusCode": 200}

    received = gateway.frames(connection_id)
    assert [f["type"] for f in received] == ["error"]
    assert received[0]["reason"].startswith(reason)
    assert gateway.frames(room.viewer) == []


def test_a_gone_connection_is_removed_when_a_post_finds_it_gone(
    room: Room, gateway: Gateway, runtime: LocalRuntime
) -> None:
    store = connections(runtime)
    gateway.poster.close(room.reader)  # the client vanished without a $disconnect
    assert room.reader in store.in_room(room.channel_id)

    gateway.send(room.viewer, {"type": "say", "text": "anyone?"})

    assert store.get(room.reader) is None
    assert sorted(store.in_room(room.channel_id)) == sorted([room.owner, room.viewer])
    assert [f["text"] for f in gateway.frames(room.owner)] == ["anyone?"]


def test_disconnect_forgets_the_connection(
    room: Room, gateway: Gateway, runtime: LocalRuntime
) -> None:
    assert gateway.drop(room.viewer) == {"statusCode": 200}
    assert gateway.drop(room.viewer) == {"statusCode": 200}  # API Gateway may repeat it

    store = connections(runtime)
    assert store.get(room.viewer) is None
    assert room.viewer not in store.in_room(room.channel_id)
    gateway.send(room.owner, {"type": "say", "text": "bye"})
    assert gateway.frames(room.viewer) == []


def test_a_frame_from_an_unknown_connection_is_told_to_reconnect(
    room: Room, gateway: Gateway
) -> None:
    stranger = "neverconnected="
    gateway.poster.open(stranger)

    assert gateway.send(stranger, {"type": "say", "text": "hi"}) == {"statusCode": 200}

    assert gateway.frames(stranger) == [{"type": "error", "reason": (
        "this connection is in no room: connect again with ?channel=<channel id>")}]
    assert gateway.frames(room.owner) == []


def test_connections_older_than_api_gateways_two_hours_get_nothing(
    room: Room, gateway: Gateway
) -> None:
    status, stale = gateway.connect(room.channel_id,
                                    connected_s=time.time() - MAX_CONNECTION_S - 5)
    assert status == 200

    gateway.send(room.owner, {"type": "say", "text": "now"})

    assert gateway.frames(stale) == []
    gateway.send(stale, {"type": "history"})
    assert gateway.frames(stale)[0]["reason"].startswith("this connection is in no room")


def test_connect_needs_an_existing_channel(room: Room, gateway: Gateway) -> None:
    assert gateway.connect(None)[0] == 400
    assert gateway.connect("")[0] == 400
    assert gateway.connect("no-such-channel")[0] == 404
    assert gateway.frames(room.owner) == []


def test_events_of_another_route_are_refused_without_a_failure(
    gateway: Gateway, runtime: LocalRuntime
) -> None:
    message = gateway._event("message", "abc=", body="{}")
    assert runtime.invoke("ChatConnectFunction", message)["statusCode"] == 400
    assert runtime.invoke("ChatDisconnectFunction", {"Records": []})["statusCode"] == 400
    assert runtime.invoke("ChatMessageFunction", {})["statusCode"] == 400
