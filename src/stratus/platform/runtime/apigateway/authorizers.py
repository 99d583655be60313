"""Lambda TOKEN and REQUEST authorizers: events, result cache and IAM policy evaluation.

Copies API Gateway REST APIs:

* a missing or empty identity source, or a token failing ``validation_regex``, is 401
  ``{"message":"Unauthorized"}`` and the function is not called;
* the function failing with the message ``Unauthorized`` is 401; any other failure or a
  malformed answer (no ``principalId``/``policyDocument``, a nested ``context`` value) is
  500 ``{"message":null}`` (``AuthorizerConfigurationException``);
* the answer's policy is evaluated against the request's ``methodArn``
  (``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}``): an explicit
  Deny wins; without a matching Allow the request is 403 ``AccessDeniedException``;
* the answer is cached per authorizer and identity source values for ``ttl_s`` seconds of
  the injected clock (0 = no cache); a cached policy is evaluated again against EACH
  request's ``methodArn``, so it never grants more than it states;
* ``principalId`` and the ``context`` map (values turned into strings, as REST APIs do)
  become ``requestContext.authorizer`` of the proxy event, with ``integrationLatency``.

Departures: the function returning the bare string ``"Unauthorized"`` is also taken as 401;
``usageIdentifierKey`` (API key source AUTHORIZER) is not supported; identity sources may be
``method.request.header.*``, ``method.request.querystring.*`` and ``stageVariables.*``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any, Literal

from stratus.platform.ports.clock import Clock
from stratus.platform.runtime.apigateway.events import (
    EventContext,
    HttpRequest,
    HttpResponse,
    build_request_context,
    decoded_path,
    gateway_error,
)
from stratus.platform.runtime.apigateway.model import AuthorizerSpec

Invoke = Callable[[str, dict[str, Any]], Any]
PolicyVerdict = Literal["allow", "explicit_deny", "implicit_deny"]

_HEADER = "method.request.header."
_QUERY = "method.request.querystring."
_STAGE_VAR = "stageVariables."


def method_arn(
    *, region: str, account: str, api_id: str, stage: str, method: str, path: str
) -> str:
    """``arn:aws:execute-api:region:account:apiId/stage/METHOD/path`` for a decoded path."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method.upper()}/{path[1:]}"


@lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM wildcards: '*' is any run of characters (slashes included), '?' exactly one.
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def evaluate_policy(
    policy: Mapping[str, Any], arn: str, action: str = "execute-api:Invoke"
) -> PolicyVerdict:
    """IAM evaluation of one policy document for one action on one resource ARN.

    Actions match case-insensitively, resources case-sensitively; explicit Deny wins.
    """
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, Mapping):
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if not any(_glob(a, True).match(action) for a in actions):
            continue
        if not any(_glob(r, False).match(arn) for r in resources):
            continue
        effect = str(statement.get("Effect", ""))
        if effect == "Deny":
            return "explicit_deny"
        if effect == "Allow":
            allowed = True
    return "allow" if allowed else "implicit_deny"


@dataclass(frozen=True, slots=True)
class AuthorizerResult:
    """A well-formed authorizer answer (what the cache keeps)."""

    principal_id: str
    policy: Mapping[str, Any]
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """Either ``response`` (the request stops here) or the ``authorizer`` map for the event."""

    response: HttpResponse | None
    authorizer: Mapping[str, Any] | None = None
    result: AuthorizerResult | None = None
    cached: bool = False

    @property
    def allowed(self) -> bool:
        """True when the request may go on to the integration."""
        return self.response is None


def unauthorized() -> HttpResponse:
    """401 as API Gateway sends it."""
    return gateway_error(401, {"message": "Unauthorized"}, "UnauthorizedException")


def configuration_error() -> HttpResponse:
    """500 ``{"message": null}``: what AWS answers for a failing or malformed authorizer."""
    return gateway_error(500, {"message": None}, "AuthorizerConfigurationException")


def access_denied(explicit: bool) -> HttpResponse:
    """403 for a policy that denies (explicitly or by not allowing) the methodArn."""
    message = "User is not authorized to access this resource"
    if explicit:
        message += " with an explicit deny"
    return gateway_error(403, {"Message": message}, "AccessDeniedException")


class _MalformedAuthorizerError(ValueError):
    pass


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _MalformedAuthorizerError(f"context value {value!r} is not a string, number or bool")


