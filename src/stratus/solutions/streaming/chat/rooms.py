"""Chat through API Gateway's WebSocket API: one function call per connect, frame and
disconnect, the rooms in the connections table (the local server keeps sockets instead).

The rules and frames are the local server's (:mod:`.frames`); what differs is delivery:

- ``connect`` (route ``$connect``): the channel must exist; the optional token is checked
  with ``service.authenticate``, as the HTTP API does. A refused token still connects as a
  reader, as on the local server, and the reason is sent with the history. Nothing is sent
  here: API Gateway accepts posts to a connection only after ``$connect`` has returned, so
  the client asks for the history with a ``{"type": "history"}`` frame once it is open.
- ``receive`` (route ``$default``): the frame runs through :func:`.frames.handle`; an event
  goes to every connection of the room (``PostToConnection``, a few at a time), a reply or an
  error to the sender only. A connection that answers gone is forgotten.
- ``disconnect`` (route ``$disconnect``): the connection is forgotten.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from stratus.platform.ports import PortError
from stratus.solutions.streaming import service
from stratus.solutions.streaming.chat import frames
from stratus.solutions.streaming.chat.connections import (
    MAX_CONNECTION_S,
    ChatConnection,
    ConnectionPoster,
    ConnectionStore,
)
from stratus.solutions.streaming.domain.accounts import Role
from stratus.solutions.streaming.service import AuthError, Caller, Ports

log = logging.getLogger("stratus.streaming.chat")
POST_WORKERS = 16
"""Posts in flight at once when an event goes to a room (each is one HTTPS call on AWS)."""


def connect(
    ports: Ports, connections: ConnectionStore, connection_id: str, channel_id: str,
    token: str | None, connected_at_s: int,
) -> ChatConnection:
    """Join ``channel_id``'s room; MissingError when there is no such channel."""
    ports.store.channel(channel_id)
    who: Caller | None = None
    refused = ""
    if token:
        try:
            who = service.authenticate(ports, token)
        except AuthError as exc:
            refused = str(exc)
    connection = ChatConnection(
        connection_id=connection_id, channel_id=channel_id, connected_at=connected_at_s,
        expires_at=connected_at_s + MAX_CONNECTION_S,
        user_id=None if who is None else who.user_id,
        role=Role.VIEWER if who is None else who.role,
        name="" if who is None else who.name, auth_error=refused,
    )
    connections.add(connection)
    return connection


def disconnect(connections: ConnectionStore, connection_id: str) -> ChatConnection | None:
    """Forget the connection (None when it was not known)."""
    return connections.remove(connection_id)


@dataclass
class Delivery:
    """What one frame did: frames sent to the sender, deliveries of the room's event, and
    connections found gone (and forgotten)."""

    replies: int = 0
    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    failed: int = 0


def _send(
    connections: ConnectionStore, poster: ConnectionPoster, connection_id: str,
    frame: frames.Frame, delivery: Delivery,
) -> None:
    try:
        sent = poster.post(connection_id, frames.encode(frame))
    except PortError as exc:
        log.error("chat: reply to %s failed: %s", connection_id, exc)
        delivery.failed += 1
        return
    if sent:
        delivery.replies += 1
    else:
        connections.remove(connection_id)
        delivery.gone.append(connection_id)


def fan_out(
    connections: ConnectionStore, poster: ConnectionPoster, channel_id: str,
    frame: frames.Frame, delivery: Delivery | None = None,
) -> Delivery:
    """Post ``frame`` to every connection of the room; forget those that are gone."""
    delivery = delivery if delivery is not None else Delivery()
    text = frames.encode(frame)
    targets = connections.in_room(channel_id)

    def post(connection_id: str) -> bool | None:
        try:
            return poster.post(connection_id, text)
        except PortError as exc:  # one broken post must not stop the room's others
            log.error("chat: post to %s failed: %s", connection_id, exc)
            return None

    if not targets:
        return delivery
    with ThreadPoolExecutor(max_workers=min(POST_WORKERS, len(targets))) as pool:
        results = list(pool.map(post, targets))
    for connection_id, sent in zip(targets, results, strict=True):
        if sent is None:
            delivery.failed += 1
        elif sent:
            delivery.delivered += 1
        else:
            connections.remove(connection_id)
            delivery.gone.append(connection_id)
    return delivery


def receive(
    ports: Ports, connections: ConnectionStore, poster: ConnectionPoster, connection_id: str,
    body: str | bytes | None,
) -> Delivery:
    """One client frame of ``connection_id``."""
    delivery = Delivery()
    connection = connections.get(connection_id)
    if connection is None:
        _send(connections, poster, connection_id, frames.error(
            "this connection is in no room: connect again with ?channel=<channel id>"), delivery)
        return delivery
    outcome = frames.handle(ports, connection.caller, connection.channel_id, body)
    if outcome.reply is not None:
        if connection.auth_error and outcome.reply["type"] == "history":
            _send(connections, poster, connection_id, frames.error(connection.auth_error),
                  delivery)
        _send(connections, poster, connection_id, outcome.reply, delivery)
    if outcome.broadcast is not None:
        fan_out(connections, poster, connection.channel_id, outcome.broadcast, delivery)
    return delivery
