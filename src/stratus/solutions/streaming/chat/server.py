"""WebSocket chat: a room per channel, moderation, fan-out in-process or through Redis.

Clients connect to ``ws://HOST:PORT/chat/<channel id>?token=JWT`` (without a token they only
read). Client frames are JSON: ``{"type": "say", "text": ...}``, and for moderators
``{"type": "delete", "id": MESSAGE}``, ``{"type": "ban"|"unban", "user": USER}``,
``{"type": "slow", "seconds": N}``, and ``{"type": "history"}`` from anyone. The server
sends ``history`` (at once on connecting), ``message``, ``deleted``, ``room`` and ``error``
frames. Frames and rules are shared with the AWS chat: :mod:`.frames`.

With ``redis_url`` every event is published on ``stratus:chat:<channel>`` and each process
delivers what it receives to its own sockets, so several chat processes share rooms. On AWS
chat is an API Gateway WebSocket API (``entrypoints/chat.py``); this server is the local one.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from stratus.solutions.streaming import service
from stratus.solutions.streaming.chat import frames
from stratus.solutions.streaming.service import AuthError, Caller, Ports

log = logging.getLogger("stratus.streaming.chat")
CHANNEL_PREFIX = "stratus:chat:"


class ChatHub:
    """Rooms of local sockets; ``publish`` fans out locally or through Redis pub/sub."""

    def __init__(self, redis_url: str | None = None) -> None:
        self.rooms: dict[str, set[ServerConnection]] = defaultdict(set)
        self._lock = threading.Lock()
        self.delivered = 0
        self._redis: Any = None
        self._pubsub: Any = None
        self._thread: threading.Thread | None = None
        self._closing = False
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            self._pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
            self._thread = threading.Thread(target=self._listen, name="chat-redis", daemon=True)
            self._thread.start()

    def join(self, room: str, conn: ServerConnection) -> None:
        with self._lock:
            self.rooms[room].add(conn)

    def leave(self, room: str, conn: ServerConnection) -> None:
        with self._lock:
            self.rooms[room].discard(conn)

    def size(self, room: str) -> int:
        with self._lock:
            return len(self.rooms.get(room, ()))

    def publish(self, room: str, event: dict[str, Any]) -> None:
        """Deliver ``event`` to every socket of ``room`` (in every process with Redis)."""
        text = frames.encode(event)
        if self._redis is not None:
            self._redis.publish(CHANNEL_PREFIX + room, text)
        else:
            self.deliver(room, text)

    def deliver(self, room: str, text: str) -> None:
        with self._lock:
            targets = list(self.rooms.get(room, ()))
        for conn in targets:
            try:
                conn.send(text)
                self.delivered += 1
            except ConnectionClosed:
                self.leave(room, conn)

    def _listen(self) -> None:
        try:
            self._listen_forever()
        except Exception:  # the pubsub connection closed (shutdown) or broke
            if not self._closing:
                log.exception("redis chat subscriber stopped")

    def _listen_forever(self) -> None:
        for message in self._pubsub.listen():
            if message is None or message.get("type") != "pmessage":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            data = message["data"]
            text = data.decode() if isinstance(data, bytes) else str(data)
            self.deliver(channel.removeprefix(CHANNEL_PREFIX), text)

    def close(self) -> None:
        self._closing = True
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:  # closing a broken Redis connection must not fail shutdown
                log.debug("redis pubsub close failed", exc_info=True)
            if self._thread is not None:
                self._thread.join(timeout=2)


class ChatServer:
    """The WebSocket server on its own loopback port (``port=0``: any free port)."""

    def __init__(
        self, ports: Ports, *, host: str = "127.0.0.1", port: int = 8765,
        redis_url: str | None = None,
    ) -> None:
        self.ports = ports
        self.hub = ChatHub(redis_url)
        self._server: Server = serve(self._handle, host, port)
        self.host = host
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="streaming-chat", daemon=True
        )

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self.hub.close()
        self._thread.join(timeout=5)

    def _handle(self, conn: ServerConnection) -> None:
        request = conn.request
        split = urlsplit(request.path if request is not None else "/")
        parts = [p for p in split.path.split("/") if p]
        if len(parts) != 2 or parts[0] != "chat":
            conn.close(1008, "connect to /chat/<channel id>")
            return
        room = parts[1]
        token = (parse_qs(split.query).get("token") or [""])[0]
        who: Caller | None = None
        if token:
            try:
                who = service.authenticate(self.ports, token)
            except AuthError as exc:
                conn.send(frames.encode(frames.error(str(exc))))
        self.hub.join(room, conn)  # before the history: nothing posted after it is missed
        conn.send(frames.encode(frames.history(self.ports, room)))
        try:
            for raw in conn:
                self._on_frame(conn, room, who, raw)
        except ConnectionClosed:
            pass
        finally:
            self.hub.leave(room, conn)

    def _on_frame(
        self, conn: ServerConnection, room: str, who: Caller | None, raw: str | bytes
    ) -> None:
        outcome = frames.handle(self.ports, who, room, raw)
        if outcome.reply is not None:
            conn.send(frames.encode(outcome.reply))
        if outcome.broadcast is not None:
            self.hub.publish(room, outcome.broadcast)
