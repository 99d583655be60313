"""Infrastructure checks: the SAM templates are valid, deployable and agree with the code.

* :func:`lint_template` runs cfn-lint on the SAM template (cfn-lint validates SAM directly).
* :func:`translate_offline` runs the SAM translator without AWS (no boto3 session, no network:
  a fixed region, a managed-policy map that names the AWS-managed ARNs) after doing what
  ``sam package`` would do to local ``CodeUri``/``DefinitionUri`` paths; :func:`lint_translated`
  cfn-lints the CloudFormation that comes out.
* :func:`validate_asl` checks a state machine definition's structure.
* :func:`consistency` checks the wiring against the code: handlers import, every Api event has a
  route and every route an event, every environment variable a handler reads is declared, every
  ``DefinitionSubstitutions`` key is defined and used.
* :func:`package_problems` checks what ``sam build`` would package: each handler module is under
  its CodeUri, and every third-party module its import graph may reach is listed in
  ``<CodeUri>/requirements.txt`` (which SAM's Python builder installs), is in the Lambda runtime
  (boto3, botocore, stdlib) or is a local-only module imported lazily; a Lambda@Edge viewer
  function's CodeUri holds under 1 MB, has no requirements and its import graph no
  third-party module, unless :data:`KNOWN_PACKAGE_LIMITS` says why not.
* ``stratus lint-infra`` (:data:`lint_infra_command`) runs all of them on every template.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from stratus.platform.runtime.template import (
    IMPLICIT_API,
    ApiEvent,
    Application,
    FunctionDef,
    TemplateError,
    import_handler,
    load_application,
)

__all__ = [
    "check_template",
    "consistency",
    "discover_templates",
    "env_reads",
    "lint_infra_command",
    "lint_template",
    "lint_translated",
    "package_notes",
    "package_problems",
    "read_requirements",
    "third_party_imports",
    "translate_offline",
    "validate_asl",
]

#: Variables Lambda itself sets: a handler may read them without declaring them.
LAMBDA_RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
        "LANG",
        "PATH",
        "LD_LIBRARY_PATH",
        "PYTHONPATH",
        # Set by the local runtime only (absent on AWS): target, data directory, base URL.
        "STRATUS_TARGET",
        "STRATUS_HOME",
        "STRATUS_LOCAL_URL",
        # Optional platform settings, read with a default by stratus.platform modules that a
        # handler reaches when its CodeUri is the whole source tree: not the handler's own.
        "STRATUS_KMS_KEY_ID",
        "STRATUS_MAIL_VERIFIED",
        "STRATUS_SECRETS_PREFIX",
        "STRATUS_SES_CONFIGURATION_SET",
        "STRATUS_SMTP_URL",
    }
)
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")
_LAMBDA_ARN = re.compile(r"arn:aws:lambda:[^:]+:[^:]+:function:([^:\s\"]+)")
_REGION = "us-east-1"
_ACCOUNT = "123456789012"


def _format_match(match: Any, file: str) -> str:
    rule = getattr(getattr(match, "rule", None), "id", "E0000")
    line = getattr(match, "linenumber", 0)
    return f"{file}:{line}: {rule} {getattr(match, 'message', match)}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _is_problem(match: Any) -> bool:
    """Errors and warnings count; cfn-lint's informational findings do not."""
    rule_id = str(getattr(getattr(match, "rule", None), "id", "E"))
    return not rule_id.startswith("I")


def lint_template(path: Path) -> list[str]:
    """cfn-lint problems (errors and warnings) of the SAM template at ``path``."""
    import cfnlint.api

    path = Path(path)
    matches = cfnlint.api.lint_file(path)
    return [_format_match(m, _display(path)) for m in matches if _is_problem(m)]


class _FakeSession:
    """What the SAM translator asks of a boto3 session: only the region. No AWS is called."""

    region_name = _REGION


class _ManagedPolicies(dict[str, str]):
    """The managed-policy map without IAM: every AWS-managed policy name → its ARN."""

    def __missing__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and not name.startswith("arn:")


