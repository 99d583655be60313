"""API Gateway WebSocket connections through boto3's ``apigatewaymanagementapi``.

A WebSocket API's backend pushes to a client with ``POST @connections/<connection id>`` on
the API's connection URL, ``https://<api id>.execute-api.<region>.amazonaws.com/<stage>``
(the ``domainName`` and ``stage`` of every event's ``requestContext``). Solutions map their
own interface onto this (the streaming chat's ``ApiGatewayConnectionPoster``); here every
answer is a plain value and every botocore error a port error. API Gateway's rules:

- a connection that has closed answers ``GoneException`` (410): answered here as ``False``,
  the caller forgets the connection;
- a message is at most 128 KB (``PayloadTooLargeException``);
- nothing can be posted to a connection while its ``$connect`` route runs.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stratus.platform.adapters.aws.errors import Codes, error_code, translate
from stratus.platform.ports.errors import (
    InvalidRequestError,
    MessageTooLargeError,
    PortError,
)

MAX_PAYLOAD_BYTES = 128 * 1024
_ENDPOINT = re.compile(r"^https://[^./]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")


def region_of(endpoint: str) -> str | None:
    """The region of an ``execute-api`` endpoint (None for a custom domain)."""
    found = _ENDPOINT.match(endpoint if endpoint.endswith("/") else endpoint + "/")
    return found.group(1) if found else None


_TABLE: Codes = {
    "PayloadTooLargeException": MessageTooLargeError,
    "BadRequestException": InvalidRequestError,
}


def _translate(exc: Exception, what: str) -> PortError:
    return translate(exc, what, _TABLE)


class ConnectionsClient:
    """The ``@connections`` operations of one WebSocket API stage; ``client`` is a boto3
    ``apigatewaymanagementapi`` client for ``endpoint`` (made when omitted)."""

    def __init__(self, endpoint: str, client: Any = None) -> None:
        self.endpoint = endpoint
        if client is None:
            import boto3

            region = region_of(endpoint)
            client = (
                boto3.client("apigatewaymanagementapi", endpoint_url=endpoint,
                             region_name=region)
                if region else boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)
            )
        self._api: Any = client

    def post_to_connection(self, connection_id: str, data: bytes) -> bool:
        """Send ``data`` to the client; False when the connection is gone (410)."""
        what = f"post to connection {connection_id}"
        if len(data) > MAX_PAYLOAD_BYTES:
            raise MessageTooLargeError(
                f"{what}: {len(data)} bytes, API Gateway takes at most {MAX_PAYLOAD_BYTES}")
        try:
            self._api.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if error_code(exc) == "GoneException":
                return False
            raise _translate(exc, what) from exc
        except BotoCoreError as exc:
            raise _translate(exc, what) from exc
        return True

    def delete_connection(self, connection_id: str) -> bool:
        """Close the client's connection; False when it was already gone."""
        what = f"delete connection {connection_id}"
        try:
            self._api.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if error_code(exc) == "GoneException":
                return False
            raise _translate(exc, what) from exc
        except BotoCoreError as exc:
            raise _translate(exc, what) from exc
        return True
