"""The local API Gateway for one REST API stage: a pure ``handle(request) -> response``.

The pipeline follows API Gateway's order for a REST API with Lambda proxy integrations:

1. route resolution (no resource or no method: 403 "Missing Authentication Token");
2. CORS preflight (SAM's generated OPTIONS mock), when CORS is configured;
3. Lambda authorizer (401 / 403 / 500, result cache);
4. API key check (403 "Forbidden");
5. throttling and usage plan quota (429);
6. stage cache lookup for cached GET methods;
7. the integration: the proxy event is built, the function invoked, its answer validated
   (a failure or malformed answer is 502 "Internal server error").

Every response carries ``x-amzn-RequestId`` and ``x-amz-apigw-id`` as on AWS. Departures:
no 29-second integration timeout (504), no resource policies, no request validators.
"""

from __future__ import annotations

import base64
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from stratus.platform.ports.clock import Clock
from stratus.platform.runtime.apigateway import cors as cors_
from stratus.platform.runtime.apigateway.authorizers import (
    LambdaAuthorizers,
    evaluate_policy,
    method_arn,
)
from stratus.platform.runtime.apigateway.cache import ResponseCache, asks_for_fresh, cache_key
from stratus.platform.runtime.apigateway.events import (
    EventContext,
    HttpRequest,
    HttpResponse,
    MalformedResponseError,
    build_proxy_event,
    decoded_path,
    gateway_error,
    internal_server_error,
    proxy_response,
)
from stratus.platform.runtime.apigateway.metrics import NO_ROUTE, CacheOutcome, GatewayMetrics
from stratus.platform.runtime.apigateway.model import ApiSpec
from stratus.platform.runtime.apigateway.router import Router
from stratus.platform.runtime.apigateway.throttle import Throttler, api_key_id

Invoke = Callable[[str, dict[str, Any]], Any]

_log = logging.getLogger(__name__)
_THROTTLED = 429
#: ``x-amzn-ErrorType`` of a gateway-made response → its ``GatewayResponses`` type.
_GATEWAY_RESPONSE_TYPES = {
    "UnauthorizedException": "UNAUTHORIZED",
    "AccessDeniedException": "ACCESS_DENIED",
    "AuthorizerConfigurationException": "AUTHORIZER_CONFIGURATION_ERROR",
    "MissingAuthenticationTokenException": "MISSING_AUTHENTICATION_TOKEN",
    "TooManyRequestsException": "THROTTLED",
    "LimitExceededException": "QUOTA_EXCEEDED",
    "ForbiddenException": "INVALID_API_KEY",
}


def missing_authentication_token() -> HttpResponse:
    """What API Gateway answers for an unknown resource or method: 403, not 404."""
    return gateway_error(
        403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException"
    )


def _system_clock() -> Clock:
    from stratus.platform.adapters.local.clock import SystemClock

    return SystemClock()


