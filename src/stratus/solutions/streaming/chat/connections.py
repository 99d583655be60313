"""Chat connections of the API Gateway WebSocket API: who is connected to which room, and
how to push a frame to one of them.

- :class:`ConnectionPoster` (the solution's port): ``post(connection_id, data) -> bool``,
  False when the connection is gone. :class:`ApiGatewayConnectionPoster` on AWS (boto3's
  ``apigatewaymanagementapi`` in ``platform/adapters/aws/apigatewaymanagement.py``, the only
  place its calls are made); :class:`MemoryConnectionPoster` stands in for API Gateway's side
  of the connections locally and in tests (it knows which connections are open and keeps
  what each received). Both refuse a message over API Gateway's 128 KB before sending.
- :class:`ConnectionStore`: the connections on their own table (``CONNECTIONS_TABLE``):

  ==============================  =================================================
  PK / SK                         what
  ==============================  =================================================
  ``CONN#<connection id>/META``   the connection: channel, user, role, name, expiry
  ``ROOM#<channel id>/CONN#<id>`` the room index: one item per connection of a room
  ==============================  =================================================

  Both items carry ``ExpiresAt`` (epoch seconds, the table's TTL attribute): API Gateway
  closes a connection after two hours at most, and its ``$disconnect`` is best effort, so a
  connection whose ``$disconnect`` never came is removed by TTL, or at once when a post to
  it answers gone. Reads skip expired items (DynamoDB deletes them up to days late).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stratus.platform.ports import Clock, MessageTooLargeError, TableStore
from stratus.platform.ports.table import Delete, Put
from stratus.solutions.streaming.domain.accounts import Role
from stratus.solutions.streaming.service import Caller

if TYPE_CHECKING:
    from stratus.platform.adapters.aws.apigatewaymanagement import ConnectionsClient

MAX_PAYLOAD_BYTES = 128 * 1024
"""API Gateway's largest WebSocket message (its frames are 32 KB; it splits longer ones)."""
MAX_CONNECTION_S = 2 * 3600
"""API Gateway closes every WebSocket connection after two hours."""


def endpoint_url(domain_name: str, stage: str) -> str:
    """The connection URL of a WebSocket API stage from an event's ``requestContext``
    (``domainName``, ``stage``): ``https://<api>.execute-api.<region>.amazonaws.com/<stage>``."""
    return f"https://{domain_name.strip('/')}/{stage.strip('/')}"


def _payload(connection_id: str, data: str | bytes) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise MessageTooLargeError(
            f"post to connection {connection_id}: {len(raw)} bytes, API Gateway takes at most"
            f" {MAX_PAYLOAD_BYTES}")
    return raw


class ConnectionPoster(Protocol):
    """Pushes data to the client of a WebSocket connection."""

    def post(self, connection_id: str, data: str | bytes) -> bool:
        """Send ``data`` (one WebSocket message); False when the connection is gone.
        MessageTooLargeError over 128 KB; other failures are port errors."""
        ...


class ApiGatewayConnectionPoster:
    """``PostToConnection`` on one WebSocket API stage (``https://<api>.execute-api.<region>.
    amazonaws.com/<stage>``)."""

    def __init__(self, endpoint: str, client: ConnectionsClient | None = None) -> None:
        if client is None:
            from stratus.platform.adapters.aws.apigatewaymanagement import ConnectionsClient

            client = ConnectionsClient(endpoint)
        self.endpoint = endpoint
        self.client = client

    def post(self, connection_id: str, data: str | bytes) -> bool:
        return self.client.post_to_connection(connection_id, _payload(connection_id, data))


