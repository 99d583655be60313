"""From the template's APIs to local API Gateways: one :class:`LocalApiGateway` per REST API.

Mount points: each template is an application with a slug (its directory name, or the
solution's name for ``solutions/<name>/infra/template.yaml``); an application with one API is
served under ``/<slug>``, one with several under ``/<slug>/<ApiLogicalId>``. Paths below the
prefix are the API's resource paths, as after the stage on AWS
(``https://<id>.execute-api.<region>.amazonaws.com/<stage>/orders`` → ``/<slug>/orders``).

API keys of usage plans (``Auth.UsagePlan``) are generated once per API and kept in
``runtime.sqlite3``, so they survive restarts; ``stratus up`` prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stratus.platform.runtime.apigateway import (
    NO_AUTHORIZER,
    ApiSpec,
    AuthorizerSpec,
    CorsSpec,
    GatewayResponseSpec,
    LocalApiGateway,
    RouteSpec,
    ThrottleSpec,
    UsagePlanSpec,
)
from stratus.platform.runtime.template import IMPLICIT_API, ApiDef, ApiEvent, Application

if TYPE_CHECKING:
    from stratus.platform.runtime.app import LocalRuntime


def app_slug(app: Application) -> str:
    """The application's name in URLs: ``costs`` for ``solutions/costs/infra/template.yaml``."""
    parent = app.path.parent
    return parent.parent.name if parent.name == "infra" else parent.name


def _unquote(value: str | None) -> str:
    """SAM writes CORS values quoted for API Gateway (``"'*'"``)."""
    if value is None:
        return ""
    text = value.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _throttle(rate: float | None, burst: int | None) -> ThrottleSpec | None:
    if rate is None and burst is None:
        return None
    return ThrottleSpec(rate=float(rate if rate is not None else 10_000), burst=int(burst or 5_000))


def _routes(app: Application, api: ApiDef) -> list[RouteSpec]:
    routes = []
    for fn in app.functions.values():
        for ev in fn.events:
            if not isinstance(ev, ApiEvent) or (ev.rest_api or IMPLICIT_API) != api.logical_id:
                continue
            setting = api.setting_for(ev.path, ev.method)
            specific = setting is not None and setting.resource_path != "/*"
            routes.append(
                RouteSpec(
                    method=ev.method,
                    path=ev.path,
                    function=fn.function_name,
                    authorizer=ev.authorizer or NO_AUTHORIZER,
                    api_key_required=ev.api_key_required,
                    caching=ev.caching or bool(setting and setting.caching_enabled),
                    cache_key_parameters=ev.cache_key_parameters,
                    throttle=(
                        _throttle(setting.throttle_rate, setting.throttle_burst)
                        if setting is not None and specific
                        else None
                    ),
                )
            )
    return routes


def api_spec(app: Application, api: ApiDef, api_keys: tuple[str, ...]) -> ApiSpec:
    """The gateway spec of one API of one application."""
    authorizers = {
        name: AuthorizerSpec(
            name=name,
            function=app.functions[a.function].function_name
            if a.function in app.functions
            else a.function,
            type="REQUEST" if a.type == "REQUEST" else "TOKEN",
            identity_source=a.identity_sources,
            ttl_s=a.ttl_s,
            validation_regex=a.validation_regex,
        )
        for name, a in api.authorizers.items()
    }
    stage = api.setting_for("/*", "*")
    stage_throttle = _throttle(api.throttle_rate, api.throttle_burst) or (
        _throttle(stage.throttle_rate, stage.throttle_burst) if stage is not None else None
    )
    cors = None
    if api.cors is not None:
        cors = CorsSpec(
            allow_origin=_unquote(api.cors.allow_origin) or "*",
            allow_methods=tuple(m for m in _unquote(api.cors.allow_methods).split(",") if m),
            allow_headers=tuple(h for h in _unquote(api.cors.allow_headers).split(",") if h),
            max_age=api.cors.max_age,
            allow_credentials=api.cors.allow_credentials,
        )
    plans: tuple[UsagePlanSpec, ...] = ()
    if api.usage_plan is not None:
        plan = api.usage_plan
        period = plan.quota_period if plan.quota_period in ("DAY", "WEEK", "MONTH") else "DAY"
        plans = (
            UsagePlanSpec(
                name=f"{api.logical_id}UsagePlan",
                api_keys=api_keys,
                throttle=_throttle(plan.throttle_rate, plan.throttle_burst),
                quota_limit=plan.quota_limit,
                quota_period=period,  # type: ignore[arg-type]
            ),
        )
    return ApiSpec(
        name=api.logical_id,
        stage=api.stage,
        routes=tuple(_routes(app, api)),
        authorizers=authorizers,
        default_authorizer=None,  # the template model already applied DefaultAuthorizer
        stage_throttle=stage_throttle,
        cache_ttl_s=api.cache_ttl_s,
        cache_enabled=api.cache_cluster_enabled,
        cors=cors,
        usage_plans=plans,
        gateway_responses={
            kind: GatewayResponseSpec(
                status=r.status_code,
                headers=tuple((name, _unquote(value)) for name, value in r.headers.items()),
                body=r.templates["application/json"].encode()
                if "application/json" in r.templates
                else None,
            )
            for kind, r in api.gateway_responses.items()
        },
    )


def build_gateways(runtime: LocalRuntime) -> dict[str, LocalApiGateway]:
    """Every API of every application, by mount prefix."""
    from stratus.platform.runtime.app import new_api_key

    gateways: dict[str, LocalApiGateway] = {}
    for app in runtime.apps:
        slug = app_slug(app)
        for api in app.apis.values():
            prefix = f"/{slug}" if len(app.apis) == 1 else f"/{slug}/{api.logical_id}"
            keys: tuple[str, ...] = ()
            if api.usage_plan is not None:
                stored_key = f"apikey:{slug}:{api.logical_id}"
                key = runtime.checkpoints.get(stored_key)
                if key is None:
                    key = new_api_key()
                    runtime.checkpoints.set(stored_key, key)
                keys = (key,)
            spec = api_spec(app, api, keys)
            gateways[prefix] = LocalApiGateway(
                spec,
                _invoker(runtime),
                clock=runtime.clock,
                api_id=slug,
                region=app.region,
                account=app.account,
            )
    return gateways


def _invoker(runtime: LocalRuntime) -> Any:
    def invoke(function: str, event: dict[str, Any]) -> Any:
        return runtime.functions[function].invoke(event)

    return invoke
