"""What the local API Gateway serves: frozen specs the runtime builds from a SAM template.

The runtime reads ``AWS::Serverless::Api`` / ``Api`` events and fills these in; nothing here
parses YAML. Names follow the SAM/API Gateway vocabulary so the mapping stays obvious.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

AuthorizerType = Literal["TOKEN", "REQUEST"]
QuotaPeriod = Literal["DAY", "WEEK", "MONTH"]

#: SAM's name for "no authorizer on this route even though the API has a default one".
NO_AUTHORIZER = "NONE"

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True, slots=True)
class ThrottleSpec:
    """A token bucket: ``rate`` requests per second refill, at most ``burst`` at once."""

    rate: float
    burst: int


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One method on one resource, with a Lambda proxy integration.

    ``method`` is an HTTP method or ``ANY``; ``path`` is an API Gateway resource template such
    as ``/items/{id}`` or ``/{proxy+}``. ``authorizer`` None means "the API's default
    authorizer"; ``"NONE"`` means "no authorizer" (as in SAM). ``throttle`` is a per-method
    override of the stage default, like a MethodSettings entry for this method.
    """

    method: str
    path: str
    function: str
    authorizer: str | None = None
    api_key_required: bool = False
    caching: bool = False
    cache_key_parameters: tuple[str, ...] = ()
    throttle: ThrottleSpec | None = None

    @property
    def key(self) -> str:
        """``"GET /items/{id}"``: the route's name in metrics and logs."""
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True, slots=True)
class AuthorizerSpec:
    """A Lambda authorizer.

    ``identity_source`` holds API Gateway expressions such as
    ``method.request.header.Authorization`` or ``method.request.querystring.token``.
    ``ttl_s`` 0 disables the result cache, as ``ReauthorizeEvery: 0`` does on AWS.
    """

    name: str
    function: str
    type: AuthorizerType = "TOKEN"
    identity_source: tuple[str, ...] = ("method.request.header.Authorization",)
    ttl_s: int = 300
    validation_regex: str | None = None


@dataclass(frozen=True, slots=True)
class UsagePlanSpec:
    """A usage plan: the API key values it covers, a per-key throttle and a per-key quota."""

    name: str
    api_keys: tuple[str, ...]
    throttle: ThrottleSpec | None = None
    quota_limit: int | None = None
    quota_period: QuotaPeriod = "DAY"


@dataclass(frozen=True, slots=True)
class CorsSpec:
    """SAM ``Cors``: values unquoted (SAM writes ``"'*'"``; the runtime strips the quotes).

    Empty ``allow_methods`` means "the methods defined on the resource, plus OPTIONS", which
    is what SAM generates. ``add_origin_to_responses`` is a local convenience and is False by
    default because on AWS, with a Lambda proxy integration, SAM's Cors only answers the
    preflight: the function itself must return ``Access-Control-Allow-Origin``.
    """

    allow_origin: str = "*"
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False
    add_origin_to_responses: bool = False


@dataclass(frozen=True, slots=True)
class GatewayResponseSpec:
    """A customised gateway response (``GatewayResponses``): status, extra headers, body.

    None keeps what API Gateway would send by default."""

    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """One REST API (one stage) of a template.

    ``stage_throttle`` is the stage's default *method* throttling (MethodSettings ``/*/*``):
    like on AWS, each method gets its own bucket with these limits unless its route overrides
    them. ``cache_enabled`` is the stage cache cluster switch; routes opt in with ``caching``.
    """

    name: str
    stage: str = "Prod"
    routes: tuple[RouteSpec, ...] = ()
    authorizers: Mapping[str, AuthorizerSpec] = field(default_factory=dict)
    default_authorizer: str | None = None
    stage_throttle: ThrottleSpec | None = None
    cache_ttl_s: int = 300
    cache_enabled: bool = False
    cors: CorsSpec | None = None
    usage_plans: tuple[UsagePlanSpec, ...] = ()
    binary_media_types: tuple[str, ...] = ()
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    #: Gateway responses by type (``AUTHORIZER_CONFIGURATION_ERROR``, ``DEFAULT_4XX``...).
    gateway_responses: Mapping[str, GatewayResponseSpec] = field(default_factory=dict)

    def authorizer_for(self, route: RouteSpec) -> AuthorizerSpec | None:
        """The authorizer that guards ``route``, honouring the default and ``NONE``."""
        name = route.authorizer if route.authorizer is not None else self.default_authorizer
        if name is None or name == NO_AUTHORIZER:
            return None
        try:
            return self.authorizers[name]
        except KeyError:
            raise ValueError(f"route {route.key} names unknown authorizer {name!r}") from None
