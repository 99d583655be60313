"""ConnectionPoster contract (the streaming chat's port): one suite, both adapters.

- ``MemoryConnectionPoster``: API Gateway's side of the connections in memory (the local
  target and the functional tests).
- ``ApiGatewayConnectionPoster`` on a real boto3 ``apigatewaymanagementapi`` client and moto
  (5.x implements PostToConnection, GetConnection and DeleteConnection, and keeps what each
  connection received). moto treats every connection id as open and never answers
  ``GoneException``; :class:`ClosedConnections` answers it (410) for the connections a test
  closed, through the client's ``before-call`` event, so botocore still validates the request
  and raises its real ``GoneException`` class.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Protocol
from urllib.parse import unquote

import pytest

from stratus.platform.ports import BackendUnavailableError, MessageTooLargeError
from stratus.solutions.streaming.chat.connections import (
    MAX_PAYLOAD_BYTES,
    ApiGatewayConnectionPoster,
    ConnectionPoster,
    MemoryConnectionPoster,
    endpoint_url,
)

ENDPOINT = endpoint_url("a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "dev")


class Clients(Protocol):
    """API Gateway's side in a test: connections clients open and close, what they got."""

    def open(self) -> str: ...

    def close(self, connection_id: str) -> None: ...

    def received(self, connection_id: str) -> bytes: ...


