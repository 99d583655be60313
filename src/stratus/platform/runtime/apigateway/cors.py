"""CORS as SAM's ``Cors`` property sets it up on a REST API.

SAM adds an ``OPTIONS`` method with a MOCK integration to every path that has methods; the
mock answers 200 with the ``Access-Control-Allow-*`` headers and no body. The gateway answers
preflights the same way (an explicit OPTIONS route in the template wins, as it does in SAM).
Departure: SAM's ``AddDefaultAuthorizerToCorsPreflight`` is not emulated; preflights are never
authorized.
"""

from __future__ import annotations

from collections.abc import Iterable

from stratus.platform.runtime.apigateway.events import HttpResponse
from stratus.platform.runtime.apigateway.model import HTTP_METHODS, CorsSpec


def allowed_methods(cors: CorsSpec, resource_methods: Iterable[str]) -> str:
    """``Access-Control-Allow-Methods``: the configured list, else the resource's + OPTIONS."""
    if cors.allow_methods:
        return ",".join(cors.allow_methods)
    methods = {m.upper() for m in resource_methods}
    if "ANY" in methods:
        methods = set(HTTP_METHODS)
    methods.add("OPTIONS")
    return ",".join(sorted(methods))


def preflight(cors: CorsSpec, resource_methods: Iterable[str]) -> HttpResponse:
    """The 200 a SAM-generated OPTIONS method returns."""
    headers = [
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Origin", cors.allow_origin),
        ("Access-Control-Allow-Methods", allowed_methods(cors, resource_methods)),
    ]
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(status=200, headers=headers, body=b"")


def with_origin(cors: CorsSpec, response: HttpResponse) -> HttpResponse:
    """``response`` plus ``Access-Control-Allow-Origin`` unless the function already set it.

    Only used when ``cors.add_origin_to_responses`` is on (see :class:`CorsSpec`).
    """
    if response.header("Access-Control-Allow-Origin") is not None:
        return response
    headers = [*response.headers, ("Access-Control-Allow-Origin", cors.allow_origin)]
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(status=response.status, headers=headers, body=response.body)
