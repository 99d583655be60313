"""Read an AWS SAM template into the model the local runtime runs.

``load_application`` decodes the template with cfn-lint's decoder (so ``!Ref``/``!GetAtt``/
``!Sub`` short forms work), applies SAM ``Globals``, evaluates ``Conditions``, resolves the
intrinsic functions on the template's own resources and builds frozen definitions of
functions (with their events), state machines, tables, queues, topics, buckets and APIs.

Local physical identifiers copy the AWS formats (queue URLs, topic/state-machine ARNs...),
with one difference: where CloudFormation would generate a name (``stack-Logical-RANDOM``) the
local runtime uses the logical id, so names are stable across restarts.

Every problem is a :class:`TemplateError` naming the file, the logical id and the property
path; a malformed template never surfaces as a KeyError.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import yaml

from stratus.platform.ports.identity import PasswordPolicy
from stratus.platform.ports.table import IndexSpec, TableSpec
from stratus.platform.runtime.schedule import parse_schedule

__all__ = [
    "ApiDef",
    "ApiEvent",
    "Application",
    "AuthorizerDef",
    "BucketDef",
    "CorsDef",
    "EventBridgeRuleEvent",
    "EventDef",
    "FunctionDef",
    "MethodSettingDef",
    "QueueDef",
    "S3Event",
    "ScheduleEvent",
    "SnsEvent",
    "SqsEvent",
    "StateMachineDef",
    "StreamEvent",
    "TableDef",
    "TemplateError",
    "TopicDef",
    "TopicSubscription",
    "UsagePlanDef",
    "UserPoolClientDef",
    "UserPoolDef",
    "import_handler",
    "load_application",
]

IMPLICIT_API = "ServerlessRestApi"
_STREAM_LABEL = "1970-01-01T00:00:00.000"
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


class TemplateError(Exception):
    """A template problem: ``<file>: <where>: <reason>`` (where = logical id + property path)."""

    def __init__(self, file: str, where: str, reason: str) -> None:
        super().__init__(f"{file}: {where}: {reason}" if where else f"{file}: {reason}")
        self.file = file
        self.where = where
        self.reason = reason


# ---- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiEvent:
    """An ``Api`` event: a REST API route that invokes the function (or starts the machine)."""

    name: str
    rest_api: str | None
    path: str
    method: str
    authorizer: str | None = None
    api_key_required: bool = False
    caching: bool = False
    cache_key_parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class SqsEvent:
    """An ``SQS`` event source mapping."""

    name: str
    queue: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    max_batching_window_s: int = 0
    enabled: bool = True


@dataclass(frozen=True)
class StreamEvent:
    """A ``DynamoDB`` stream event source mapping."""

    name: str
    table: str
    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    report_batch_item_failures: bool = False
    filter_patterns: tuple[Mapping[str, Any], ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleEvent:
    """A ``Schedule`` or ``ScheduleV2`` event (the expression is validated at load time)."""

    name: str
    expression: str
    enabled: bool = True
    input: Any = None


@dataclass(frozen=True)
class SnsEvent:
    """An ``SNS`` subscription of the function."""

    name: str
    topic: str
    filter_policy: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class S3Event:
    """An ``S3`` notification (``events`` like ``s3:ObjectCreated:*``)."""

    name: str
    bucket: str
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None


@dataclass(frozen=True)
class EventBridgeRuleEvent:
    """An ``EventBridgeRule`` (or ``CloudWatchEvent``) event with its pattern."""

    name: str
    pattern: Mapping[str, Any]
    input_path: str | None = None
    input: Any = None


EventDef: TypeAlias = (
    ApiEvent | SqsEvent | StreamEvent | ScheduleEvent | SnsEvent | S3Event | EventBridgeRuleEvent
)


@dataclass(frozen=True)
class FunctionDef:
    """An ``AWS::Serverless::Function`` after Globals and intrinsics."""

    logical_id: str
    function_name: str
    handler: str
    code_uri: Path | None
    runtime: str
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_s: int = 3
    memory_mb: int = 128
    reserved_concurrency: int | None = None
    events: tuple[EventDef, ...] = ()
    #: ``InlineCode`` (then ``code_uri`` is None): the handler module is built from this text.
    inline_code: str | None = None
    #: The template that declares the function (for error messages).
    template_path: Path | None = None


@dataclass(frozen=True)
class StateMachineDef:
    """An ``AWS::Serverless::StateMachine`` with its substituted ASL definition."""

    logical_id: str
    name: str
    arn: str
    definition: Mapping[str, Any]
    events: tuple[EventDef, ...] = ()
    definition_path: Path | None = None
    substitutions: Mapping[str, str] = field(default_factory=dict)
    raw_definition: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableDef:
    """An ``AWS::DynamoDB::Table`` or ``AWS::Serverless::SimpleTable``."""

    logical_id: str
    spec: TableSpec


@dataclass(frozen=True)
class QueueDef:
    """An ``AWS::SQS::Queue``; ``dead_letter`` is the logical id of its DLQ."""

    logical_id: str
    name: str
    url: str
    arn: str
    visibility_s: int = 30
    dead_letter: str | None = None
    max_receives: int | None = None
    fifo: bool = False


@dataclass(frozen=True)
class TopicSubscription:
    """A subscription of a topic (``Subscription`` property or ``AWS::SNS::Subscription``)."""

    protocol: str
    endpoint_logical_id: str | None
    endpoint: str
    filter_policy: Mapping[str, Any] | None = None
    raw: bool = False


@dataclass(frozen=True)
class UserPoolClientDef:
    """An ``AWS::Cognito::UserPoolClient`` (``!Ref`` gives ``client_id``)."""

    logical_id: str
    client_id: str
    id_token_validity_s: int = 3600
    access_token_validity_s: int = 3600
    #: ``ExplicitAuthFlows`` has ALLOW_USER_PASSWORD_AUTH (what the UserPool port signs in with).
    password_auth: bool = False


@dataclass(frozen=True)
class UserPoolDef:
    """An ``AWS::Cognito::UserPool`` with its groups and app clients (``!Ref`` gives
    ``pool_id``, ``<region>_<name>`` locally)."""

    logical_id: str
    pool_id: str
    policy: PasswordPolicy
    groups: tuple[str, ...] = ()
    clients: tuple[UserPoolClientDef, ...] = ()


@dataclass(frozen=True)
class TopicDef:
    """An ``AWS::SNS::Topic`` and its subscriptions."""

    logical_id: str
    name: str
    arn: str
    subscriptions: tuple[TopicSubscription, ...] = ()


@dataclass(frozen=True)
class BucketDef:
    """An ``AWS::S3::Bucket``; ``eventbridge`` when it sends events to EventBridge."""

    logical_id: str
    name: str
    eventbridge: bool = False


@dataclass(frozen=True)
class AuthorizerDef:
    """A Lambda authorizer of an API (``Auth.Authorizers.<name>``)."""

    name: str
    function: str
    type: str = "TOKEN"
    identity_sources: tuple[str, ...] = ("method.request.header.Authorization",)
    ttl_s: int = 300
    validation_regex: str | None = None


@dataclass(frozen=True)
class UsagePlanDef:
    """``Auth.UsagePlan``: throttling and quota for API keys."""

    throttle_rate: float | None = None
    throttle_burst: int | None = None
    quota_limit: int | None = None
    quota_period: str | None = None


@dataclass(frozen=True)
class GatewayResponseDef:
    """One entry of an API's ``GatewayResponses`` (header values still quoted as in SAM)."""

    status_code: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSettingDef:
    """One ``MethodSettings`` entry; ``resource_path`` decoded (``/~1a`` → ``/a``)."""

    resource_path: str
    http_method: str
    throttle_rate: float | None = None
    throttle_burst: int | None = None
    caching_enabled: bool = False
    cache_ttl_s: int | None = None


