"""API Gateway REST proxy events for hand-written handlers: JSON answers, bodies, parameters.

API Gateway REST proxy events in, proxy responses out; a handler dispatches on
``(httpMethod, resource)`` (:func:`route_of`), which is the same on AWS and locally whatever
the stage or mount prefix. Bad input is :class:`BadRequestError` with one reason per problem,
answered as 400 ``{"message": ..., "reasons": [...]}``.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class BadRequestError(Exception):
    """The request cannot be served as sent: 400 with ``reasons``."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def json_default(value: Any) -> Any:
    """JSON for what ``json.dumps`` does not know: dates, decimals, enums, sets, tuples."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def respond(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A proxy response with a JSON body (CORS open: pages may be served from another
    origin, a CDN or a bucket)."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": "*",
            **(headers or {}),
        },
        "body": "" if status == 204 else json.dumps(body, default=json_default),
    }


def error(status: int, message: str, reasons: list[str] | None = None) -> dict[str, Any]:
    """An error answer: ``{"message": ..., "reasons": [...]}``."""
    body: dict[str, Any] = {"message": message}
    if reasons is not None:
        body["reasons"] = reasons
    return respond(status, body)


def pydantic_reasons(exc: ValidationError) -> list[str]:
    """One ``field: reason`` line per pydantic error."""
    return [
        f"{'.'.join(str(p) for p in problem.get('loc', ())) or 'body'}:"
        f" {problem.get('msg', 'invalid')}"
        for problem in exc.errors()
    ]


def parse_body(event: dict[str, Any], model: type[Model], *, required: bool = True) -> Model:
    """The JSON body validated by ``model``; BadRequestError with reasons otherwise. An empty
    body is an error when ``required``, else an empty object."""
    raw = event.get("body")
    if event.get("isBase64Encoded") and isinstance(raw, str):
        try:
            raw = base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError(["body: not valid base64 UTF-8"]) from None
    if not raw:
        if required:
            raise BadRequestError(["body: a JSON object is required"])
        raw = "{}"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequestError([f"body: not JSON ({exc.msg} at position {exc.pos})"]) from None
    if not isinstance(data, dict):
        raise BadRequestError(["body: must be a JSON object"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequestError(pydantic_reasons(exc)) from None


def path_param(event: dict[str, Any], name: str) -> str:
    """A path parameter (API Gateway guarantees the ones of the resource are present)."""
    return str((event.get("pathParameters") or {}).get(name, ""))


def query_param(event: dict[str, Any], name: str) -> str | None:
    """A query string parameter, or None."""
    value = (event.get("queryStringParameters") or {}).get(name)
    return None if value is None else str(value)


def route_of(event: dict[str, Any]) -> tuple[str, str]:
    """``(METHOD, resource)`` of a REST proxy event, e.g. ``("GET", "/clients/{clientId}")``."""
    return str(event.get("httpMethod", "")).upper(), str(event.get("resource", ""))