def parse_authorizer_result(answer: Any) -> AuthorizerResult:
    """Validate an authorizer function's answer; raises ValueError when malformed."""
    if not isinstance(answer, Mapping):
        raise _MalformedAuthorizerError("answer is not an object")
    principal = answer.get("principalId")
    policy = answer.get("policyDocument")
    if principal is None or not isinstance(policy, Mapping):
        raise _MalformedAuthorizerError("principalId and policyDocument are required")
    context = answer.get("context") or {}
    if not isinstance(context, Mapping):
        raise _MalformedAuthorizerError("context is not an object")
    return AuthorizerResult(
        principal_id=str(principal),
        policy=policy,
        context={str(k): _stringify(v) for k, v in context.items()},
    )


def identity_values(
    spec: AuthorizerSpec, request: HttpRequest, ctx: EventContext
) -> tuple[str, ...] | None:
    """The identity source values in order, or None when one is missing or empty."""
    values: list[str] = []
    query = dict(request.query_pairs())
    for source in spec.identity_source:
        value: str | None
        if source.startswith(_HEADER):
            value = request.header(source[len(_HEADER) :])
        elif source.startswith(_QUERY):
            value = query.get(source[len(_QUERY) :])
        elif source.startswith(_STAGE_VAR):
            value = ctx.stage_variables.get(source[len(_STAGE_VAR) :])
        else:
            raise ValueError(f"authorizer {spec.name}: unsupported identity source {source!r}")
        if not value:
            return None
        values.append(value)
    return tuple(values)


class LambdaAuthorizers:
    """Runs Lambda authorizers for one API stage and caches their answers.

    Thread-safe: the HTTP shell calls it from many threads.
    """

    def __init__(self, invoke: Invoke, clock: Clock) -> None:
        self._invoke = invoke
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, AuthorizerResult]] = {}
        self.invocations = 0

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _event(
        self, spec: AuthorizerSpec, request: HttpRequest, ctx: EventContext, arn: str, token: str
    ) -> dict[str, Any]:
        if spec.type == "TOKEN":
            return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in request.query_pairs():
            query[name] = value
            multi_query.setdefault(name, []).append(value)
        return {
            "type": "REQUEST",
            "methodArn": arn,
            "resource": ctx.resource,
            "path": decoded_path(request),
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": dict(ctx.path_parameters),
            "stageVariables": dict(ctx.stage_variables),
            "requestContext": build_request_context(request, ctx),
        }

    def _cached(self, key: tuple[str, tuple[str, ...]]) -> AuthorizerResult | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            expires, result = entry
            if self._now() >= expires:
                del self._cache[key]
                return None
            return result

    def authorize(
        self, spec: AuthorizerSpec, request: HttpRequest, ctx: EventContext, arn: str
    ) -> AuthDecision:
        """Decide whether ``request`` (whose methodArn is ``arn``) may proceed."""
        values = identity_values(spec, request, ctx)
        if values is None:
            return AuthDecision(unauthorized())
        token = values[0] if values else ""
        regex = spec.validation_regex
        if spec.type == "TOKEN" and regex is not None and re.fullmatch(regex, token) is None:
            return AuthDecision(unauthorized())
        # AWS caches REQUEST authorizers only when identity sources are configured.
        use_cache = spec.ttl_s > 0 and bool(values)
        key = (spec.name, values)
        started = time.perf_counter()
        result = self._cached(key) if use_cache else None
        cached = result is not None
        if result is None:
            event = self._event(spec, request, ctx, arn, token)
            with self._lock:
                self.invocations += 1
            try:
                answer = self._invoke(spec.function, event)
            except Exception as exc:  # the function failed: its message decides 401 vs 500
                message = getattr(exc, "error_message", None) or str(exc)
                return AuthDecision(
                    unauthorized() if message == "Unauthorized" else configuration_error()
                )
            if answer == "Unauthorized":
                return AuthDecision(unauthorized())
            try:
                result = parse_authorizer_result(answer)
            except ValueError:
                return AuthDecision(configuration_error())
            if use_cache:
                expires = (self._clock.now() + timedelta(seconds=spec.ttl_s)).timestamp()
                with self._lock:
                    self._cache[key] = (expires, result)
        latency_ms = int((time.perf_counter() - started) * 1000)
        verdict = evaluate_policy(result.policy, arn)
        if verdict != "allow":
            return AuthDecision(
                access_denied(verdict == "explicit_deny"), result=result, cached=cached
            )
        authorizer: dict[str, Any] = {"principalId": result.principal_id, **result.context}
        authorizer["integrationLatency"] = 0 if cached else latency_ms
        return AuthDecision(None, authorizer=authorizer, result=result, cached=cached)