@dataclass(frozen=True)
class CorsDef:
    """``Cors`` of an API, quotes stripped (``"'*'"`` → ``*``)."""

    allow_origin: str
    allow_methods: str | None = None
    allow_headers: str | None = None
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ApiDef:
    """An ``AWS::Serverless::Api`` (or the implicit ``ServerlessRestApi``).

    ``routes`` lists (path, method) of its OpenAPI ``DefinitionBody`` when it has one, else None.
    """

    logical_id: str
    stage: str = "Prod"
    authorizers: Mapping[str, AuthorizerDef] = field(default_factory=dict)
    default_authorizer: str | None = None
    api_key_required: bool = False
    usage_plan: UsagePlanDef | None = None
    throttle_rate: float | None = None
    throttle_burst: int | None = None
    method_settings: tuple[MethodSettingDef, ...] = ()
    cache_cluster_enabled: bool = False
    cache_ttl_s: int = 300
    cors: CorsDef | None = None
    routes: tuple[tuple[str, str], ...] | None = None
    #: ``GatewayResponses`` by response type (``UNAUTHORIZED``, ``DEFAULT_5XX``...).
    gateway_responses: Mapping[str, GatewayResponseDef] = field(default_factory=dict)

    def setting_for(self, path: str, method: str) -> MethodSettingDef | None:
        """The most specific method setting that applies to ``method path``."""
        best: MethodSettingDef | None = None
        for setting in self.method_settings:
            path_ok = setting.resource_path in ("/*", path)
            method_ok = setting.http_method in ("*", method)
            if (
                path_ok
                and method_ok
                and (best is None or _specificity(setting) >= _specificity(best))
            ):
                best = setting
        return best


def _specificity(setting: MethodSettingDef) -> int:
    return (setting.resource_path != "/*") * 2 + (setting.http_method != "*")


@dataclass(frozen=True)
class Application:
    """Everything the local runtime needs from one template."""

    path: Path
    name: str
    functions: Mapping[str, FunctionDef]
    state_machines: Mapping[str, StateMachineDef]
    tables: Mapping[str, TableDef]
    queues: Mapping[str, QueueDef]
    topics: Mapping[str, TopicDef]
    buckets: Mapping[str, BucketDef]
    apis: Mapping[str, ApiDef]
    parameters: Mapping[str, str]
    region: str
    account: str
    unsupported: Mapping[str, str] = field(default_factory=dict)
    #: Verified SES senders: ``EmailIdentity`` of each ``AWS::SES::EmailIdentity``.
    email_identities: tuple[str, ...] = ()
    #: The template's top-level ``Metadata`` (e.g. ``stratus: {demo: module:function}``).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    user_pools: Mapping[str, UserPoolDef] = field(default_factory=dict)

    def function_arn(self, fn: FunctionDef) -> str:
        """The function's ARN in this application's region and account."""
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{fn.function_name}"

    def function_by_name(self, name_or_arn: str) -> FunctionDef:
        """The function with this name, logical id or (qualified) ARN; KeyError when none."""
        name = name_or_arn
        if name.startswith("arn:"):
            parts = name.split(":")
            if len(parts) < 7 or parts[5] != "function":
                raise KeyError(f"{name_or_arn!r} is not a Lambda function ARN")
            name = parts[6]
        for fn in self.functions.values():
            if name in (fn.function_name, fn.logical_id):
                return fn
        raise KeyError(f"no function named {name_or_arn!r} in {self.path}")


_Owner = TypeVar("_Owner", FunctionDef, StateMachineDef)


# ---- handler import -------------------------------------------------------------------------


@contextmanager
def _code_path(code_uri: Path | None, module: str) -> Iterator[None]:
    """Put the CodeUri directory first on sys.path while importing.

    A module of the same top-level name imported earlier from elsewhere (two solutions with an
    ``app.py``) is evicted from ``sys.modules`` first, so each function gets its own code."""
    if code_uri is None:
        yield
        return
    root = str(code_uri)
    top = module.split(".", maxsplit=1)[0]
    loaded = sys.modules.get(top)
    origin = getattr(loaded, "__file__", None) if loaded is not None else None
    if loaded is not None and origin and not Path(origin).resolve().is_relative_to(code_uri):
        for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
            del sys.modules[name]
    sys.path.insert(0, root)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        with suppress(ValueError):  # the handler may have removed it itself
            sys.path.remove(root)


def _import_handler(handler: str, code_uri: Path | None) -> Callable[[Any, Any], Any]:
    """Import ``module.func``; ImportError/AttributeError/TypeError explain what is wrong."""
    module_name, _, attr = handler.rpartition(".")
    if not module_name or not attr:
        raise ImportError("a handler is 'module.function'")
    with _code_path(code_uri, module_name):
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ImportError(f"cannot import module {module_name}: {error}") from error
        except Exception as error:
            raise ImportError(
                f"importing module {module_name} failed: {type(error).__name__}: {error}"
            ) from error
    target = getattr(module, attr, None)
    if target is None:
        raise AttributeError(f"module {module_name} has no attribute {attr}")
    if not callable(target):
        raise TypeError(f"{module_name}.{attr} is not callable")
    handler_fn: Callable[[Any, Any], Any] = target
    return handler_fn


def _inline_handler(handler: str, code: str, logical_id: str) -> Callable[[Any, Any], Any]:
    """A handler of ``InlineCode``: the code runs as a fresh module (Lambda's ``index.py``)."""
    module_name, _, attr = handler.rpartition(".")
    module = types.ModuleType(module_name or "index")
    try:
        compiled = compile(code, f"<InlineCode of {logical_id}>", "exec")
        exec(compiled, module.__dict__)  # noqa: S102 - InlineCode is the template author's code
    except Exception as error:
        raise ImportError(f"the InlineCode fails: {type(error).__name__}: {error}") from error
    target = getattr(module, attr, None)
    if not callable(target):
        raise AttributeError(f"the InlineCode has no function {attr}")
    handler_fn: Callable[[Any, Any], Any] = target
    return handler_fn


def _load_handler(fn: FunctionDef) -> Callable[[Any, Any], Any]:
    if fn.inline_code is not None:
        return _inline_handler(fn.handler, fn.inline_code, fn.logical_id)
    return _import_handler(fn.handler, fn.code_uri)


def import_handler(fn: FunctionDef) -> Callable[[Any, Any], Any]:
    """The function's handler callable, imported from its CodeUri directory (or InlineCode)."""
    try:
        return _load_handler(fn)
    except (ImportError, AttributeError, TypeError) as error:
        raise TemplateError(
            _display(fn.template_path) if fn.template_path else str(fn.code_uri or "."),
            f"Resources.{fn.logical_id}.Properties.Handler",
            f"{fn.handler!r} is not importable ({error})",
        ) from error


# ---- loading --------------------------------------------------------------------------------


class _NoValue:
    """``AWS::NoValue``: the property is removed."""


NO_VALUE = _NoValue()

_GLOBALS_TYPES = {
    "Function": "AWS::Serverless::Function",
    "Api": "AWS::Serverless::Api",
    "HttpApi": "AWS::Serverless::HttpApi",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "StateMachine": "AWS::Serverless::StateMachine",
    "LayerVersion": "AWS::Serverless::LayerVersion",
}

