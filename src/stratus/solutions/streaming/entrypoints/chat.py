"""Chat on AWS: the API Gateway WebSocket API's three routes (Lambda proxy integrations).

Clients connect to ``wss://<api>.execute-api.<region>.amazonaws.com/<stage>?channel=<channel
id>[&token=<session token>]`` and send the local chat server's JSON frames (route selection
``$request.body.type``; every frame takes ``$default``). Once open, a client sends
``{"type": "history"}``: nothing can be posted to it during ``$connect``.

- ``connect_handler`` (``$connect``): 200 joins the room; 400 without ``channel``, 404 for an
  unknown channel (API Gateway then refuses the upgrade with that status).
- ``message_handler`` (``$default``): a frame; answers go out by PostToConnection (to the
  room, or an ``error`` frame to the sender), so the function always returns 200: a bad
  frame is the sender's error frame, never a failed invocation.
- ``disconnect_handler`` (``$disconnect``): forget the connection.

Connections live in ``CONNECTIONS_TABLE``; the rules are those of the HTTP API and of the
local WebSocket server (:mod:`stratus.solutions.streaming.chat.rooms`).
"""

from __future__ import annotations

import base64
import logging
import os
from typing import Any

from pydantic import BaseModel, ValidationError

from stratus.solutions.streaming import bootstrap
from stratus.solutions.streaming.chat import rooms
from stratus.solutions.streaming.chat.connections import ConnectionStore, endpoint_url
from stratus.solutions.streaming.store import MissingError

log = logging.getLogger("stratus.streaming.chat")


class RequestContext(BaseModel):
    """The part of a WebSocket event's ``requestContext`` the routes use."""

    routeKey: str  # noqa: N815 - API Gateway's field names
    eventType: str  # noqa: N815
    connectionId: str  # noqa: N815
    domainName: str  # noqa: N815
    stage: str
    connectedAt: int = 0  # noqa: N815 - epoch milliseconds
    requestTimeEpoch: int = 0  # noqa: N815


def _context(event: dict[str, Any], expected: str) -> RequestContext | None:
    try:
        context = RequestContext.model_validate(event.get("requestContext"))
    except ValidationError as exc:
        log.error("not an API Gateway WebSocket event (%d error(s)): %s", exc.error_count(), exc)
        return None
    if context.eventType != expected:
        log.error("a %s event reached the %s handler", context.eventType, expected)
        return None
    return context


def _answer(status: int, body: str = "") -> dict[str, Any]:
    return {"statusCode": status, "body": body} if body else {"statusCode": status}


def _connections() -> ConnectionStore:
    return bootstrap.chat_connections(os.environ["CONNECTIONS_TABLE"])


def connect_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``$connect``: join the room of ``?channel=``; ``?token=`` signs the client in."""
    request = _context(event, "CONNECT")
    if request is None:
        return _answer(400, "not an API Gateway WebSocket $connect event")
    query = event.get("queryStringParameters") or {}
    channel = str(query.get("channel") or "").strip()
    if not channel:
        return _answer(400, "channel: required (?channel=<channel id>)")
    connected_ms = request.connectedAt or request.requestTimeEpoch
    try:
        rooms.connect(bootstrap.ports(), _connections(), request.connectionId, channel,
                      query.get("token") or None, connected_ms // 1000)
    except MissingError:
        return _answer(404, f"channel {channel}: not found")
    return _answer(200)


def disconnect_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``$disconnect``: forget the connection (API Gateway sends it on a best-effort basis)."""
    request = _context(event, "DISCONNECT")
    if request is None:
        return _answer(400, "not an API Gateway WebSocket $disconnect event")
    rooms.disconnect(_connections(), request.connectionId)
    return _answer(200)


def message_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``$default``: one client frame; the answers go out by PostToConnection."""
    request = _context(event, "MESSAGE")
    if request is None:
        return _answer(400, "not an API Gateway WebSocket message event")
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):  # a binary frame
        body = base64.b64decode(body)
    poster = bootstrap.connection_poster(endpoint_url(request.domainName, request.stage))
    delivery = rooms.receive(bootstrap.ports(), _connections(), poster,
                             request.connectionId, body)
    log.info("chat frame of %s: %d replies, %d deliveries, %d gone, %d failed",
             request.connectionId, delivery.replies, delivery.delivered, len(delivery.gone),
             delivery.failed)
    return _answer(200)
