"""Shared pieces of the REST handlers: JSON answers, bodies, error mapping, the caller.

API Gateway REST proxy events in, proxy responses out; handlers dispatch on
``(httpMethod, resource)``, the same on AWS and locally.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from stratus.platform import restapi
from stratus.platform.restapi import BadRequestError, error, route_of
from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.service import AuthError, Caller, Ports
from stratus.solutions.streaming.store import MissingError

log = logging.getLogger("stratus.streaming.api")
Model = TypeVar("Model", bound=BaseModel)
Route = Callable[[dict[str, Any], Ports], dict[str, Any]]


def parse_body(event: dict[str, Any], model: type[Model]) -> Model:
    """The JSON body validated by ``model`` (an empty body is an empty object)."""
    return restapi.parse_body(event, model, required=False)


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
    key = route_of(event)
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