_SUPPORTED = {
    "AWS::Serverless::Function",
    "AWS::Serverless::StateMachine",
    "AWS::Serverless::Api",
    "AWS::Serverless::SimpleTable",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::S3::Bucket",
    "AWS::SES::EmailIdentity",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
}


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Condition")
    ) or (isinstance(value, dict) and len(value) == 1 and str(next(iter(value))).startswith("Fn::"))


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge (the resource wins), lists add up, scalars are replaced."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if _is_intrinsic(global_value) or _is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class _Loader:
    def __init__(
        self,
        *,
        path: Path,
        template: dict[str, Any],
        parameters: Mapping[str, str],
        region: str,
        account: str,
        stack_name: str,
    ) -> None:
        self.path = path
        self.file = _display(path)
        self.base = path.parent
        self.template = template
        self.region = region
        self.account = account
        self.stack_name = stack_name
        self.resources: dict[str, dict[str, Any]] = {}
        self.unsupported: dict[str, str] = {}
        raw_resources = template.get("Resources")
        if not isinstance(raw_resources, dict) or not raw_resources:
            raise TemplateError(self.file, "Resources", "the template declares no resources")
        self.parameters = self._parameters(parameters)
        self.conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._names: dict[str, str] = {}
        self._naming: set[str] = set()
        for logical_id, resource in raw_resources.items():
            where = f"Resources.{logical_id}"
            if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
                raise TemplateError(self.file, where, "a resource needs a Type")
            props = resource.get("Properties", {})
            if props is None:
                props = {}
            if not isinstance(props, dict):
                raise TemplateError(self.file, f"{where}.Properties", "must be a mapping")
            self.resources[str(logical_id)] = {**resource, "Properties": props}
        self._apply_globals()
        self.resources = {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if "Condition" not in resource
            or self.condition(str(resource["Condition"]), f"Resources.{logical_id}.Condition")
        }

    def error(self, where: str, reason: str) -> TemplateError:
        return TemplateError(self.file, where, reason)

    # -- parameters, globals, conditions --

    def _parameters(self, overrides: Mapping[str, str]) -> dict[str, Any]:
        declared = self.template.get("Parameters") or {}
        if not isinstance(declared, dict):
            raise self.error("Parameters", "must be a mapping")
        values: dict[str, Any] = {}
        for name, raw_spec in declared.items():
            where = f"Parameters.{name}"
            spec = raw_spec if isinstance(raw_spec, dict) else {}
            if name in overrides:
                value: Any = overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise self.error(where, "has no Default and no value was given")
            allowed = spec.get("AllowedValues")
            if isinstance(allowed, list) and str(value) not in [str(a) for a in allowed]:
                raise self.error(where, f"{value!r} is not one of {allowed}")
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                value = [part.strip() for part in str(value).split(",")] if value != "" else []
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            values[str(name)] = value
        unknown = sorted(set(overrides) - set(values))
        if unknown:
            raise self.error("Parameters", f"values given for undeclared parameters {unknown}")
        return values

    def _apply_globals(self) -> None:
        globals_ = self.template.get("Globals") or {}
        if not isinstance(globals_, dict):
            raise self.error("Globals", "must be a mapping")
        for section, settings in globals_.items():
            if section not in _GLOBALS_TYPES:
                raise self.error(f"Globals.{section}", "is not a section SAM supports")
            if not isinstance(settings, dict):
                raise self.error(f"Globals.{section}", "must be a mapping")
            for resource in self.resources.values():
                if resource["Type"] == _GLOBALS_TYPES[section]:
                    resource["Properties"] = _merge_globals(settings, resource["Properties"])

    def condition(self, name: str, where: str) -> bool:
        if name in self.conditions:
            return self.conditions[name]
        declared = self.template.get("Conditions") or {}
        if not isinstance(declared, dict) or name not in declared:
            raise self.error(where, f"condition {name!r} is not declared in Conditions")
        if name in self._evaluating:
            raise self.error(f"Conditions.{name}", "refers to itself")
        self._evaluating.add(name)
        value = self.resolve(declared[name], f"Conditions.{name}")
        self._evaluating.discard(name)
        if not isinstance(value, bool):
            raise self.error(f"Conditions.{name}", "must evaluate to true or false")
        self.conditions[name] = value
        return value

    # -- physical identifiers --

    def resource(self, logical_id: str, where: str) -> dict[str, Any]:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise self.error(where, f"refers to {logical_id!r}, which is not a resource here")
        return resource

    def name_of(self, logical_id: str, where: str) -> str:
        """The local physical name of a resource."""
        if logical_id in self._names:
            return self._names[logical_id]
        resource = self.resource(logical_id, where)
        kind = resource["Type"]
        prop = {
            "AWS::Serverless::Function": "FunctionName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Serverless::SimpleTable": "TableName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Serverless::StateMachine": "Name",
            "AWS::SES::EmailIdentity": "EmailIdentity",
            "AWS::Cognito::UserPool": "UserPoolName",
            "AWS::Cognito::UserPoolClient": "ClientName",
            "AWS::Cognito::UserPoolGroup": "GroupName",
        }.get(kind)
        if logical_id in self._naming:
            raise self.error(where, f"the name of {logical_id!r} refers to itself")
        self._naming.add(logical_id)
        try:
            props = resource["Properties"]
            name: str | None = None
            if prop and prop in props:
                value = self.resolve(props[prop], f"Resources.{logical_id}.Properties.{prop}")
                if value is not NO_VALUE:
                    name = str(value)
            if name is None:
                name = logical_id.lower() if kind == "AWS::S3::Bucket" else logical_id
                if kind == "AWS::SQS::Queue" and _as_bool(
                    self.resolve(props.get("FifoQueue", False), f"Resources.{logical_id}")
                ):
                    name += ".fifo"
        finally:
            self._naming.discard(logical_id)
        self._names[logical_id] = name
        return name

    def ref(self, target: str, where: str) -> Any:
        if target in self.parameters:
            return self.parameters[target]
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/local"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if target in pseudo:
            return pseudo[target]
        if target == "AWS::NoValue":
            return NO_VALUE
        implicit = self._implicit(target)
        if implicit is not None:
            return implicit[0]
        kind = self.resource(target, where)["Type"]
        name = self.name_of(target, where)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{self.account}:{name}"
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"
        if kind == "AWS::Cognito::UserPool":
            return f"{self.region}_{re.sub(r'[^A-Za-z0-9-]', '', name) or target}"
        if kind == "AWS::Cognito::UserPoolClient":
            return re.sub(r"[^A-Za-z0-9_-]", "", name) or target
        return name

    def _implicit(self, target: str) -> tuple[str, dict[str, str]] | None:
        """Resources SAM generates: the implicit API, function roles, API stages."""
        if target == IMPLICIT_API:
            return target, {"RootResourceId": "root"}
        for suffix in ("Role", "Stage", "Deployment"):
            owner = target.removesuffix(suffix)
            if owner != target and owner in self.resources:
                kind = self.resources[owner]["Type"]
                if suffix == "Role" and kind in (
                    "AWS::Serverless::Function",
                    "AWS::Serverless::StateMachine",
                ):
                    return target, {"Arn": f"arn:aws:iam::{self.account}:role/{target}"}
                if suffix != "Role" and kind == "AWS::Serverless::Api":
                    return target, {}
        return None

    def get_att(self, target: str, attribute: str, where: str) -> Any:
        implicit = self._implicit(target)
        if implicit is not None:
            if attribute in implicit[1]:
                return implicit[1][attribute]
            raise self.error(where, f"{target} has no attribute {attribute!r}")
        kind = self.resource(target, where)["Type"]
        if kind not in _SUPPORTED:
            # Not emulated locally: a recognisable placeholder rather than a failure.
            service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "unknown"
            return f"arn:aws:{service}:{self.region}:{self.account}:{target}/{attribute}"
        name = self.name_of(target, where)
        r, a = self.region, self.account
        attributes: dict[str, dict[str, Any]] = {
            "AWS::Serverless::Function": {"Arn": f"arn:aws:lambda:{r}:{a}:function:{name}"},
            "AWS::DynamoDB::Table": {
                "Arn": f"arn:aws:dynamodb:{r}:{a}:table/{name}",
                "StreamArn": f"arn:aws:dynamodb:{r}:{a}:table/{name}/stream/{_STREAM_LABEL}",
            },
            "AWS::Serverless::SimpleTable": {"Arn": f"arn:aws:dynamodb:{r}:{a}:table/{name}"},
            "AWS::SQS::Queue": {
                "Arn": f"arn:aws:sqs:{r}:{a}:{name}",
                "QueueName": name,
                "QueueUrl": f"https://sqs.{r}.amazonaws.com/{a}/{name}",
            },
            "AWS::SNS::Topic": {"TopicArn": f"arn:aws:sns:{r}:{a}:{name}", "TopicName": name},
            "AWS::S3::Bucket": {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{r}.amazonaws.com",
                "DualStackDomainName": f"{name}.s3.dualstack.{r}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{r}.amazonaws.com",
            },
            "AWS::Serverless::StateMachine": {
                "Arn": f"arn:aws:states:{r}:{a}:stateMachine:{name}",
                "Name": name,
            },
            "AWS::Serverless::Api": {"RootResourceId": "root"},
            "AWS::SNS::Subscription": {"Arn": f"arn:aws:sns:{r}:{a}:{target}"},
        }
        if kind == "AWS::Cognito::UserPool":
            pool_id = self.ref(target, where)
            attributes[kind] = {
                "Arn": f"arn:aws:cognito-idp:{r}:{a}:userpool/{pool_id}",
                "ProviderName": f"cognito-idp.{r}.amazonaws.com/{pool_id}",
                "ProviderURL": f"https://cognito-idp.{r}.amazonaws.com/{pool_id}",
                "UserPoolId": pool_id,
            }
        elif kind == "AWS::Cognito::UserPoolClient":
            attributes[kind] = {"ClientId": self.ref(target, where), "Name": name}
        known = attributes.get(kind, {})
        if attribute not in known:
            raise self.error(where, f"{target} ({kind}) has no attribute {attribute!r} here")
        return known[attribute]

    # -- intrinsic functions --

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            here = f"{where}.{key}"
            if key == "Ref":
                if not isinstance(arg, str):
                    raise self.error(here, "Ref takes a name")
                return self.ref(arg, here)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg, here)
            if key == "Fn::GetAtt":
                return self._get_att(arg, here)
            if key == "Fn::Sub":
                return self._sub(arg, here)
            if key == "Fn::Join":
                if not isinstance(arg, list) or len(arg) != 2:
                    raise self.error(here, "Fn::Join takes [delimiter, list]")
                items = self.resolve(arg[1], here)
                if not isinstance(items, list):
                    raise self.error(here, "Fn::Join needs a list to join")
                return str(self.resolve(arg[0], here)).join(str(i) for i in items)
            if key == "Fn::Select":
                if not isinstance(arg, list) or len(arg) != 2:
                    raise self.error(here, "Fn::Select takes [index, list]")
                index, items = self.resolve(arg[0], here), self.resolve(arg[1], here)
                try:
                    return items[int(index)]
                except (IndexError, ValueError, TypeError):
                    raise self.error(here, f"index {index!r} is not in {items!r}") from None
            if key == "Fn::Split":
                if not isinstance(arg, list) or len(arg) != 2:
                    raise self.error(here, "Fn::Split takes [delimiter, string]")
                return str(self.resolve(arg[1], here)).split(str(self.resolve(arg[0], here)))
            if key == "Fn::If":
                if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
                    raise self.error(here, "Fn::If takes [condition, if-true, if-false]")
                chosen = arg[1] if self.condition(arg[0], here) else arg[2]
                return self.resolve(chosen, here)
            if key in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
                return self._logic(key, arg, here)
            if key == "Fn::FindInMap":
                return self._find_in_map(arg, here)
            if key == "Fn::Base64":
                return base64.b64encode(str(self.resolve(arg, here)).encode()).decode()
            if key == "Fn::GetAZs":
                return [f"{self.region}{zone}" for zone in "abc"]
            if key == "Fn::Transform":
                return self._include(arg, here)
            if key.startswith("Fn::"):
                raise self.error(here, f"{key} cannot be resolved locally")
        return {
            k: resolved
            for k, v in value.items()
            if (resolved := self.resolve(v, f"{where}.{k}")) is not NO_VALUE
        }

    def _get_att(self, arg: Any, where: str) -> Any:
        if isinstance(arg, str) and "." in arg:
            target, attribute = arg.split(".", 1)
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            target, attribute = arg[0], str(self.resolve(arg[1], where))
        else:
            raise self.error(where, "Fn::GetAtt takes [resource, attribute]")
        return self.get_att(target, attribute, where)

    def _sub(self, arg: Any, where: str) -> str:
        if isinstance(arg, str):
            text, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            text, variables = arg[0], arg[1]
        else:
            raise self.error(where, "Fn::Sub takes a string or [string, variables]")
        if not isinstance(text, str):
            raise self.error(where, "Fn::Sub needs a string")

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(self.resolve(variables[token], f"{where}.{token}"))
            if "." in token and not token.startswith("AWS::"):
                target, attribute = token.split(".", 1)
                return str(self.get_att(target, attribute, where))
            return str(self.ref(token, where))

        return _SUBSTITUTION.sub(replace, text)

    def _include(self, arg: Any, where: str) -> Any:
        """``Fn::Transform: {Name: AWS::Include, Parameters: {Location: local-file}}``."""
        params = arg.get("Parameters") if isinstance(arg, dict) else None
        location = params.get("Location") if isinstance(params, dict) else None
        if not isinstance(arg, dict) or arg.get("Name") != "AWS::Include" or not location:
            raise self.error(where, "only AWS::Include of a local file is resolved locally")
        if not isinstance(location, str) or location.startswith("s3://"):
            raise self.error(where, f"cannot include {location} locally")
        included = (self.base / location).resolve()
        import cfnlint.decode

        content, matches = cfnlint.decode.decode(str(included))
        if matches or content is None:
            raise self.error(where, f"cannot read the included file {location}")
        return self.resolve(content, f"{where}({location})")

    def _logic(self, key: str, arg: Any, where: str) -> bool:
        if not isinstance(arg, list):
            raise self.error(where, f"{key} takes a list")
        values = [self.resolve(item, where) for item in arg]
        if key == "Fn::Equals":
            if len(values) != 2:
                raise self.error(where, "Fn::Equals takes two values")
            return str(values[0]) == str(values[1])
        if not all(isinstance(v, bool) for v in values):
            raise self.error(where, f"{key} takes conditions")
        if key == "Fn::Not":
            return not values[0]
        return all(values) if key == "Fn::And" else any(values)

    def _find_in_map(self, arg: Any, where: str) -> Any:
        if not isinstance(arg, list) or len(arg) != 3:
            raise self.error(where, "Fn::FindInMap takes [map, key, key]")
        name, first, second = (str(self.resolve(a, where)) for a in arg)
        try:
            return self.template["Mappings"][name][first][second]
        except (KeyError, TypeError):
            raise self.error(where, f"Mappings has no {name}.{first}.{second}") from None

    # -- references by logical id --

    def logical_ref(self, value: Any, where: str, *, allowed: tuple[str, ...] = ()) -> str:
        """The logical id a property points at (``!Ref X``, ``!GetAtt X.Arn`` or ``X``)."""
        target: Any = None
        if isinstance(value, dict) and len(value) == 1:
            key, arg = next(iter(value.items()))
            if key == "Ref":
                target = arg
            elif key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else (arg or [None])[0]
        elif isinstance(value, str):
            target = value
        if not isinstance(target, str):
            raise self.error(where, "must be !Ref or !GetAtt of a resource of this template")
        if target == IMPLICIT_API and "AWS::Serverless::Api" in allowed:
            return target
        resource = self.resources.get(target)
        if resource is None:
            raise self.error(where, f"refers to {target!r}, which is not a resource here")
        if allowed and resource["Type"] not in allowed:
            raise self.error(where, f"{target!r} is a {resource['Type']}, expected {allowed}")
        return target

    def prop(self, logical_id: str, name: str, default: Any = None) -> Any:
        props = self.resources[logical_id]["Properties"]
        if name not in props:
            return default
        value = self.resolve(props[name], f"Resources.{logical_id}.Properties.{name}")
        return default if value is NO_VALUE else value

    def int_prop(self, logical_id: str, name: str, default: int | None) -> int | None:
        value = self.prop(logical_id, name, default)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.error(
                f"Resources.{logical_id}.Properties.{name}", f"{value!r} is not an integer"
            ) from None

    # -- the definitions --

    def build(self, check_handlers: bool) -> Application:
        functions: dict[str, FunctionDef] = {}
        machines: dict[str, StateMachineDef] = {}
        tables: dict[str, TableDef] = {}
        queues: dict[str, QueueDef] = {}
        topics: dict[str, TopicDef] = {}
        buckets: dict[str, BucketDef] = {}
        apis: dict[str, ApiDef] = {}
        identities: list[str] = []
        user_pools: dict[str, UserPoolDef] = {}
        for logical_id, resource in self.resources.items():
            kind = resource["Type"]
            if kind == "AWS::Serverless::Function":
                functions[logical_id] = self.function(logical_id)
            elif kind == "AWS::Serverless::StateMachine":
                machines[logical_id] = self.state_machine(logical_id)
            elif kind in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
                tables[logical_id] = self.table(logical_id)
            elif kind == "AWS::SQS::Queue":
                queues[logical_id] = self.queue(logical_id)
            elif kind == "AWS::SNS::Topic":
                topics[logical_id] = self.topic(logical_id)
            elif kind == "AWS::S3::Bucket":
                buckets[logical_id] = self.bucket(logical_id)
            elif kind == "AWS::Serverless::Api":
                apis[logical_id] = self.api(logical_id, resource["Properties"])
            elif kind == "AWS::SES::EmailIdentity":
                identities.append(self.email_identity(logical_id))
            elif kind == "AWS::Cognito::UserPool":
                user_pools[logical_id] = self.user_pool(logical_id)
            elif kind in ("AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"):
                self._pool_of(logical_id)  # read with their pool; here: check the reference
            elif kind != "AWS::SNS::Subscription":
                self.unsupported[logical_id] = kind
        implicit_needed = any(
            isinstance(event, ApiEvent) and event.rest_api is None
            for events in [fn.events for fn in functions.values()]
            + [sm.events for sm in machines.values()]
            for event in events
        )
        if implicit_needed:
            globals_api = (self.template.get("Globals") or {}).get("Api") or {}
            apis[IMPLICIT_API] = self.api(IMPLICIT_API, dict(globals_api))
        functions = {key: self._with_api_settings(fn, apis) for key, fn in functions.items()}
        machines = {key: self._with_api_settings(sm, apis) for key, sm in machines.items()}
        if check_handlers:
            for fn in functions.values():
                try:
                    _load_handler(fn)
                except (ImportError, AttributeError, TypeError) as error:
                    raise self.error(
                        f"Resources.{fn.logical_id}.Properties.Handler",
                        f"{fn.handler!r} is not importable ({error})",
                    ) from error
        return Application(
            path=self.path,
            name=self.stack_name,
            functions=functions,
            state_machines=machines,
            tables=tables,
            queues=queues,
            topics=topics,
            buckets=buckets,
            apis=apis,
            parameters={
                k: ",".join(v) if isinstance(v, list) else str(v)
                for k, v in self.parameters.items()
            },
            region=self.region,
            account=self.account,
            unsupported=dict(self.unsupported),
            email_identities=tuple(identities),
            metadata=self._metadata(),
            user_pools=user_pools,
        )

    def _metadata(self) -> dict[str, Any]:
        metadata = self.template.get("Metadata") or {}
        if not isinstance(metadata, dict):
            raise self.error("Metadata", "must be a mapping")
        plain: dict[str, Any] = json.loads(json.dumps(metadata, default=str))
        return plain

    def function(self, logical_id: str) -> FunctionDef:
        where = f"Resources.{logical_id}.Properties"
        handler = self.prop(logical_id, "Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise self.error(f"{where}.Handler", f"{handler!r} is not a 'module.function' handler")
        code = self.prop(logical_id, "CodeUri")
        inline = self.prop(logical_id, "InlineCode")
        code_uri = (self.base / code).resolve() if isinstance(code, str) else None
        if code_uri is not None and not code_uri.exists():
            raise self.error(f"{where}.CodeUri", f"{code!r} does not exist next to the template")
        env = self.prop(logical_id, "Environment", {}) or {}
        variables = env.get("Variables", {}) if isinstance(env, dict) else None
        if not isinstance(variables, dict):
            raise self.error(f"{where}.Environment.Variables", "must be a mapping")
        events = tuple(
            self.event(logical_id, name, spec)
            for name, spec in (self.resources[logical_id]["Properties"].get("Events") or {}).items()
        )
        return FunctionDef(
            logical_id=logical_id,
            function_name=self.name_of(logical_id, where),
            handler=handler,
            code_uri=code_uri,
            runtime=str(self.prop(logical_id, "Runtime", "python3.11")),
            environment={str(k): _env_value(v) for k, v in variables.items()},
            timeout_s=self.int_prop(logical_id, "Timeout", 3) or 3,
            memory_mb=self.int_prop(logical_id, "MemorySize", 128) or 128,
            reserved_concurrency=self.int_prop(logical_id, "ReservedConcurrentExecutions", None),
            events=tuple(event for event in events if event is not None),
            inline_code=inline if isinstance(inline, str) and code_uri is None else None,
            template_path=self.path,
        )

    def event(self, owner: str, name: str, spec: Any) -> EventDef | None:
        where = f"Resources.{owner}.Properties.Events.{name}"
        if not isinstance(spec, dict) or not isinstance(spec.get("Type"), str):
            raise self.error(where, "an event needs a Type")
        kind = spec["Type"]
        raw = spec.get("Properties") or {}
        if not isinstance(raw, dict):
            raise self.error(f"{where}.Properties", "must be a mapping")
        here = f"{where}.Properties"
        props = self.resolve(raw, here)

        def required(key: str) -> Any:
            if key not in props:
                raise self.error(f"{here}.{key}", f"is required for a {kind} event")
            return props[key]

        def report(p: Mapping[str, Any]) -> bool:
            return "ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or [])

        if kind == "Api":
            auth = props.get("Auth") or {}
            authorizer = auth.get("Authorizer")
            cache_keys = tuple(
                str(param)
                for entry in props.get("RequestParameters") or []
                for param, options in (entry.items() if isinstance(entry, dict) else [(entry, {})])
                if isinstance(options, dict) and _as_bool(options.get("Caching", False))
            )
            return ApiEvent(
                name=name,
                rest_api=(
                    self.logical_ref(
                        raw["RestApiId"], f"{here}.RestApiId", allowed=("AWS::Serverless::Api",)
                    )
                    if "RestApiId" in raw
                    else None
                ),
                path=str(required("Path")),
                method=str(required("Method"))
                .upper()
                .replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"),
                authorizer=str(authorizer) if authorizer else None,
                api_key_required=_as_bool(auth.get("ApiKeyRequired", False)),
                cache_key_parameters=cache_keys,
            )
        if kind == "SQS":
            required("Queue")
            return SqsEvent(
                name=name,
                queue=self.logical_ref(raw["Queue"], f"{here}.Queue", allowed=("AWS::SQS::Queue",)),
                batch_size=int(props.get("BatchSize", 10)),
                report_batch_item_failures=report(props),
                max_batching_window_s=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                enabled=_as_bool(props.get("Enabled", True)),
            )
        if kind == "DynamoDB":
            required("Stream")
            filters = (props.get("FilterCriteria") or {}).get("Filters") or []
            patterns = []
            for i, item in enumerate(filters):
                pattern = item.get("Pattern") if isinstance(item, dict) else None
                try:
                    patterns.append(json.loads(pattern) if isinstance(pattern, str) else pattern)
                except json.JSONDecodeError as error:
                    raise self.error(
                        f"{here}.FilterCriteria.Filters[{i}].Pattern", f"is not JSON: {error}"
                    ) from None
            return StreamEvent(
                name=name,
                table=self.logical_ref(
                    raw["Stream"],
                    f"{here}.Stream",
                    allowed=("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"),
                ),
                batch_size=int(props.get("BatchSize", 100)),
                starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
                report_batch_item_failures=report(props),
                filter_patterns=tuple(p for p in patterns if isinstance(p, dict)),
                enabled=_as_bool(props.get("Enabled", True)),
            )
        if kind in ("Schedule", "ScheduleV2"):
            key = "Schedule" if kind == "Schedule" else "ScheduleExpression"
            expression = str(required(key))
            try:
                parse_schedule(expression)
            except ValueError as error:
                raise self.error(f"{here}.{key}", str(error)) from None
            if kind == "Schedule":
                enabled = _as_bool(props.get("Enabled", True))
                if "State" in props:
                    enabled = str(props["State"]).upper() == "ENABLED"
            else:
                enabled = str(props.get("State", "ENABLED")).upper() == "ENABLED"
            payload = props.get("Input")
            if isinstance(payload, str):
                try:
                    payload = json.loads(payload)
                except json.JSONDecodeError as error:
                    raise self.error(f"{here}.Input", f"is not JSON: {error}") from None
            return ScheduleEvent(name=name, expression=expression, enabled=enabled, input=payload)
        if kind == "SNS":
            required("Topic")
            return SnsEvent(
                name=name,
                topic=self.logical_ref(raw["Topic"], f"{here}.Topic", allowed=("AWS::SNS::Topic",)),
                filter_policy=props.get("FilterPolicy"),
            )
        if kind == "S3":
            required("Bucket")
            events = required("Events")
            rules = ((props.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            by_name = {
                str(rule.get("Name", "")).lower(): str(rule.get("Value"))
                for rule in rules
                if isinstance(rule, dict)
            }
            return S3Event(
                name=name,
                bucket=self.logical_ref(
                    raw["Bucket"], f"{here}.Bucket", allowed=("AWS::S3::Bucket",)
                ),
                events=tuple(events) if isinstance(events, list) else (str(events),),
                prefix=by_name.get("prefix"),
                suffix=by_name.get("suffix"),
            )
        if kind in ("EventBridgeRule", "CloudWatchEvent"):
            payload = props.get("Input")
            if isinstance(payload, str):
                try:
                    payload = json.loads(payload)
                except json.JSONDecodeError as error:
                    raise self.error(f"{here}.Input", f"is not JSON: {error}") from None
            pattern = required("Pattern")
            if not isinstance(pattern, dict):
                raise self.error(f"{here}.Pattern", "must be a mapping")
            return EventBridgeRuleEvent(
                name=name, pattern=pattern, input_path=props.get("InputPath"), input=payload
            )
        self.unsupported[f"{owner}.Events.{name}"] = kind
        return None

    def _with_api_settings(self, fn: _Owner, apis: Mapping[str, ApiDef]) -> _Owner:
        """Fill authorizer fallbacks and caching from the API the event belongs to."""
        events: list[EventDef] = []
        for event in fn.events:
            if isinstance(event, ApiEvent):
                events.append(_api_event_with(event, apis.get(event.rest_api or IMPLICIT_API)))
            else:
                events.append(event)
        return replace(fn, events=tuple(events))

    def state_machine(self, logical_id: str) -> StateMachineDef:
        where = f"Resources.{logical_id}.Properties"
        props = self.resources[logical_id]["Properties"]
        definition_path: Path | None = None
        if "DefinitionUri" in props:
            uri = self.prop(logical_id, "DefinitionUri")
            if not isinstance(uri, str):
                raise self.error(f"{where}.DefinitionUri", "must be a file next to the template")
            definition_path = (self.base / uri).resolve()
            try:
                text = definition_path.read_text(encoding="utf-8")
            except OSError as error:
                raise self.error(f"{where}.DefinitionUri", f"cannot read {uri}: {error}") from None
            try:
                raw = (
                    json.loads(text) if definition_path.suffix == ".json" else yaml.safe_load(text)
                )
            except (json.JSONDecodeError, yaml.YAMLError) as error:
                raise self.error(f"{where}.DefinitionUri", f"{uri} is not valid: {error}") from None
        elif "Definition" in props:
            raw = self.prop(logical_id, "Definition")
        else:
            raise self.error(where, "a state machine needs DefinitionUri or Definition")
        if not isinstance(raw, dict):
            raise self.error(f"{where}.Definition", "must be a mapping")
        substitutions = self.prop(logical_id, "DefinitionSubstitutions", {}) or {}
        if not isinstance(substitutions, dict):
            raise self.error(f"{where}.DefinitionSubstitutions", "must be a mapping")
        values = {str(k): _env_value(v) for k, v in substitutions.items()}

        def substitute(value: Any, path: str) -> Any:
            if isinstance(value, str):

                def one(match: re.Match[str]) -> str:
                    key = match.group(1)
                    if key not in values:
                        raise self.error(
                            f"{where}.DefinitionSubstitutions",
                            f"${{{key}}} is used at {path} but not defined",
                        )
                    return values[key]

                return _SUBSTITUTION.sub(one, value)
            if isinstance(value, list):
                return [substitute(v, f"{path}[{i}]") for i, v in enumerate(value)]
            if isinstance(value, dict):
                return {k: substitute(v, f"{path}.{k}") for k, v in value.items()}
            return value

        definition = substitute(raw, "Definition")
        events = tuple(
            self.event(logical_id, name, spec) for name, spec in (props.get("Events") or {}).items()
        )
        name = self.name_of(logical_id, where)
        return StateMachineDef(
            logical_id=logical_id,
            name=name,
            arn=f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}",
            definition=definition,
            events=tuple(event for event in events if event is not None),
            definition_path=definition_path,
            substitutions=values,
            raw_definition=raw,
        )

    def table(self, logical_id: str) -> TableDef:
        where = f"Resources.{logical_id}.Properties"
        name = self.name_of(logical_id, where)
        if self.resources[logical_id]["Type"] == "AWS::Serverless::SimpleTable":
            primary = self.prop(logical_id, "PrimaryKey", {"Name": "id"}) or {}
            return TableDef(
                logical_id,
                TableSpec(name=name, partition_key=str(primary.get("Name", "id")), sort_key=None),
            )
        keys = self.prop(logical_id, "KeySchema")
        hash_key, range_key = _key_schema(keys)
        if hash_key is None:
            raise self.error(f"{where}.KeySchema", "needs a HASH key")
        indexes: dict[str, IndexSpec] = {}
        for i, gsi in enumerate(self.prop(logical_id, "GlobalSecondaryIndexes", []) or []):
            index_name = gsi.get("IndexName") if isinstance(gsi, dict) else None
            index_hash, index_range = _key_schema(gsi.get("KeySchema") if gsi else None)
            if not isinstance(index_name, str) or index_hash is None:
                raise self.error(
                    f"{where}.GlobalSecondaryIndexes[{i}]", "needs IndexName and a HASH key"
                )
            indexes[index_name] = IndexSpec(index_hash, index_range)
        ttl = self.prop(logical_id, "TimeToLiveSpecification") or {}
        stream = self.prop(logical_id, "StreamSpecification") or {}
        return TableDef(
            logical_id,
            TableSpec(
                name=name,
                partition_key=hash_key,
                sort_key=range_key,
                indexes=indexes,
                ttl_attribute=(
                    str(ttl["AttributeName"])
                    if ttl.get("AttributeName") and _as_bool(ttl.get("Enabled", True))
                    else None
                ),
                stream=bool(stream.get("StreamViewType")),
            ),
        )

    def queue(self, logical_id: str) -> QueueDef:
        where = f"Resources.{logical_id}.Properties"
        name = self.name_of(logical_id, where)
        props = self.resources[logical_id]["Properties"]
        redrive = props.get("RedrivePolicy")
        dead_letter: str | None = None
        max_receives: int | None = None
        if isinstance(redrive, dict) and not _is_intrinsic(redrive):
            if "deadLetterTargetArn" in redrive:
                dead_letter = self.logical_ref(
                    redrive["deadLetterTargetArn"],
                    f"{where}.RedrivePolicy.deadLetterTargetArn",
                    allowed=("AWS::SQS::Queue",),
                )
            count = self.resolve(redrive.get("maxReceiveCount"), f"{where}.RedrivePolicy")
            max_receives = int(count) if count is not None else None
        return QueueDef(
            logical_id=logical_id,
            name=name,
            url=f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}",
            arn=f"arn:aws:sqs:{self.region}:{self.account}:{name}",
            visibility_s=self.int_prop(logical_id, "VisibilityTimeout", 30) or 0,
            dead_letter=dead_letter,
            max_receives=max_receives,
            fifo=_as_bool(self.prop(logical_id, "FifoQueue", False)),
        )

    def _subscription(self, raw: Any, where: str) -> TopicSubscription:
        if not isinstance(raw, dict):
            raise self.error(where, "must be a mapping")
        props = self.resolve(raw, where)
        endpoint_ref = raw.get("Endpoint")
        endpoint_logical: str | None = None
        if isinstance(endpoint_ref, dict) and (
            "Ref" in endpoint_ref or "Fn::GetAtt" in endpoint_ref
        ):
            endpoint_logical = self.logical_ref(endpoint_ref, f"{where}.Endpoint")
        if "Protocol" not in props or "Endpoint" not in props:
            raise self.error(where, "a subscription needs Protocol and Endpoint")
        return TopicSubscription(
            protocol=str(props["Protocol"]),
            endpoint_logical_id=endpoint_logical,
            endpoint=str(props["Endpoint"]),
            filter_policy=props.get("FilterPolicy"),
            raw=_as_bool(props.get("RawMessageDelivery", False)),
        )

    def topic(self, logical_id: str) -> TopicDef:
        where = f"Resources.{logical_id}.Properties"
        name = self.name_of(logical_id, where)
        raw_subs = self.resources[logical_id]["Properties"].get("Subscription") or []
        subscriptions = [
            self._subscription(sub, f"{where}.Subscription[{i}]") for i, sub in enumerate(raw_subs)
        ]
        for other_id, other in self.resources.items():
            if other["Type"] != "AWS::SNS::Subscription":
                continue
            other_where = f"Resources.{other_id}.Properties"
            topic_ref = other["Properties"].get("TopicArn")
            if topic_ref is None:
                raise self.error(f"{other_where}.TopicArn", "is required")
            if self.logical_ref(topic_ref, f"{other_where}.TopicArn") == logical_id:
                subscriptions.append(self._subscription(other["Properties"], other_where))
        return TopicDef(
            logical_id=logical_id,
            name=name,
            arn=f"arn:aws:sns:{self.region}:{self.account}:{name}",
            subscriptions=tuple(subscriptions),
        )

    def _pool_of(self, logical_id: str) -> str:
        """The logical id of the user pool a client or group belongs to (``UserPoolId``)."""
        where = f"Resources.{logical_id}.Properties.UserPoolId"
        value = self.resources[logical_id]["Properties"].get("UserPoolId")
        if value is None:
            raise self.error(where, "is required")
        return self.logical_ref(value, where, allowed=("AWS::Cognito::UserPool",))

    def user_pool(self, logical_id: str) -> UserPoolDef:
        where = f"Resources.{logical_id}.Properties.Policies"
        policies = self.prop(logical_id, "Policies", {})
        if not isinstance(policies, dict):
            raise self.error(where, "must be a mapping")
        try:
            policy = PasswordPolicy.from_cognito(policies.get("PasswordPolicy"))
        except (TypeError, ValueError, AttributeError) as exc:
            raise self.error(f"{where}.PasswordPolicy", f"not a password policy ({exc})") from exc
        if not 6 <= policy.min_length <= 99:
            raise self.error(f"{where}.PasswordPolicy.MinimumLength", "must be 6 to 99")
        groups: list[str] = []
        clients: list[UserPoolClientDef] = []
        for other_id, other in self.resources.items():
            kind = other["Type"]
            if kind not in ("AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"):
                continue
            if self._pool_of(other_id) != logical_id:
                continue
            if kind == "AWS::Cognito::UserPoolGroup":
                groups.append(self.name_of(other_id, f"Resources.{other_id}"))
            else:
                clients.append(self.user_pool_client(other_id))
        return UserPoolDef(
            logical_id=logical_id,
            pool_id=str(self.ref(logical_id, f"Resources.{logical_id}")),
            policy=policy,
            groups=tuple(groups),
            clients=tuple(clients),
        )

    def user_pool_client(self, logical_id: str) -> UserPoolClientDef:
        where = f"Resources.{logical_id}.Properties"
        units = self.prop(logical_id, "TokenValidityUnits", {})
        if not isinstance(units, dict):
            raise self.error(f"{where}.TokenValidityUnits", "must be a mapping")
        seconds = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}

        def validity(name: str, unit_key: str) -> int:
            unit = str(units.get(unit_key, "hours"))
            if unit not in seconds:
                raise self.error(f"{where}.TokenValidityUnits.{unit_key}",
                                 f"{unit!r} is not seconds, minutes, hours or days")
            amount = self.int_prop(logical_id, name, None)
            return 3600 if amount is None else amount * seconds[unit]  # Cognito: 1 hour

        flows = self.prop(logical_id, "ExplicitAuthFlows", [])
        if not isinstance(flows, list):
            raise self.error(f"{where}.ExplicitAuthFlows", "must be a list")
        return UserPoolClientDef(
            logical_id=logical_id,
            client_id=str(self.ref(logical_id, f"Resources.{logical_id}")),
            id_token_validity_s=validity("IdTokenValidity", "IdToken"),
            access_token_validity_s=validity("AccessTokenValidity", "AccessToken"),
            password_auth=bool({"ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"} & set(flows)),
        )

    def email_identity(self, logical_id: str) -> str:
        identity = self.prop(logical_id, "EmailIdentity")
        if not isinstance(identity, str) or not identity:
            raise self.error(
                f"Resources.{logical_id}.Properties.EmailIdentity", "must be an address or domain"
            )
        return identity

    def bucket(self, logical_id: str) -> BucketDef:
        notification = self.prop(logical_id, "NotificationConfiguration") or {}
        eventbridge = notification.get("EventBridgeConfiguration")
        enabled = isinstance(eventbridge, dict) and _as_bool(
            eventbridge.get("EventBridgeEnabled", True)
        )
        return BucketDef(
            logical_id, self.name_of(logical_id, f"Resources.{logical_id}"), eventbridge=enabled
        )

    def api(self, logical_id: str, raw_props: Mapping[str, Any]) -> ApiDef:
        where = f"Resources.{logical_id}.Properties"
        props = self.resolve(dict(raw_props), where)
        auth = props.get("Auth") or {}
        authorizers: dict[str, AuthorizerDef] = {}
        for name, spec in (auth.get("Authorizers") or {}).items():
            here = f"{where}.Auth.Authorizers.{name}"
            raw_spec = ((raw_props.get("Auth") or {}).get("Authorizers") or {}).get(name) or {}
            if "FunctionArn" not in raw_spec:
                # Cognito and IAM authorizers are not emulated: recorded, never a failure.
                self.unsupported[f"{logical_id}.Auth.Authorizers.{name}"] = "non-Lambda authorizer"
                continue
            function = self.logical_ref(
                raw_spec["FunctionArn"],
                f"{here}.FunctionArn",
                allowed=("AWS::Serverless::Function",),
            )
            kind = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
            identity = spec.get("Identity") or {}
            if kind == "TOKEN":
                sources: tuple[str, ...] = (
                    f"method.request.header.{identity.get('Header', 'Authorization')}",
                )
            else:
                sources = (
                    *(f"method.request.header.{h}" for h in identity.get("Headers") or []),
                    *(
                        f"method.request.querystring.{q}"
                        for q in identity.get("QueryStrings") or []
                    ),
                    *(f"stageVariables.{s}" for s in identity.get("StageVariables") or []),
                    *(f"context.{c}" for c in identity.get("Context") or []),
                )
            authorizers[str(name)] = AuthorizerDef(
                name=str(name),
                function=function,
                type=kind,
                identity_sources=sources,
                ttl_s=int(identity.get("ReauthorizeEvery", 300)),
                validation_regex=identity.get("ValidationExpression"),
            )
        default = auth.get("DefaultAuthorizer")
        if default is not None and default not in authorizers and default != "AWS_IAM":
            raise self.error(
                f"{where}.Auth.DefaultAuthorizer", f"{default!r} is not one of the Authorizers"
            )
        plan_spec = auth.get("UsagePlan") or {}
        usage_plan = None
        if plan_spec and str(plan_spec.get("CreateUsagePlan", "NONE")).upper() != "NONE":
            throttle = plan_spec.get("Throttle") or {}
            quota = plan_spec.get("Quota") or {}
            usage_plan = UsagePlanDef(
                throttle_rate=_float_or_none(throttle.get("RateLimit")),
                throttle_burst=_int_or_none(throttle.get("BurstLimit")),
                quota_limit=_int_or_none(quota.get("Limit")),
                quota_period=quota.get("Period"),
            )
        settings = tuple(
            MethodSettingDef(
                resource_path=_resource_path(str(s.get("ResourcePath", "/*"))),
                http_method=str(s.get("HttpMethod", "*")).upper(),
                throttle_rate=_float_or_none(s.get("ThrottlingRateLimit")),
                throttle_burst=_int_or_none(s.get("ThrottlingBurstLimit")),
                caching_enabled=_as_bool(s.get("CachingEnabled", False)),
                cache_ttl_s=_int_or_none(s.get("CacheTtlInSeconds")),
            )
            for s in props.get("MethodSettings") or []
            if isinstance(s, dict)
        )
        star = next((s for s in settings if s.resource_path == "/*" and s.http_method == "*"), None)
        cors_spec = props.get("Cors")
        cors: CorsDef | None = None
        if isinstance(cors_spec, str):
            cors = CorsDef(allow_origin=_unquote(cors_spec))
        elif isinstance(cors_spec, dict) and "AllowOrigin" in cors_spec:
            cors = CorsDef(
                allow_origin=_unquote(str(cors_spec["AllowOrigin"])),
                allow_methods=_unquote_or_none(cors_spec.get("AllowMethods")),
                allow_headers=_unquote_or_none(cors_spec.get("AllowHeaders")),
                max_age=_int_or_none(_unquote_or_none(cors_spec.get("MaxAge"))),
                allow_credentials=_as_bool(cors_spec.get("AllowCredentials", False)),
            )
        body = props.get("DefinitionBody")
        routes: tuple[tuple[str, str], ...] | None = None
        if isinstance(body, dict) and isinstance(body.get("paths"), dict):
            routes = tuple(
                (str(path), "ANY" if m == "x-amazon-apigateway-any-method" else str(m).upper())
                for path, methods in body["paths"].items()
                if isinstance(methods, dict)
                for m in methods
                if m in _HTTP_METHODS
            )
        gateway_responses = {
            str(kind): GatewayResponseDef(
                status_code=_int_or_none(spec.get("StatusCode")),
                headers={
                    str(k): str(v)
                    for k, v in (
                        (spec.get("ResponseParameters") or {}).get("Headers") or {}
                    ).items()
                },
                templates={
                    str(k): str(v) for k, v in (spec.get("ResponseTemplates") or {}).items()
                },
            )
            for kind, spec in (props.get("GatewayResponses") or {}).items()
            if isinstance(spec, dict)
        }
        if logical_id != IMPLICIT_API and "StageName" not in props:
            raise self.error(f"{where}.StageName", "is required for AWS::Serverless::Api")
        return ApiDef(
            logical_id=logical_id,
            stage=str(props.get("StageName", "Prod")),
            authorizers=authorizers,
            default_authorizer=default,
            api_key_required=_as_bool(auth.get("ApiKeyRequired", False)),
            usage_plan=usage_plan,
            throttle_rate=star.throttle_rate if star else None,
            throttle_burst=star.throttle_burst if star else None,
            method_settings=settings,
            cache_cluster_enabled=_as_bool(props.get("CacheClusterEnabled", False)),
            cache_ttl_s=star.cache_ttl_s if star and star.cache_ttl_s is not None else 300,
            cors=cors,
            routes=routes,
            gateway_responses=gateway_responses,
        )


