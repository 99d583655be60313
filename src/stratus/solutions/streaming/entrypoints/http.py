"""Shared pieces of the REST handlers: JSON answers, bodies, error mapping, the caller.

API Gateway REST proxy events in, proxy responses out; handlers dispatch on
``(httpMethod, resource)``, the same on AWS and locally.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.service import AuthError, Caller, Ports
from stratus.solutions.streaming.store import MissingError

log = logging.getLogger("stratus.streaming.api")
Model = TypeVar("Model", bound=BaseModel)
Route = Callable[[dict[str, Any], Ports], dict[str, Any]]


class BadRequestError(Exception):
    """400 with reasons."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def respond(status: int, body: Any) -> dict[str, Any]:
    """A proxy response with a JSON body (CORS open: the site may live on a CDN origin)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": "" if status == 204 else json.dumps(body, default=_default),
    }


def error(status: int, message: str, reasons: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if reasons:
        body["reasons"] = reasons
    return respond(status, body)


def parse_body(event: dict[str, Any], model: type[Model]) -> Model:
    """The JSON body validated by ``model``; BadRequestError with reasons otherwise."""
    raw = event.get("body")
    if event.get("isBase64Encoded") and isinstance(raw, str):
        try:
            raw = base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError(["body: not valid base64 UTF-8"]) from None
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise BadRequestError([f"body: not JSON ({exc.msg} at position {exc.pos})"]) from None
    if not isinstance(data, dict):
        raise BadRequestError(["body: must be a JSON object"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequestError([
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]) from None


def path(event: dict[str, Any], name: str) -> str:
    return str((event.get("pathParameters") or {}).get(name, ""))


def query(event: dict[str, Any], name: str) -> str | None:
    value = (event.get("queryStringParameters") or {}).get(name)
    return None if value is None else str(value)


def bearer(event: dict[str, Any]) -> str | None:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return headers.get("authorization")


def caller(event: dict[str, Any], ports: Ports) -> Caller:
    """The authenticated caller (AuthError -> 401)."""
    return service.authenticate(ports, bearer(event))


def optional_caller(event: dict[str, Any], ports: Ports) -> Caller | None:
    try:
        return caller(event, ports) if bearer(event) else None
    except AuthError:
        return None


def dispatch(
    event: dict[str, Any], routes: dict[tuple[str, str], Route], ports: Ports
) -> dict[str, Any]:
    """Run the route of ``(httpMethod, resource)``, mapping errors to 4xx with a reason."""
    key = (str(event.get("httpMethod", "")).upper(), str(event.get("resource", "")))
    route = routes.get(key)
    if route is None:
        return error(404, f"no route {key[0]} {key[1]}")
    try:
        response = route(event, ports)
    except BadRequestError as exc:
        return error(400, "bad request", exc.reasons)
    except AuthError as exc:
        return error(401, str(exc))
    except NotAllowedError as exc:
        return error(403, str(exc))
    except MissingError as exc:
        return error(404, str(exc))
    except ConflictError as exc:
        return error(409, str(exc))
    except DomainError as exc:
        return error(400, str(exc), [str(exc)])
    params = event.get("pathParameters") or {}
    track_quietly(ports, event, f"{key[0]} {key[1]}",
                  subject=json.dumps(params, sort_keys=True),
                  channel_id=str(params.get("channelId", "")),
                  stream_id=str(params.get("streamId", "")),
                  recording_id=str(params.get("recordingId", "")))
    return response


def track_quietly(ports: Ports, event: dict[str, Any], action: str, *, subject: str = "",
                  channel_id: str = "", stream_id: str = "", recording_id: str = "") -> None:
    """One warehouse event for the caller of ``event``; tracking never fails a request."""
    try:
        who = optional_caller(event, ports)
        service.track(ports, action, who.user_id if who else None, subject,
                      channel_id=channel_id, stream_id=stream_id, recording_id=recording_id)
    except Exception:
        log.exception("tracking failed")