class MemoryConnectionPoster:
    """API Gateway's side of the connections, in memory (thread-safe): ``open`` a connection
    as a client connects, ``close`` it as it goes; ``post`` to anything not open is gone."""

    def __init__(self) -> None:
        self._open: set[str] = set()
        self._received: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()

    def open(self, connection_id: str) -> None:
        with self._lock:
            self._open.add(connection_id)

    def close(self, connection_id: str) -> None:
        with self._lock:
            self._open.discard(connection_id)

    def is_open(self, connection_id: str) -> bool:
        with self._lock:
            return connection_id in self._open

    def post(self, connection_id: str, data: str | bytes) -> bool:
        raw = _payload(connection_id, data)
        with self._lock:
            if connection_id not in self._open:
                return False
            self._received[connection_id].append(raw.decode())
            return True

    def received(self, connection_id: str) -> list[str]:
        """Every message the connection received, oldest first."""
        with self._lock:
            return list(self._received.get(connection_id, ()))


@dataclass(frozen=True)
class ChatConnection:
    """One client of the WebSocket API: its room and who it is (``user_id`` None: a reader
    without a session; ``auth_error`` says why a token it gave was refused)."""

    connection_id: str
    channel_id: str
    connected_at: int
    expires_at: int
    user_id: str | None = None
    role: Role = Role.VIEWER
    name: str = ""
    auth_error: str = ""

    @property
    def caller(self) -> Caller | None:
        return None if self.user_id is None else Caller(self.user_id, self.role, self.name)


class ConnectionStore:
    """The connections table (keys in the module docstring)."""

    def __init__(self, table: TableStore, clock: Clock) -> None:
        self.table = table
        self.clock = clock

    @staticmethod
    def _keys(connection: ChatConnection) -> tuple[dict[str, str], dict[str, str]]:
        return ({"PK": f"CONN#{connection.connection_id}", "SK": "META"},
                {"PK": f"ROOM#{connection.channel_id}", "SK": f"CONN#{connection.connection_id}"})

    def add(self, connection: ChatConnection) -> None:
        """Store the connection and its room index item together."""
        attributes: dict[str, Any] = {
            "connection_id": connection.connection_id, "channel_id": connection.channel_id,
            "connected_at": connection.connected_at, "ExpiresAt": connection.expires_at,
            "role": connection.role.value, "name": connection.name,
            "auth_error": connection.auth_error,
        }
        if connection.user_id is not None:
            attributes["user_id"] = connection.user_id
        own, room = self._keys(connection)
        self.table.transact_write([Put({**own, **attributes}), Put({**room, **attributes})])

    def _live(self, item: dict[str, Any] | None) -> ChatConnection | None:
        if item is None or int(item["ExpiresAt"]) <= self.clock.now().timestamp():
            return None
        user = item.get("user_id")
        return ChatConnection(
            connection_id=str(item["connection_id"]), channel_id=str(item["channel_id"]),
            connected_at=int(item["connected_at"]), expires_at=int(item["ExpiresAt"]),
            user_id=None if user is None else str(user), role=Role(str(item["role"])),
            name=str(item.get("name", "")), auth_error=str(item.get("auth_error", "")),
        )

    def get(self, connection_id: str) -> ChatConnection | None:
        """The connection, or None when it is not known (or expired)."""
        return self._live(self.table.get({"PK": f"CONN#{connection_id}", "SK": "META"}))

    def remove(self, connection_id: str) -> ChatConnection | None:
        """Forget the connection and its room index item; the removed connection, or None."""
        item = self.table.get({"PK": f"CONN#{connection_id}", "SK": "META"})
        if item is None:
            return None
        own = {"PK": f"CONN#{connection_id}", "SK": "META"}
        room = {"PK": f"ROOM#{item['channel_id']}", "SK": f"CONN#{connection_id}"}
        self.table.transact_write([Delete(own), Delete(room)])
        return self._live(item)

    def in_room(self, channel_id: str) -> list[str]:
        """The ids of the room's current connections."""
        ids: list[str] = []
        start: str | None = None
        while True:
            page = self.table.query(f"ROOM#{channel_id}", start=start, limit=500)
            ids += [c.connection_id for c in map(self._live, page.items) if c is not None]
            start = page.next_token
            if not start:
                return ids