_HTTP_METHODS = {
    "get",
    "put",
    "post",
    "delete",
    "patch",
    "head",
    "options",
    "x-amazon-apigateway-any-method",
}


def _api_event_with(event: ApiEvent, api: ApiDef | None) -> ApiEvent:
    if api is None:
        return event
    authorizer = event.authorizer
    if authorizer is None:
        authorizer = api.default_authorizer
    if authorizer == "NONE":
        authorizer = None
    setting = api.setting_for(event.path, event.method)
    caching = api.cache_cluster_enabled and setting is not None and setting.caching_enabled
    return ApiEvent(
        name=event.name,
        rest_api=event.rest_api,
        path=event.path,
        method=event.method,
        authorizer=authorizer,
        api_key_required=event.api_key_required or api.api_key_required,
        caching=caching,
        cache_key_parameters=event.cache_key_parameters,
    )


def _resource_path(encoded: str) -> str:
    """MethodSettings paths: ``/*`` or ``/`` + the resource path with ``/`` escaped as ``~1``."""
    if encoded in ("/*", "*", ""):
        return "/*"
    decoded = encoded.removeprefix("/").replace("~1", "/")
    return decoded if decoded.startswith("/") else "/" + decoded


def _key_schema(keys: Any) -> tuple[str | None, str | None]:
    hash_key = range_key = None
    for key in keys or []:
        if not isinstance(key, dict):
            continue
        if key.get("KeyType") == "HASH":
            hash_key = str(key.get("AttributeName"))
        elif key.get("KeyType") == "RANGE":
            range_key = str(key.get("AttributeName"))
    return hash_key, range_key


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _unquote_or_none(value: Any) -> str | None:
    return None if value is None else _unquote(str(value))


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _decode(path: Path) -> dict[str, Any]:
    import cfnlint.decode

    display = _display(path)
    if not path.is_file():
        raise TemplateError(display, "", "no such template file")
    template, matches = cfnlint.decode.decode(str(path))
    if matches or not isinstance(template, dict):
        reasons = "; ".join(str(getattr(m, "message", m)) for m in matches or [])
        raise TemplateError(display, "", f"cannot parse the template: {reasons or 'not a mapping'}")
    return template


def load_application(
    path: Path,
    *,
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    account: str = "000000000000",
    check_handlers: bool = True,
    stack_name: str | None = None,
) -> Application:
    """Read the SAM template at ``path`` into an :class:`Application`.

    ``parameters`` override the template's Parameter defaults; the stack name defaults to the
    template directory's name (``infra`` directories use their parent's name). With
    ``check_handlers`` every function's Handler is imported now, so a wrong handler path fails
    at start-up rather than at the first request.
    """
    path = Path(path)
    template = _decode(path)
    if stack_name is None:
        directory = path.resolve().parent
        stack_name = directory.parent.name if directory.name == "infra" else directory.name
    loader = _Loader(
        path=path,
        template=template,
        parameters=parameters or {},
        region=region,
        account=account,
        stack_name=stack_name,
    )
    return loader.build(check_handlers)
