"""What ``sam build`` packages for each function has every module its handler may import.

SAM's Python builder installs ``<CodeUri>/requirements.txt`` (here ``src/requirements.txt``) next
to the code; the Lambda runtime adds boto3 and botocore. No AWS, no network, no SAM CLI."""

from __future__ import annotations

import dataclasses
import re
import shutil
import textwrap
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from stratus.platform.runtime import infra
from stratus.platform.runtime.infra import (
    LOCAL_ONLY_MODULES,
    discover_templates,
    lint_infra_command,
    package_notes,
    package_problems,
    read_requirements,
    third_party_imports,
)
from stratus.platform.runtime.template import Application, import_handler, load_application

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
TEMPLATES = discover_templates(REPO)
IDS = [str(t.relative_to(REPO)) for t in TEMPLATES]
SOLUTIONS = [t for t in TEMPLATES if t.is_relative_to(SRC)]
EDGE = SRC / "stratus" / "solutions" / "edge" / "infra" / "template.yaml"
FACADE = SRC / "stratus" / "solutions" / "facade" / "infra" / "template.yaml"
EDGE_CODE = SRC / "stratus" / "solutions" / "edge" / "lambda_edge"


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_every_function_package_has_what_its_handler_imports(template: Path) -> None:
    assert package_problems(load_application(template, check_handlers=False)) == []


def test_every_solution_builds_from_src_with_its_requirements_but_the_edge_authorizer() -> None:
    assert SOLUTIONS
    for template in SOLUTIONS:
        app = load_application(template, check_handlers=False)
        for fn in app.functions.values():
            if (template, fn.logical_id) == (EDGE, "AuthorizerEdgeFunction"):
                assert fn.code_uri == EDGE_CODE
            else:
                assert fn.code_uri == SRC, fn.logical_id
    assert (SRC / "requirements.txt").is_file()


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_the_requirements_are_project_dependencies_and_leave_local_only_modules_out() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in project["dependencies"]}
    declared |= {_name(r) for extra in project["optional-dependencies"].values() for r in extra}
    listed = read_requirements(SRC / "requirements.txt")
    assert listed <= declared
    local_only = {_name(infra.distribution_of(m)) for m in LOCAL_ONLY_MODULES}
    assert not listed & local_only
    assert not listed & {"boto3", "botocore"}  # the Lambda runtime's


def test_the_import_graph_follows_function_level_imports_and_implied_drivers() -> None:
    facade = third_party_imports(SRC, "stratus.solutions.facade.entrypoints.api")
    assert facade["sqlalchemy"][0] is False  # module level
    assert facade["urllib3"][0] is True  # inside the transport's __init__
    assert "psycopg" in facade  # SQLAlchemy loads it by name (postgresql+psycopg)
    costs = third_party_imports(SRC, "stratus.solutions.costs.entrypoints.etl")
    assert costs["duckdb"][0] is True  # the embedded fact store, behind the local target


# ---- the check fails when it should --------------------------------------------------------


def _with_code_uri(app: Application, code_uri: Path) -> Application:
    functions = {k: dataclasses.replace(fn, code_uri=code_uri) for k, fn in app.functions.items()}
    return dataclasses.replace(app, functions=functions)


