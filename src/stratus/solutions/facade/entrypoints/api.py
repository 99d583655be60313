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
"""

from __future__ import annotations

import json
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

app = APIGatewayRestResolver(enable_validation=True)

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


def _token() -> str:
    headers = app.current_event.headers or {}
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "") or ""
    return value.partition(" ")[2].strip()


def _user_id() -> int:
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
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


app.exception_handler(RequestValidationError)(_invalid)
app.exception_handler(service.NotFoundError)(_not_found)
app.exception_handler(service.DatabaseUnavailableError)(_database_down)
app.exception_handler(service.LegacyUnavailableError)(_legacy_down)


@app.get(
    "/customers/<customerId>/overview",
    summary="Everything about a customer in one answer",
    responses=_ERRORS,
    security=_SECURITY,
)
def get_overview(
    customerId: Annotated[str, Path(pattern=CUSTOMER_ID, examples=["C1"])],  # noqa: N803
) -> Overview:
    """Legacy profile and orders (called concurrently) with loyalty from the database."""
    return Overview.model_validate(
        service.customer_overview(customerId, _token(), bootstrap.from_env())
    )


@app.get(
    "/customers/<customerId>/notes",
    summary="A customer's notes",
    responses=_ERRORS,
    security=_SECURITY,
)
def get_notes(
    customerId: Annotated[str, Path(pattern=CUSTOMER_ID, examples=["C1"])],  # noqa: N803
) -> list[Note]:
    """Notes, newest first (read from the writer)."""
    return [
        Note.model_validate(n) for n in service.customer_notes(customerId, bootstrap.from_env())
    ]


@app.post(
    "/customers/<customerId>/notes",
    summary="Add a note to a customer",
    responses=_ERRORS,
    security=_SECURITY,
    status_code=201,
)
def post_note(
    customerId: Annotated[str, Path(pattern=CUSTOMER_ID, examples=["C1"])],  # noqa: N803
    note: NoteIn,
) -> Note:
    """Store a note written by the calling user."""
    stored = service.add_note(customerId, _user_id(), note.text, bootstrap.from_env())
    return Note.model_validate(stored)


@app.get(
    "/catalog/products",
    summary="Product catalogue (static, cached 1 h)",
    responses=_ERRORS,
    security=_SECURITY,
)
def get_products() -> list[Product]:
    """Products from the legacy API."""
    return [Product.model_validate(p) for p in service.products(_token(), bootstrap.from_env())]


@app.get(
    "/reference/countries",
    summary="Countries and currencies (static, cached 1 h)",
    responses=_ERRORS,
    security=_SECURITY,
)
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


@app.get("/openapi.json", include_in_schema=False)
def get_openapi() -> Response[str]:
    """This API's OpenAPI document."""
    return Response(200, "application/json", json.dumps(openapi_document()))


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
    return app.resolve(event, context)
