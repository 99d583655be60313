"""Local API Gateway (REST API, Lambda proxy integration) for the one-machine runtime.

Pure parts (router, event converter, authorizers, throttling, cache, metrics) are composed by
:class:`LocalApiGateway`, whose ``handle`` needs no sockets; :class:`ApiServer` is the thin
HTTP shell. Modelled on chalice's ``local.py``.
"""

from stratus.platform.runtime.apigateway.events import HttpRequest, HttpResponse
from stratus.platform.runtime.apigateway.gateway import LocalApiGateway
from stratus.platform.runtime.apigateway.http import ApiServer
from stratus.platform.runtime.apigateway.model import (
    NO_AUTHORIZER,
    ApiSpec,
    AuthorizerSpec,
    CorsSpec,
    GatewayResponseSpec,
    RouteSpec,
    ThrottleSpec,
    UsagePlanSpec,
)

__all__ = [
    "NO_AUTHORIZER",
    "ApiServer",
    "ApiSpec",
    "AuthorizerSpec",
    "CorsSpec",
    "GatewayResponseSpec",
    "HttpRequest",
    "HttpResponse",
    "LocalApiGateway",
    "RouteSpec",
    "ThrottleSpec",
    "UsagePlanSpec",
]
