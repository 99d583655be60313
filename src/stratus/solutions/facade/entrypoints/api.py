"""The facade API (one Lambda behind API Gateway): Powertools REST resolver with validation.

Routes (every one behind the TOKEN authorizer except ``/openapi.json``):

* ``GET  /customers/{customerId}/overview``  legacy profile + legacy orders + loyalty (DB)
* ``GET  /customers/{customerId}/notes``     notes (writer: read-your-writes)
* ``POST /customers/{customerId}/notes``     add a note (writer)
* ``GET  /catalog/products``                 static data from the legacy API (cached 1 h)
* ``GET  /reference/countries``              static data from the reader (cached 1 h)
* ``GET  /openapi.json``                     this API's OpenAPI document

Bad input is 400 with reasons; a missing customer 404; the database down 503 with
Retry-After; the legacy API down makes the overview partial (200) and products 503.

Powertools' resolver keeps the current event on its base CLASS and the current route on the
resolver object, which is safe on Lambda (one request per execution environment at a time)
but not when one process serves concurrent invocations on threads, as the local runtime
does: a request could be answered with another request's customer or token, or lose its
route (``KeyError: '_route'`` -> 502). So the current event is kept per thread
(:class:`_Resolver`) and each invocation borrows a resolver of its own from a small pool
(:func:`_borrow`); ``app`` is the module's resolver, also used for the OpenAPI document.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from stratus.solutions.facade import bootstrap, service
from stratus.solutions.facade.schemas import (
    Country,
    Note,
    NoteIn,
    Overview,
    Problem,
    Product,
)

CUSTOMER_ID = r"^[A-Za-z0-9_-]{1,32}$"
RETRY_AFTER_S = 5

_current = threading.local()  # the resolver serving this thread's invocation

_ERRORS: dict[int, OpenAPIResponse] = {
    400: {"description": "Bad input", "content": {"application/json": {"model": Problem}}},
    404: {"description": "Not found", "content": {"application/json": {"model": Problem}}},
    503: {
        "description": "A dependency is down; retry after Retry-After seconds",
        "content": {"application/json": {"model": Problem}},
    },
}
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def _problem(
    status: int,
    message: str,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"message": message, "errors": errors or []}),
        headers=headers,
    )


def _event() -> Any:
    resolver: APIGatewayRestResolver = getattr(_current, "resolver", None) or app
    return resolver.current_event


def _token() -> str:
    headers = _event().headers or {}
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "") or ""
    return value.partition(" ")[2].strip()


def _user_id() -> int:
    context = (_event().raw_event.get("requestContext") or {}).get("authorizer") or {}
    return int(context.get("userId") or 0)


def _invalid(exc: RequestValidationError) -> Response[str]:
    reasons = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        reasons.append(f"{where}: {error.get('msg', 'invalid')}")
    return _problem(400, "invalid request", reasons)


def _not_found(exc: service.NotFoundError) -> Response[str]:
    return _problem(404, str(exc))


def _database_down(_exc: service.DatabaseUnavailableError) -> Response[str]:
    return _problem(
        503, "the database is unavailable; retry later", headers={"Retry-After": str(RETRY_AFTER_S)}
    )


def _legacy_down(exc: service.LegacyUnavailableError) -> Response[str]:
    return _problem(503, str(exc), headers={"Retry-After": str(exc.retry_after_s)})


def get_overview(
    customerId: Annotated[str, Path(pattern=CUSTOMER_ID, examples=["C1"])],  # noqa: N803
) -> Overview:
    """Legacy profile and orders (called concurrently) with loyalty from the database."""
    return Overview.model_validate(
        service.customer_overview(customerId, _token(), bootstrap.from_env())
    )


def get_notes(
    customerId: Annotated[str, Path(pattern=CUSTOMER_ID, examples=["C1"])],  # noqa: N803
) -> list[Note]:
    """Notes, newest first (read from the writer)."""
    return [
        Note.model_validate(n) for n in service.customer_notes(customerId, bootstrap.from_env())
    ]


def post_note(
    customerId: Annotated[str, Path(pattern=CUSTOMER_ID, examples=["C1"])],  # noqa: N803
    note: NoteIn,
) -> Note:
    """Store a note written by the calling user."""
    stored = service.add_note(customerId, _user_id(), note.text, bootstrap.from_env())
    return Note.model_validate(stored)


def get_products() -> list[Product]:
    """Products from the legacy API."""
    return [Product.model_validate(p) for p in service.products(_token(), bootstrap.from_env())]


def get_countries() -> list[Country]:
    """Reference data from the reader."""
    return [Country.model_validate(c) for c in service.countries(bootstrap.from_env())]


def openapi_document() -> dict[str, Any]:
    """The facade's OpenAPI document."""
    return dict(
        json.loads(
            app.get_openapi_json_schema(
                title="stratus facade API",
                version="1.0.0",
                description="A facade over a legacy API: one answer per screen, resilient.",
                security_schemes={"bearer": HTTPBearer()},
            )
        )
    )