def _packaged(template: dict[str, Any], base: Path) -> dict[str, Any]:
    """What ``sam package`` does: local code paths become S3 URIs, local state machine
    definitions are inlined (so cfn-lint also checks the ASL)."""
    out = copy.deepcopy(template)
    globals_fn = (out.get("Globals") or {}).get("Function") or {}
    if isinstance(globals_fn.get("CodeUri"), str):
        globals_fn["CodeUri"] = f"s3://stratus-artifacts/{globals_fn['CodeUri'].strip('/')}"
    for resource in (out.get("Resources") or {}).values():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        kind = resource.get("Type")
        if kind in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion"):
            for key in ("CodeUri", "ContentUri"):
                if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                    props[key] = f"s3://stratus-artifacts/{props[key].strip('/')}"
        uri = props.get("DefinitionUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            if kind == "AWS::Serverless::StateMachine":
                text = (base / uri).read_text(encoding="utf-8")
                props.pop("DefinitionUri")
                props["Definition"] = json.loads(text) if uri.endswith(".json") else _yaml(text)
            else:
                props["DefinitionUri"] = f"s3://stratus-artifacts/{uri}"
    return out


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def translate_offline(path: Path, *, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of ``path``, without AWS.

    Raises TemplateError with the translator's reasons when the transform fails."""
    import cfnlint.decode
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    path = Path(path)
    decoded, matches = cfnlint.decode.decode(str(path))
    if matches or not isinstance(decoded, dict):
        raise TemplateError(_display(path), "", "cannot parse the template")
    template = _packaged(json.loads(json.dumps(decoded)), path.parent)
    values: dict[str, Any] = {
        "AWS::Region": _REGION,
        "AWS::Partition": "aws",
        "AWS::AccountId": _ACCOUNT,
        "AWS::StackName": "stratus",
        **(parameters or {}),
    }
    policies = _ManagedPolicies()
    translator = Translator(policies, Parser(), boto_session=_FakeSession())
    try:
        result: dict[str, Any] = translator.translate(
            template, values, get_managed_policy_map=lambda: policies
        )
    except InvalidDocumentException as error:
        reasons = "; ".join(str(getattr(e, "message", e)) for e in error.causes)
        raise TemplateError(_display(path), "", f"SAM translation failed: {reasons}") from None
    finally:
        translator.metrics.publish()  # to the translator's dummy publisher: nothing leaves
    return result


def lint_translated(path: Path) -> list[str]:
    """cfn-lint problems of the CloudFormation that the SAM transform makes of ``path``."""
    import cfnlint.api

    path = Path(path)
    try:
        translated = translate_offline(path)
    except TemplateError as error:
        return [str(error)]
    text = json.dumps(translated, indent=1)
    file = f"{_display(path)} (translated)"
    authored = set((_read_yaml_resources(path) or {}).keys())
    return [
        _format_match(m, file)
        for m in cfnlint.api.lint(text)
        if _is_problem(m) and not _sam_made_depends_on(m, authored)
    ]


def _read_yaml_resources(path: Path) -> dict[str, Any] | None:
    from cfnlint.decode import decode

    template, _ = decode(str(path))
    resources = (template or {}).get("Resources")
    return resources if isinstance(resources, dict) else None


def _sam_made_depends_on(match: Any, authored: set[str]) -> bool:
    """W3005 on a resource SAM generated (e.g. ``<Api>UsagePlan``/``<Api>UsagePlanKey`` of
    ``Auth.UsagePlan``): SAM writes that redundant DependsOn itself; the author cannot fix it."""
    rule_id = str(getattr(getattr(match, "rule", None), "id", ""))
    where = list(getattr(match, "path", None) or [])
    return (
        rule_id == "W3005"
        and len(where) >= 3
        and where[0] == "Resources"
        and where[2] == "DependsOn"
        and where[1] not in authored
    )


# ---- ASL ------------------------------------------------------------------------------------


def validate_asl(definition: Any) -> list[str]:
    """Structural problems of an ASL definition (empty when it is fine)."""
    try:
        from stratus.platform.asl import validate
    except ImportError:  # pragma: no cover - the ASL package ships with stratus
        return _validate_structure(definition)
    problems: list[str] = validate(definition)
    return problems


def _validate_structure(definition: Any, where: str = "") -> list[str]:
    """The fallback: StartAt, Next/Default/Catch targets, terminal states, Choice rules."""
    if not isinstance(definition, Mapping):
        return [f"{where or 'definition'}: must be an object"]
    states = definition.get("States")
    if not isinstance(states, Mapping) or not states:
        return [f"{where or 'definition'}: needs States"]
    problems: list[str] = []
    if definition.get("StartAt") not in states:
        problems.append(
            f"{where or 'definition'}: StartAt {definition.get('StartAt')!r} is not a state"
        )

    def target(label: str, name: Any) -> None:
        if name not in states:
            problems.append(f"state '{label}': Next {name!r} is not a state")

    for name, state in states.items():
        label = f"{where}{name}"
        if not isinstance(state, Mapping):
            problems.append(f"state '{label}': must be an object")
            continue
        kind = state.get("Type")
        if kind not in ("Choice", "Succeed", "Fail") and ("Next" in state) == bool(
            state.get("End")
        ):
            problems.append(f"state '{label}': needs exactly one of Next or End")
        if "Next" in state:
            target(label, state["Next"])
        for catcher in state.get("Catch") or []:
            target(label, catcher.get("Next") if isinstance(catcher, Mapping) else None)
        if kind == "Choice":
            for rule in state.get("Choices") or [None]:
                if not isinstance(rule, Mapping) or "Next" not in rule:
                    problems.append(f"state '{label}': every Choice rule needs Next")
                else:
                    target(label, rule["Next"])
            if "Default" in state:
                target(label, state["Default"])
        for i, branch in enumerate(state.get("Branches") or []):
            problems += _validate_structure(branch, f"{label}.Branches[{i}].")
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor is not None:
            problems += _validate_structure(processor, f"{label}.ItemProcessor.")
    return problems


# ---- consistency ----------------------------------------------------------------------------


def _env_key(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or ``environ`` (from os import environ)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name)
    return isinstance(node, ast.Name) and node.id == "environ"


def _reads_in(nodes: Iterable[ast.AST]) -> set[str]:
    """Names read with os.environ[...], os.environ.get(...), os.getenv(...) under ``nodes``."""
    found: set[str] = set()
    for root in nodes:
        for node in ast.walk(root):
            key: str | None = None
            if (
                isinstance(node, ast.Subscript)
                and _is_environ(node.value)
                and isinstance(node.ctx, ast.Load)
            ):
                key = _env_key(node.slice)
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in ("get", "setdefault")
                    and _is_environ(func.value)
                ) or (
                    (isinstance(func, ast.Attribute) and func.attr == "getenv")
                    or (isinstance(func, ast.Name) and func.id == "getenv")
                ):
                    key = _env_key(node.args[0])
            if key is not None:
                found.add(key)
    return found


def _module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _local_imports(tree: ast.Module, file: Path, root: Path) -> Iterator[Path]:
    """Modules of the same code tree (under ``root``) that ``tree`` imports."""
    package_parts = list(file.parent.relative_to(root).parts)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package_parts[: len(package_parts) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names = [base] if base else []
            names += [f"{base}.{a.name}" if base else a.name for a in node.names]
        for name in names:
            found = _module_file(root, name)
            if found is not None and found != file:
                yield found


def env_reads(fn: FunctionDef) -> set[str]:
    """Environment variables the function's handler may read.

    In the handler module: module-level code, the handler function and (transitively) the
    module's functions and classes it refers to. Modules of the same code tree that the handler
    module imports count whole."""
    if fn.code_uri is None:
        return set()
    module_name, _, func_name = fn.handler.rpartition(".")
    file = _module_file(fn.code_uri, module_name)
    if file is None:
        return set()
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    definitions: dict[str, ast.AST] = {}
    top_level: list[ast.AST] = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions[stmt.name] = stmt
            top_level.extend(stmt.decorator_list)
        else:
            top_level.append(stmt)
    reached: set[str] = set()
    pending = [func_name] if func_name in definitions else list(definitions)
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        for node in ast.walk(definitions[name]):
            if isinstance(node, ast.Name) and node.id in definitions and node.id not in reached:
                pending.append(node.id)
    reads = _reads_in([*top_level, *(definitions[n] for n in reached)])
    seen: set[Path] = {file}
    queue = list(_local_imports(tree, file, fn.code_uri))
    while queue:
        other = queue.pop()
        if other in seen:
            continue
        seen.add(other)
        other_tree = ast.parse(other.read_text(encoding="utf-8"), filename=str(other))
        reads |= _reads_in([other_tree])
        queue.extend(_local_imports(other_tree, other, fn.code_uri))
    return reads


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _api_problems(app: Application) -> list[str]:
    problems: list[str] = []
    seen: dict[tuple[str, str, str], str] = {}
    owners = [(f.logical_id, f.events) for f in app.functions.values()] + [
        (s.logical_id, s.events) for s in app.state_machines.values()
    ]
    for owner, events in owners:
        for event in events:
            if not isinstance(event, ApiEvent):
                continue
            where = f"Resources.{owner}.Properties.Events.{event.name}"
            api_id = event.rest_api or IMPLICIT_API
            api = app.apis.get(api_id)
            if api is None:
                problems.append(f"{where}: the API {api_id} is not in the template")
                continue
            key = (api_id, event.path, event.method)
            if key in seen:
                problems.append(
                    f"{where}: {event.method} {event.path} on {api_id} is also the route of"
                    f" {seen[key]}"
                )
            seen[key] = f"{owner}.Events.{event.name}"
            if api.routes is not None and (event.path, event.method) not in api.routes:
                problems.append(
                    f"{where}: {event.method} {event.path} has no route in {api_id}'s"
                    " DefinitionBody"
                )
            if event.authorizer not in (None, "AWS_IAM", *api.authorizers):
                problems.append(
                    f"{where}: authorizer {event.authorizer!r} is not defined on {api_id}"
                )
    for api in app.apis.values():
        for path, method in api.routes or ():
            if (api.logical_id, path, method) not in seen:
                problems.append(
                    f"Resources.{api.logical_id}: route {method} {path} has no Api event"
                )
        for authorizer in api.authorizers.values():
            if authorizer.function not in app.functions:
                problems.append(
                    f"Resources.{api.logical_id}: authorizer {authorizer.name} uses"
                    f" {authorizer.function}, which is not a function of the template"
                )
    return problems


def consistency(app: Application) -> list[str]:
    """Disagreements between the template and the code (empty when they agree)."""
    file = _display(app.path)
    problems: list[str] = []
    for fn in app.functions.values():
        where = f"Resources.{fn.logical_id}.Properties"
        try:
            import_handler(fn)
        except TemplateError as error:
            problems.append(f"{where}.Handler: {error.reason}")
            continue
        missing = sorted(env_reads(fn) - set(fn.environment) - LAMBDA_RESERVED_ENV)
        problems += [
            f"{where}.Environment.Variables: the handler reads {name} but the template does not"
            " declare it"
            for name in missing
        ]
    problems += _api_problems(app)
    for sm in app.state_machines.values():
        where = f"Resources.{sm.logical_id}.Properties.DefinitionSubstitutions"
        used = {m.group(1) for s in _strings(sm.raw_definition) for m in _SUBSTITUTION.finditer(s)}
        problems += [
            f"{where}: ${{{k}}} is used but not defined"
            for k in sorted(used - set(sm.substitutions))
        ]
        problems += [
            f"{where}: {k} is defined but never used" for k in sorted(set(sm.substitutions) - used)
        ]
        for name in {m.group(1) for s in _strings(sm.definition) for m in _LAMBDA_ARN.finditer(s)}:
            try:
                app.function_by_name(name)
            except KeyError:
                problems.append(
                    f"Resources.{sm.logical_id}: the definition invokes function {name},"
                    " which is not in the template"
                )
        problems += [
            f"Resources.{sm.logical_id}.Definition: {p}" for p in validate_asl(sm.definition)
        ]
    return [f"{file}: {p}" for p in problems]


# ---- packaging: what ``sam build`` puts in each function's package -------------------------

#: Modules the Lambda Python runtime provides (besides the standard library).
LAMBDA_RUNTIME_MODULES = frozenset({"boto3", "botocore"})

#: Import name → distribution, where the distribution is named otherwise.
DISTRIBUTION_OF: Mapping[str, str] = {
    "aws_lambda_powertools": "aws-lambda-powertools",
    "cfnlint": "cfn-lint",
    "dateutil": "python-dateutil",
    "jwt": "PyJWT",
    "pymysql": "PyMySQL",
    "samtranslator": "aws-sam-translator",
    "sqlalchemy": "SQLAlchemy",
    "yaml": "PyYAML",
}

#: Local-only modules: a handler may reach them only through a function-level import (the
#: local target's branch); at module level on a handler's import graph they are a problem,
#: because the AWS package does not (and should not) contain them.
LOCAL_ONLY_MODULES: Mapping[str, str] = {
    "duckdb": "the embedded fact store (costs); PostgreSQL on AWS",
    "moto": "the fleet sandbox (amirollout --sandbox)",
    "cfnlint": "edge.config decodes the template for the local proxy",
    "websockets": "the local chat server (streaming)",
    "uvicorn": "local ASGI serving",
    "redis": "the streaming site's optional local cache",
    "click": "command-line interfaces",
}

#: Modules that make a library load another module by name, not with an import statement:
#: ``stratus.platform.relational`` turns ``postgresql://`` into SQLAlchemy's ``postgresql+psycopg``.
IMPLIED_IMPORTS: Mapping[str, tuple[str, ...]] = {"stratus.platform.relational": ("psycopg",)}

#: Functions whose package is known to break a platform limit, with the reason. The check
#: reports them as notes instead of problems; remove an entry once the limit is met.
KNOWN_PACKAGE_LIMITS: Mapping[tuple[str, str], str] = {}

_EDGE_VIEWER_LIMIT = 1024 * 1024
_BUILD_SKIPS = frozenset(
    {"__pycache__", ".git", ".aws-sam", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def read_requirements(path: Path) -> set[str]:
    """Normalised distribution names of a pip requirements file (empty when it is absent)."""
    if not path.is_file():
        return set()
    found: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        match = _REQUIREMENT.match(text)
        if match:
            found.add(_normalise(match.group(1)))
    return found


def distribution_of(module: str) -> str:
    """The distribution that provides the top-level ``module`` (its own name when unknown)."""
    if module in DISTRIBUTION_OF:
        return DISTRIBUTION_OF[module]
    import importlib.metadata

    candidates = importlib.metadata.packages_distributions().get(module)
    return candidates[0] if candidates else module


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _guards_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
        if any(
            isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
            for n in names
        ):
            return True
    return False


def _imports(tree: ast.Module, package: list[str]) -> Iterator[tuple[str, bool, int]]:
    """``(module, lazy, line)`` for every import that may run: function-level ones are lazy;
    ``if TYPE_CHECKING:`` bodies and imports guarded by ``except ImportError`` are skipped."""

    def visit(node: ast.AST, lazy: bool) -> Iterator[tuple[str, bool, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), lazy)
                continue
            if isinstance(child, ast.Try) and _guards_import_error(child):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, lazy, child.lineno
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    anchor = package[: len(package) - (child.level - 1)]
                    base = ".".join([*anchor, *([child.module] if child.module else [])])
                else:
                    base = child.module or ""
                if base:
                    yield base, lazy, child.lineno
                for alias in child.names:
                    yield (f"{base}.{alias.name}" if base else alias.name), lazy, child.lineno
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from visit(child, inner)

    yield from visit(tree, False)


def third_party_imports(root: Path, module: str) -> dict[str, tuple[bool, str]]:
    """Top-level modules outside ``root`` and the standard library that importing ``module``
    (a module under ``root``) may import, following the modules under ``root`` through
    module-level and function-level imports: ``{name: (lazy, "importer:line")}``. ``lazy`` is
    True when every path to it goes through a function-level import."""
    found: dict[str, tuple[bool, str]] = {}
    seen: dict[str, bool] = {}
    queue: list[tuple[str, bool]] = [(module, False)]

    def note(name: str, lazy: bool, where: str) -> None:
        current = found.get(name)
        if current is None or (current[0] and not lazy):
            found[name] = (lazy, where)

    while queue:
        dotted, lazy = queue.pop()
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            file = _module_file(root, name)
            if file is None or (name in seen and (lazy or not seen[name])):
                continue
            seen[name] = lazy
            package = list(file.parent.relative_to(root).parts)
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
            for imported, inner, line in _imports(tree, package):
                top = imported.split(".", 1)[0]
                if not top or top == "__future__" or top in sys.stdlib_module_names:
                    continue
                if _module_file(root, top) is not None:
                    # ``from package import name``: name is a submodule or an attribute
                    target = imported
                    if _module_file(root, target) is None:
                        target = imported.rpartition(".")[0]
                    if target:
                        queue.append((target, lazy or inner))
                    continue
                note(top, lazy or inner, f"{name}:{line}")
            for implied in IMPLIED_IMPORTS.get(name, ()):
                note(implied, True, name)
    return found


def _package_size(root: Path) -> int:
    """Bytes of the files ``sam build`` copies from a CodeUri directory (caches left out)."""
    total = 0
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if _BUILD_SKIPS.intersection(parts) or any(p.endswith(".egg-info") for p in parts):
            continue
        if path.is_file() and path.suffix != ".pyc":
            total += path.stat().st_size
    return total


def _edge_viewer_problems(where: str, event: str, code_uri: Path, provided: set[str]) -> list[str]:
    """A Lambda@Edge viewer function's CodeUri must be under 1 MB and install nothing."""
    found: list[str] = []
    if provided:
        found.append(
            f"{where}: Lambda@Edge ({event}): {_display(code_uri / 'requirements.txt')} lists"
            f" {', '.join(sorted(provided))}; a viewer-request package (1 MB) must have no"
            " requirements: give the function its own CodeUri with only its code"
        )
    size = _package_size(code_uri)
    if size > _EDGE_VIEWER_LIMIT:
        found.append(
            f"{where}: Lambda@Edge ({event}) packages are limited to 1 MB; CodeUri"
            f" {_display(code_uri)} holds {size / 2**20:.1f} MB (caches left out)"
        )
    return found


def _edge_functions(app: Application) -> dict[str, str]:
    """Lambda@Edge functions of the template: logical id → CloudFront event type."""
    found: dict[str, str] = {}

    def visit(value: Any) -> None:
        if isinstance(value, Mapping):
            for association in value.get("LambdaFunctionAssociations") or []:
                if not isinstance(association, Mapping):
                    continue
                refs = " ".join(_strings(association.get("LambdaFunctionARN")))
                for logical_id in app.functions:
                    if re.search(rf"(?<![\w]){re.escape(logical_id)}(?![\w])", refs):
                        found[logical_id] = str(association.get("EventType", ""))
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(_read_yaml_resources(app.path) or {})
    return found


def _packaging(app: Application) -> tuple[list[str], list[str]]:
    """(problems, notes) of what ``sam build`` would package for each function."""
    file = _display(app.path)
    stratus_meta = app.metadata.get("stratus") if isinstance(app.metadata, Mapping) else None
    local_only = stratus_meta.get("local_only") if isinstance(stratus_meta, Mapping) else None
    if local_only:
        return [], [
            f"{file}: not checked for AWS packaging (Metadata stratus.local_only: {local_only})"
        ]
    problems: list[str] = []
    notes: list[str] = []
    edge = _edge_functions(app)
    for fn in app.functions.values():
        if fn.code_uri is None:
            continue
        where = f"Resources.{fn.logical_id}"
        module = fn.handler.rpartition(".")[0]
        if _module_file(fn.code_uri, module) is None:
            problems.append(
                f"{where}.Properties.Handler: module {module} is not under the CodeUri"
                f" {_display(fn.code_uri)}"
            )
            continue
        requirements_file = fn.code_uri / "requirements.txt"
        provided = read_requirements(requirements_file)
        known = KNOWN_PACKAGE_LIMITS.get((app.path.parent.parent.name, fn.logical_id))
        event = edge.get(fn.logical_id)
        viewer = event is not None and event.startswith("viewer")
        limits: list[str] = []  # of a viewer-request Lambda@Edge function
        for name, (lazy, importer) in sorted(third_party_imports(fn.code_uri, module).items()):
            if name in LAMBDA_RUNTIME_MODULES:
                continue
            if viewer:
                limits.append(
                    f"{where}: Lambda@Edge ({event}) {module} imports the third-party module"
                    f" {name} ({importer}); a viewer-request package (1 MB) carries the standard"
                    " library only"
                )
                continue
            if name in LOCAL_ONLY_MODULES:
                if not lazy:
                    problems.append(
                        f"{where}: {module} imports the local-only module {name}"
                        f" ({LOCAL_ONLY_MODULES[name]}) at module level ({importer}); the AWS"
                        " package does not have it: import it where the local target needs it"
                    )
                continue
            distribution = distribution_of(name)
            if _normalise(distribution) not in provided:
                problems.append(
                    f"{where}: {module} imports {name} ({importer}) but"
                    f" {_display(requirements_file)} does not list {distribution}"
                    " (sam build installs only what it lists)"
                )
        if viewer:
            limits += _edge_viewer_problems(where, str(event), fn.code_uri, provided)
        if known and (limits or not viewer):
            notes.append(f"{file}: {where}: known limit: {known}")
        else:
            problems += limits
    return [f"{file}: {p}" for p in problems], notes


def package_problems(app: Application) -> list[str]:
    """Functions whose ``sam build`` package would miss a module, or break a limit (empty when
    every handler module is under its CodeUri and every third-party module it may import is
    in ``<CodeUri>/requirements.txt``, the Lambda runtime, or lazily local-only)."""
    return _packaging(app)[0]


def package_notes(app: Application) -> list[str]:
    """Known packaging limits (:data:`KNOWN_PACKAGE_LIMITS`) and templates not checked."""
    return _packaging(app)[1]


# ---- discovery and the command --------------------------------------------------------------


def discover_templates(root: Path) -> list[Path]:
    """``src/stratus/solutions/*/infra/template.yaml`` and ``tests/**/template.yaml`` under root."""
    root = Path(root)
    found = set((root / "src" / "stratus" / "solutions").glob("*/infra/template.yaml"))
    found |= set((root / "tests").rglob("template.yaml"))
    return sorted(found)


def check_template(path: Path) -> list[str]:
    """Every check on one template: lint, translate + lint, load, ASL, consistency, packaging."""
    path = Path(path)
    problems = lint_template(path)
    problems += lint_translated(path)
    try:
        app = load_application(path, check_handlers=False)
    except TemplateError as error:
        return [*problems, str(error)]
    return problems + consistency(app) + package_problems(app)


_SKIP_DIRS = frozenset({".aws-sam", ".venv", "venv", "node_modules", ".git", ".stratus"})


def _expand(paths: Iterable[str]) -> list[Path]:
    """Templates named on the command line; a directory is searched (solution layout first,
    else every template.yaml below it)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            out.append(path)
            continue
        found = discover_templates(path) or sorted(
            p
            for p in path.rglob("template.yaml")
            if not _SKIP_DIRS.intersection(p.relative_to(path).parts)
        )
        out += found
    return out


@click.command("lint-infra")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def lint_infra_command(paths: tuple[str, ...]) -> None:
    """Check SAM templates: cfn-lint, offline SAM translation, ASL, code consistency, packaging.

    PATHS are templates or directories to search (default: the current directory)."""
    templates = _expand(paths) if paths else discover_templates(Path.cwd())
    if not templates:
        raise click.ClickException("no template.yaml found")
    failed = False
    for template in templates:
        problems = check_template(template)
        try:
            notes = package_notes(load_application(template, check_handlers=False))
        except TemplateError:
            notes = []
        if problems:
            failed = True
            click.echo(f"{_display(template)}: {len(problems)} problem(s)")
            for problem in problems:
                click.echo(f"  {problem}")
        else:
            click.echo(f"{_display(template)}: ok")
        for note in notes:
            click.echo(f"  note: {note}")
    if failed:
        raise SystemExit(1)