class ConnectionPosterContract:
    """Subclasses provide ``poster`` and ``clients``."""

    def test_a_post_reaches_an_open_connection(
        self, poster: ConnectionPoster, clients: Clients
    ) -> None:
        connection_id = clients.open()

        assert poster.post(connection_id, '{"type": "message", "text": "hi"}') is True

        assert clients.received(connection_id) == b'{"type": "message", "text": "hi"}'

    def test_posts_arrive_in_order_and_only_to_their_connection(
        self, poster: ConnectionPoster, clients: Clients
    ) -> None:
        first, second = clients.open(), clients.open()

        assert poster.post(first, "one ")
        assert poster.post(second, b"other")
        assert poster.post(first, "two")

        assert clients.received(first) == b"one two"
        assert clients.received(second) == b"other"

    def test_text_is_sent_as_utf8(self, poster: ConnectionPoster, clients: Clients) -> None:
        connection_id = clients.open()

        assert poster.post(connection_id, "héllo ✓")

        assert clients.received(connection_id) == "héllo ✓".encode()

    def test_a_closed_connection_is_gone(
        self, poster: ConnectionPoster, clients: Clients
    ) -> None:
        kept, closed = clients.open(), clients.open()
        clients.close(closed)

        assert poster.post(closed, "anyone?") is False
        assert poster.post(kept, "still here") is True
        assert clients.received(kept) == b"still here"

    def test_api_gateways_128_kb_is_the_largest_message(
        self, poster: ConnectionPoster, clients: Clients
    ) -> None:
        connection_id = clients.open()

        with pytest.raises(MessageTooLargeError, match="at most 131072"):
            poster.post(connection_id, "x" * (MAX_PAYLOAD_BYTES + 1))
        with pytest.raises(MessageTooLargeError):
            poster.post(connection_id, "é" * (MAX_PAYLOAD_BYTES // 2 + 1))  # bytes, not chars
        assert clients.received(connection_id) == b""
        assert poster.post(connection_id, "x" * MAX_PAYLOAD_BYTES)
        assert len(clients.received(connection_id)) == MAX_PAYLOAD_BYTES


class MemoryClients:
    def __init__(self, poster: MemoryConnectionPoster) -> None:
        self.poster = poster

    def open(self) -> str:
        connection_id = secrets.token_urlsafe(10) + "="
        self.poster.open(connection_id)
        return connection_id

    def close(self, connection_id: str) -> None:
        self.poster.close(connection_id)

    def received(self, connection_id: str) -> bytes:
        return "".join(self.poster.received(connection_id)).encode()


class TestMemoryConnectionPoster(ConnectionPosterContract):
    @pytest.fixture
    def poster(self) -> MemoryConnectionPoster:
        return MemoryConnectionPoster()

    @pytest.fixture
    def clients(self, poster: MemoryConnectionPoster) -> MemoryClients:
        return MemoryClients(poster)

    def test_a_connection_that_never_opened_is_gone(
        self, poster: MemoryConnectionPoster
    ) -> None:
        assert poster.post("never-opened=", "hi") is False
        assert poster.received("never-opened=") == []


class ClosedConnections:
    """GoneException (410) from PostToConnection for connections a test closed (moto has no
    closed connections), answered in the client's ``before-call`` event."""

    def __init__(self, client: Any) -> None:
        self.closed: set[str] = set()
        client.meta.events.register(
            "before-call.apigatewaymanagementapi.PostToConnection", self._before)

    def _before(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        connection_id = unquote(str(params["url_path"]).rsplit("/", 1)[-1])
        if connection_id not in self.closed:
            return None  # moto answers
        return SimpleNamespace(status_code=410, headers={}), {
            "Error": {"Code": "GoneException", "Message": f"{connection_id} is gone"},
            "ResponseMetadata": {"HTTPStatusCode": 410}}


class MotoClients:
    """Connections as moto keeps them (by the URL-encoded id it was posted to)."""

    def __init__(self, client: Any, closed: ClosedConnections) -> None:
        self.client, self.closed = client, closed

    def open(self) -> str:
        return secrets.token_urlsafe(10) + "="  # moto: every id is an open connection

    def close(self, connection_id: str) -> None:
        self.client.delete_connection(ConnectionId=connection_id)
        self.closed.closed.add(connection_id)

    def received(self, connection_id: str) -> bytes:
        from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
        from moto.core.models import DEFAULT_ACCOUNT_ID

        backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"]
        for key, connection in backend.connections.items():
            if unquote(key) == connection_id:
                return bytes(connection.data)
        return b""


class TestApiGatewayConnectionPoster(ConnectionPosterContract):
    @pytest.fixture
    def client(self, moto_aws: None) -> Any:
        import boto3

        return boto3.client("apigatewaymanagementapi", endpoint_url=ENDPOINT,
                            region_name="eu-west-1")

    @pytest.fixture
    def poster(self, client: Any) -> ApiGatewayConnectionPoster:
        from stratus.platform.adapters.aws.apigatewaymanagement import ConnectionsClient

        return ApiGatewayConnectionPoster(ENDPOINT, ConnectionsClient(ENDPOINT, client))

    @pytest.fixture
    def clients(self, client: Any) -> MotoClients:
        return MotoClients(client, ClosedConnections(client))

    def test_the_client_is_made_for_the_endpoint_and_its_region(self, moto_aws: None) -> None:
        poster = ApiGatewayConnectionPoster(ENDPOINT)
        api = poster.client._api

        assert api.meta.endpoint_url == ENDPOINT
        assert api.meta.region_name == "eu-west-1"
        assert poster.post("any=", "hi")

    def test_an_unreachable_api_is_a_port_error(
        self, unreachable_client: Callable[[str], Any]
    ) -> None:
        from stratus.platform.adapters.aws.apigatewaymanagement import ConnectionsClient

        client = ConnectionsClient(ENDPOINT, unreachable_client("apigatewaymanagementapi"))
        poster = ApiGatewayConnectionPoster(ENDPOINT, client)

        with pytest.raises(BackendUnavailableError, match="post to connection abc="):
            poster.post("abc=", "hi")

    def test_deleting_a_connection_twice_says_it_was_gone(self, client: Any) -> None:
        from stratus.platform.adapters.aws.apigatewaymanagement import ConnectionsClient

        connections = ConnectionsClient(ENDPOINT, client)
        gone = SimpleNamespace(count=0)

        def answer_gone(**_: Any) -> tuple[Any, dict[str, Any]] | None:
            gone.count += 1
            if gone.count == 1:
                return None  # moto deletes it
            return SimpleNamespace(status_code=410, headers={}), {
                "Error": {"Code": "GoneException", "Message": "gone"},
                "ResponseMetadata": {"HTTPStatusCode": 410}}

        client.meta.events.register(
            "before-call.apigatewaymanagementapi.DeleteConnection", answer_gone)

        assert connections.delete_connection("abc=") is True
        assert connections.delete_connection("abc=") is False