def get_openapi() -> Response[str]:
    """This API's OpenAPI document."""
    return Response(200, "application/json", json.dumps(openapi_document()))


def _register(resolver: APIGatewayRestResolver) -> APIGatewayRestResolver:
    """``resolver`` with the facade's exception handlers and routes."""
    resolver.exception_handler(RequestValidationError)(_invalid)
    resolver.exception_handler(service.NotFoundError)(_not_found)
    resolver.exception_handler(service.DatabaseUnavailableError)(_database_down)
    resolver.exception_handler(service.LegacyUnavailableError)(_legacy_down)
    guarded: dict[str, Any] = {"responses": _ERRORS, "security": _SECURITY}
    routes: list[tuple[Callable[..., Any], str, Callable[..., Any], dict[str, Any]]] = [
        (resolver.get, "/customers/<customerId>/overview", get_overview,
         {"summary": "Everything about a customer in one answer", **guarded}),
        (resolver.get, "/customers/<customerId>/notes", get_notes,
         {"summary": "A customer's notes", **guarded}),
        (resolver.post, "/customers/<customerId>/notes", post_note,
         {"summary": "Add a note to a customer", "status_code": 201, **guarded}),
        (resolver.get, "/catalog/products", get_products,
         {"summary": "Product catalogue (static, cached 1 h)", **guarded}),
        (resolver.get, "/reference/countries", get_countries,
         {"summary": "Countries and currencies (static, cached 1 h)", **guarded}),
        (resolver.get, "/openapi.json", get_openapi, {"include_in_schema": False}),
    ]  # fmt: skip
    for method, path, handler, options in routes:
        method(path, **options)(handler)
    return resolver


class _Resolver(APIGatewayRestResolver):
    """The REST resolver with the current event kept per thread (Powertools assigns it to
    ``BaseRouter.current_event``, shared by every thread of the process)."""

    _events = threading.local()

    @property
    def current_event(self) -> Any:
        return self._events.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._events.event = value

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self._events.event = self._to_proxy_event(dict(event))
        return super().resolve(event, context)


def _new_resolver() -> APIGatewayRestResolver:
    return _register(_Resolver(enable_validation=True))


app = _new_resolver()
_idle: list[APIGatewayRestResolver] = [app]
_idle_lock = threading.Lock()


def _borrow() -> APIGatewayRestResolver:
    """A resolver no other invocation is using (a new one when all are busy)."""
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return _new_resolver()


def _give_back(resolver: APIGatewayRestResolver) -> None:
    with _idle_lock:
        _idle.append(resolver)


def _unsupported_media_type(event: dict[str, Any]) -> dict[str, Any] | None:
    """415 for a body that is not JSON (the resolver would fail on e.g. bad multipart)."""
    if str(event.get("httpMethod", "")).upper() not in ("POST", "PUT", "PATCH"):
        return None
    headers = event.get("headers") or {}
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    media = str(value or "application/json").split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return None
    return {
        "statusCode": 415,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {"message": "unsupported media type", "errors": ["Content-Type: application/json"]}
        ),
        "isBase64Encoded": False,
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway (REST, proxy) event in, proxy response out."""
    refused = _unsupported_media_type(event)
    if refused is not None:
        return refused
    resolver = _borrow()
    _current.resolver = resolver
    try:
        return resolver.resolve(event, context)
    finally:
        _current.resolver = None
        _give_back(resolver)