def test_a_requirement_missing_from_a_copy_of_src_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    copy.mkdir()
    (copy / "stratus").symlink_to(SRC / "stratus", target_is_directory=True)
    kept = [
        line
        for line in (SRC / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if not line.startswith("SQLAlchemy")
    ]
    (copy / "requirements.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
    app = _with_code_uri(load_application(FACADE, check_handlers=False), copy)
    problems = package_problems(app)
    assert problems
    facade = [p for p in problems if "Resources.FacadeFunction:" in p]
    assert len(facade) == 1
    assert "imports sqlalchemy" in facade[0]
    assert "does not list SQLAlchemy" in facade[0]
    (copy / "requirements.txt").unlink()
    assert any("does not list aws-lambda-powertools" in p for p in package_problems(app))


def _tree(tmp_path: Path, files: dict[str, str], requirements: str) -> Path:
    for name, text in files.items():
        path = tmp_path / "code" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (tmp_path / "code" / "requirements.txt").write_text(requirements, encoding="utf-8")
    template = tmp_path / "template.yaml"
    template.write_text(
        textwrap.dedent("""\
        AWSTemplateFormatVersion: '2010-09-09'
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Function:
            Runtime: python3.11
            CodeUri: code/
        Resources:
          Worker:
            Type: AWS::Serverless::Function
            Properties:
              Handler: pkgapp.handler.handle
          Wrong:
            Type: AWS::Serverless::Function
            Properties:
              Handler: pkgapp.nowhere.handle
        """),
        encoding="utf-8",
    )
    return template


FILES = {
    "pkgapp/__init__.py": "",
    "pkgapp/handler.py": """\
        import json

        import boto3
        import jwt

        from . import helpers


        def handle(event, context):
            from pkgapp import local
            return local.run() if event else helpers.run()
        """,
    "pkgapp/helpers.py": """\
        from typing import TYPE_CHECKING

        import yaml

        if TYPE_CHECKING:
            import mypy_extensions

        try:
            import ujson
        except ImportError:
            ujson = None


        def run():
            return yaml.safe_dump({})
        """,
    "pkgapp/local.py": """\
        import duckdb
        import websockets


        def run():
            return duckdb, websockets
        """,
}


def test_missing_requirements_wrong_handlers_and_eager_local_only_imports_are_caught(
    tmp_path: Path,
) -> None:
    template = _tree(tmp_path, FILES, "PyJWT>=2.8  # tokens\n")
    app = load_application(template, check_handlers=False)
    problems = package_problems(app)
    assert len(problems) == 2, problems
    assert "Resources.Wrong.Properties.Handler: module pkgapp.nowhere is not under" in problems[1]
    assert "Resources.Worker: pkgapp.handler imports yaml (pkgapp.helpers:3)" in problems[0]
    assert "does not list PyYAML" in problems[0]
    # duckdb and websockets are local-only and imported lazily: fine; boto3 is the runtime's,
    # ujson is optional, mypy_extensions is for type checking only.

    eager = {**FILES, "pkgapp/helpers.py": "import duckdb\n\n\ndef run():\n    return duckdb\n"}
    template = _tree(tmp_path, eager, "PyJWT>=2.8\nPyYAML\n")
    (problem, _) = package_problems(load_application(template, check_handlers=False))
    assert "Resources.Worker: pkgapp.handler imports the local-only module duckdb" in problem
    assert "at module level (pkgapp.helpers:1)" in problem


def test_lint_infra_fails_naming_the_function_module_and_distribution(tmp_path: Path) -> None:
    template = _tree(tmp_path, FILES, "")
    result = CliRunner().invoke(lint_infra_command, [str(template)])
    assert result.exit_code == 1
    assert "Resources.Worker: pkgapp.handler imports jwt" in result.output
    assert "does not list PyJWT" in result.output


def test_the_edge_authorizer_packages_alone_in_under_1_mb_with_the_standard_library_only() -> None:
    app = load_application(EDGE, check_handlers=False)
    fn = app.functions["AuthorizerEdgeFunction"]
    assert fn.code_uri == EDGE_CODE
    assert fn.handler == "edge_authorizer.handler.lambda_handler"
    assert package_problems(app) == []
    assert package_notes(app) == []
    assert third_party_imports(EDGE_CODE, "edge_authorizer.handler") == {}
    assert infra._package_size(EDGE_CODE) < 100 * 1024  # far under CloudFront's 1 MB
    assert not (EDGE_CODE / "requirements.txt").exists()
    # Lambda@Edge has no environment variables: the settings ship inside the CodeUri
    assert (EDGE_CODE / "edge_authorizer" / "authorizer.json").is_file()
    assert callable(import_handler(fn))


def _authorizer_problems(app: Application, code: Path) -> list[str]:
    functions = dict(app.functions)
    functions["AuthorizerEdgeFunction"] = dataclasses.replace(
        functions["AuthorizerEdgeFunction"], code_uri=code
    )
    problems = package_problems(dataclasses.replace(app, functions=functions))
    return [p for p in problems if "Resources.AuthorizerEdgeFunction" in p]


def test_a_viewer_request_function_with_requirements_imports_or_over_1_mb_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = load_application(EDGE, check_handlers=False)
    code = tmp_path / "lambda_edge"
    shutil.copytree(EDGE_CODE, code, ignore=shutil.ignore_patterns("__pycache__"))
    assert _authorizer_problems(app, code) == []

    (code / "requirements.txt").write_text("PyJWT[crypto]>=2.8\ncryptography\n", "utf-8")
    (problem,) = _authorizer_problems(app, code)
    assert "Resources.AuthorizerEdgeFunction: Lambda@Edge (viewer-request)" in problem
    assert "lists cryptography, pyjwt" in problem
    assert "must have no requirements" in problem
    (code / "requirements.txt").unlink()

    rules = code / "edge_authorizer" / "rules.py"
    rules.write_text("import jwt\n" + rules.read_text("utf-8"), "utf-8")
    (problem,) = _authorizer_problems(app, code)
    assert "imports the third-party module jwt (edge_authorizer.rules:1)" in problem
    assert "standard library only" in problem
    shutil.copy(EDGE_CODE / "edge_authorizer" / "rules.py", rules)

    cache = code / "edge_authorizer" / "__pycache__"
    cache.mkdir()
    (cache / "big.pyc").write_bytes(b"\0" * (2 * 1024 * 1024))  # caches are not packaged
    assert _authorizer_problems(app, code) == []
    (code / "edge_authorizer" / "table.bin").write_bytes(b"\0" * (1024 * 1024 + 1))
    (problem,) = _authorizer_problems(app, code)
    assert "packages are limited to 1 MB" in problem
    assert "holds 1.0 MB" in problem

    monkeypatch.setattr(
        infra, "KNOWN_PACKAGE_LIMITS", {("edge", "AuthorizerEdgeFunction"): "a reason"}
    )
    assert _authorizer_problems(app, code) == []