class LocalApiGateway:
    """One REST API stage served locally; ``handle`` needs no sockets.

    ``invoke(function_logical_id, event)`` runs a function and returns its result as a Python
    value (the handler's return value, not a JSON string); it raises when the handler fails,
    ideally with the handler's error message as ``str(exc)`` or ``exc.error_message`` (an
    authorizer failing with "Unauthorized" must give 401). The runtime supplies it.
    ``clock`` drives every TTL, bucket and quota so tests can move time; latencies are
    measured with ``time.perf_counter``.
    """

    def __init__(
        self,
        spec: ApiSpec,
        invoke: Invoke,
        *,
        clock: Clock | None = None,
        api_id: str = "local",
        region: str = "us-east-1",
        account: str = "000000000000",
    ) -> None:
        self.spec = spec
        self.api_id = api_id
        self.region = region
        self.account = account
        self._invoke = invoke
        self._clock = clock or _system_clock()
        self.router = Router(spec.routes)
        for route in spec.routes:
            spec.authorizer_for(route)  # fail fast on an unknown authorizer name
        self.authorizers = LambdaAuthorizers(invoke, self._clock)
        self.throttler = Throttler(spec, self._clock)
        self.cache = ResponseCache(self._clock, spec.cache_ttl_s)
        self.metrics = GatewayMetrics()

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request exactly as far as this emulation goes (see module docstring)."""
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        extended_id = base64.b64encode(os.urandom(11)).decode("ascii")
        route_key = NO_ROUTE
        state: dict[str, Any] = {}
        try:
            response, route_key = self._pipeline(request, request_id, extended_id, state)
        except Exception:  # a bug here must not kill the server thread; AWS would say 500
            _log.exception("local API Gateway failed on %s %s", request.method, request.path)
            response = gateway_error(500, {"message": None}, "InternalServerErrorException")
        response = self._customised(response)
        response = HttpResponse(
            status=response.status,
            headers=[
                *response.headers,
                ("x-amzn-RequestId", request_id),
                ("x-amz-apigw-id", extended_id),
            ],
            body=response.body,
        )
        self.metrics.record(
            route_key,
            response.status,
            time.perf_counter() - started,
            integration_s=state.get("integration_s"),
            cache=state.get("cache"),
            throttled=bool(state.get("throttled")),
        )
        return response

    def _pipeline(
        self, request: HttpRequest, request_id: str, extended_id: str, state: dict[str, Any]
    ) -> tuple[HttpResponse, str]:
        spec = self.spec
        method = request.method.upper()
        match = self.router.resolve(method, request.path)
        if match is None:
            return missing_authentication_token(), NO_ROUTE
        if spec.cors is not None and method == "OPTIONS" and "OPTIONS" not in match.methods:
            return cors_.preflight(spec.cors, match.methods), f"OPTIONS {match.resource}"
        route = match.route
        if route is None:
            return missing_authentication_token(), NO_ROUTE
        key = route.key
        ctx = EventContext(
            resource=match.resource,
            path_parameters=match.path_parameters,
            stage=spec.stage,
            api_id=self.api_id,
            account=self.account,
            request_id=request_id,
            extended_request_id=extended_id,
            now=self._clock.now(),
            stage_variables=spec.stage_variables,
            binary_media_types=spec.binary_media_types,
        )
        arn = method_arn(
            region=self.region,
            account=self.account,
            api_id=self.api_id,
            stage=spec.stage,
            method=method,
            path=decoded_path(request),
        )
        may_invalidate = False
        auth_spec = spec.authorizer_for(route)
        if auth_spec is not None:
            decision = self.authorizers.authorize(auth_spec, request, ctx, arn)
            if decision.response is not None:
                return self._finish(decision.response), key
            ctx = replace(ctx, authorizer=decision.authorizer)
            if decision.result is not None:
                verdict = evaluate_policy(
                    decision.result.policy, arn, "execute-api:InvalidateCache"
                )
                may_invalidate = verdict == "allow"
        refused, api_key = self.throttler.api_key(route, request)
        if refused is not None:
            return self._finish(refused), key
        if api_key is not None:
            ctx = replace(ctx, api_key=api_key, api_key_id=api_key_id(api_key))
        throttled = self.throttler.admit(route, api_key)
        if throttled is not None:
            state["throttled"] = throttled.status == _THROTTLED
            return self._finish(throttled), key

        cached_key = None
        if spec.cache_enabled and route.caching and method == "GET":
            cached_key = cache_key(route, request, match.path_parameters)
            if not (may_invalidate and asks_for_fresh(request)):
                hit = self.cache.get(cached_key)
                if hit is not None:
                    state["cache"] = "hit"
                    return self._finish(hit), key
            miss: CacheOutcome = "miss"
            state["cache"] = miss

        event = build_proxy_event(request, ctx)
        invoked = time.perf_counter()
        try:
            result = self._invoke(route.function, event)
        except Exception:  # Lambda error in a proxy integration: AWS answers 502
            state["integration_s"] = time.perf_counter() - invoked
            _log.warning("function %s failed for %s", route.function, key, exc_info=True)
            return self._finish(internal_server_error()), key
        state["integration_s"] = time.perf_counter() - invoked
        try:
            response = proxy_response(
                result,
                accept=request.header("Accept"),
                binary_media_types=spec.binary_media_types,
            )
        except MalformedResponseError as exc:
            _log.warning("function %s: malformed Lambda proxy response: %s", route.function, exc)
            return self._finish(internal_server_error()), key
        if cached_key is not None:
            self.cache.put(cached_key, response)
        return self._finish(response), key

    def _customised(self, response: HttpResponse) -> HttpResponse:
        """Apply the API's ``GatewayResponses`` to a response API Gateway made itself.

        The type comes from ``x-amzn-ErrorType`` (only gateway-made responses carry it); a
        specific type (``UNAUTHORIZED``) wins over ``DEFAULT_4XX``/``DEFAULT_5XX``. Mapping
        templates are not evaluated: the ``application/json`` template is sent as is."""
        custom = self.spec.gateway_responses
        error_type = response.header("x-amzn-ErrorType") if custom else None
        if not error_type:
            return response
        kind = _GATEWAY_RESPONSE_TYPES.get(error_type)
        default = "DEFAULT_5XX" if response.status >= 500 else "DEFAULT_4XX"
        chosen = custom.get(kind) if kind else None
        chosen = chosen or custom.get(default)
        if chosen is None:
            return response
        return HttpResponse(
            status=chosen.status or response.status,
            headers=[*response.headers, *chosen.headers],
            body=response.body if chosen.body is None else chosen.body,
        )

    def _finish(self, response: HttpResponse) -> HttpResponse:
        cors = self.spec.cors
        if cors is not None and cors.add_origin_to_responses:
            return cors_.with_origin(cors, response)
        return response
