"""Plain HTTP in and out, and the REST (v1) Lambda proxy event and response formats.

Copies the documented shape of API Gateway REST API proxy integration events
(``resource``, ``path``, ``headers``/``multiValueHeaders`` ... ``requestContext``) and the
rules API Gateway applies to the function's answer. Departures are commented where they occur.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

#: Keys a Lambda proxy response may carry. Anything else makes API Gateway answer 502.
_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
_MIN_STATUS = 100
_MAX_STATUS = 599


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request as the gateway sees it: no sockets, no framework.

    ``path`` is the path *below* the mount point (``/items/1``), percent-encoded as on the
    wire; ``query`` is the raw query string without ``?``.
    """

    method: str
    path: str
    query: str = ""
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), like API Gateway's ``headers``."""
        lowered = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lowered:
                found = value
        return found

    def query_pairs(self) -> list[tuple[str, str]]:
        """Decoded ``(name, value)`` pairs in order; a bare ``?flag`` gives ``("flag", "")``."""
        return parse_qsl(self.query, keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """An HTTP response: status, ordered header pairs (repeats allowed) and raw body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive)."""
        lowered = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lowered:
                found = value
        return found

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def gateway_error(status: int, body: Mapping[str, Any], error_type: str) -> HttpResponse:
    """A response produced by API Gateway itself (a "gateway response" on AWS).

    AWS sends these as JSON with an ``x-amzn-ErrorType`` header naming the exception.
    """
    return HttpResponse(
        status=status,
        headers=[("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)],
        body=json.dumps(body, separators=(",", ":")).encode(),
    )


def internal_server_error() -> HttpResponse:
    """What API Gateway answers for a Lambda error or a malformed proxy response: 502."""
    return gateway_error(502, {"message": "Internal server error"}, "InternalServerErrorException")


def _matches_media_type(content_type: str | None, media_types: Iterable[str]) -> bool:
    if not content_type:
        return False
    candidates = [part.split(";")[0].strip().lower() for part in content_type.split(",")]
    for pattern in media_types:
        pat = pattern.lower()
        if pat == "*/*":
            return True
        for candidate in candidates:
            if candidate == pat:
                return True
            if pat.endswith("/*") and candidate.startswith(pat[:-1]):
                return True
    return False


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # API Gateway: the single-value map keeps the LAST value
        multi.setdefault(key, []).append(value)
    return single, multi


def request_time(now: datetime) -> str:
    """``requestContext.requestTime`` format: ``26/Nov/2026:15:49:36 +0000``."""
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000")


@dataclass(frozen=True, slots=True)
class EventContext:
    """Everything the event needs that is not in the HTTP request itself."""

    resource: str
    path_parameters: Mapping[str, str]
    stage: str
    api_id: str
    account: str
    request_id: str
    extended_request_id: str
    now: datetime
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()
    api_key: str | None = None
    api_key_id: str | None = None
    authorizer: Mapping[str, Any] | None = None


def decoded_path(request: HttpRequest) -> str:
    """The request path, percent-decoded, as API Gateway puts it in ``path``."""
    return unquote(request.path) or "/"


def build_request_context(request: HttpRequest, ctx: EventContext) -> dict[str, Any]:
    """``requestContext`` of a REST proxy event (also sent to REQUEST authorizers)."""
    host = request.header("Host") or f"{ctx.api_id}.execute-api.localhost"
    path = decoded_path(request)
    context: dict[str, Any] = {
        "resourceId": _resource_id(ctx.resource),
        "resourcePath": ctx.resource,
        "httpMethod": request.method.upper(),
        "extendedRequestId": ctx.extended_request_id,
        "requestTime": request_time(ctx.now),
        "path": f"/{ctx.stage}{path}",
        "accountId": ctx.account,
        "protocol": "HTTP/1.1",
        "stage": ctx.stage,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "requestTimeEpoch": int(ctx.now.timestamp() * 1000),
        "requestId": ctx.request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": request.header("User-Agent"),
            "user": None,
            # AWS fills apiKey/apiKeyId only when the method requires an API key.
            "apiKey": ctx.api_key,
            "apiKeyId": ctx.api_key_id,
        },
        "domainName": host.split(":")[0],
        "apiId": ctx.api_id,
    }
    if ctx.authorizer is not None:
        context["authorizer"] = dict(ctx.authorizer)
    return context


def _resource_id(resource: str) -> str:
    # AWS resource ids are 6-10 lowercase alphanumerics; derive a stable one from the path.
    return format(binascii.crc32(resource.encode()) & 0xFFFFFFFF, "08x")[:6]


def build_proxy_event(request: HttpRequest, ctx: EventContext) -> dict[str, Any]:
    """The exact REST v1 proxy event for ``request``.

    As on AWS: empty maps are ``null``; ``headers``/``queryStringParameters`` keep the last
    value of a repeated name while the ``multiValue*`` maps keep all; header names keep the
    client's case; the body is base64 with ``isBase64Encoded`` only when the request's
    Content-Type matches a binary media type. Departure: no ``X-Forwarded-*``, ``Via`` or
    ``CloudFront-*`` headers are added (there is no CloudFront in front locally).
    """
    headers, multi_headers = _multi(request.headers)
    query, multi_query = _multi(request.query_pairs())
    if not request.body:
        body: str | None = None
        is_b64 = False
    elif _matches_media_type(request.header("Content-Type"), ctx.binary_media_types):
        body = base64.b64encode(request.body).decode("ascii")
        is_b64 = True
    else:
        body = request.body.decode("utf-8", errors="replace")
        is_b64 = False
    return {
        "resource": ctx.resource,
        "path": decoded_path(request),
        "httpMethod": request.method.upper(),
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(ctx.path_parameters) or None,
        "stageVariables": dict(ctx.stage_variables) or None,
        "requestContext": build_request_context(request, ctx),
        "body": body,
        "isBase64Encoded": is_b64,
    }


class MalformedResponseError(ValueError):
    """The function's answer is not a valid Lambda proxy response."""


def _header_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedResponseError(f"header value {value!r} is not a string or number")
    return str(value)


def _proxy_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedResponseError("headers and multiValueHeaders must be objects")
    pairs: list[tuple[str, str]] = []
    # AWS merges both maps; for a name present in both, only multiValueHeaders' values count.
    for name, value in single.items():
        if name not in multi:
            pairs.append((str(name), _header_value(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponseError(f"multiValueHeaders[{name!r}] is not a list")
        pairs.extend((str(name), _header_value(value)) for value in values)
    return pairs


def proxy_response(
    result: Any, *, accept: str | None = None, binary_media_types: tuple[str, ...] = ()
) -> HttpResponse:
    """Turn a Lambda proxy result into an HTTP response, or raise MalformedResponseError.

    Copies API Gateway: the result must be an object whose keys are among ``statusCode``
    (required, an integer or a numeric string), ``headers``, ``multiValueHeaders``, ``body``
    (a string) and ``isBase64Encoded``; ``Content-Type`` defaults to ``application/json``;
    a base64 body is decoded to bytes only when the request's ``Accept`` matches a binary
    media type, otherwise the client gets the base64 text, as on AWS.
    """
    if not isinstance(result, Mapping):
        raise MalformedResponseError(f"result is a {type(result).__name__}, not an object")
    unknown = set(result) - _RESPONSE_KEYS
    if unknown:
        raise MalformedResponseError(f"unexpected keys {sorted(unknown)}")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int):
        raise MalformedResponseError("statusCode is missing or not an integer")
    if not _MIN_STATUS <= status <= _MAX_STATUS:
        raise MalformedResponseError(f"statusCode {status} is out of range")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponseError("body must be a string")
    is_b64 = result.get("isBase64Encoded", False)
    if not isinstance(is_b64, bool):
        raise MalformedResponseError("isBase64Encoded must be a boolean")
    headers = _proxy_headers(result)
    raw = (body or "").encode("utf-8")
    if is_b64 and body and _matches_media_type(accept, binary_media_types):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponseError("body is not valid base64") from exc
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status=status, headers=headers, body=raw)
