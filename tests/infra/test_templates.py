"""Every SAM template is valid, deployable and agrees with its code; broken ones are caught."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from stratus.platform.runtime.infra import (
    _validate_structure,
    check_template,
    consistency,
    discover_templates,
    env_reads,
    lint_infra_command,
    lint_template,
    lint_translated,
    translate_offline,
    validate_asl,
)
from stratus.platform.runtime.template import TemplateError, load_application

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = discover_templates(REPO)
IDS = [str(t.relative_to(REPO)) for t in TEMPLATES]


def test_the_example_application_is_discovered() -> None:
    assert REPO / "tests" / "example_app" / "template.yaml" in TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_cfn_lint_finds_nothing(template: Path) -> None:
    assert lint_template(template) == []


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_sam_translation_made_offline_lints_clean(template: Path) -> None:
    translated = translate_offline(template)
    assert translated["Resources"]
    assert "Transform" not in translated
    assert lint_translated(template) == []


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_every_state_machine_definition_is_valid_asl(template: Path) -> None:
    app = load_application(template)
    for machine in app.state_machines.values():
        assert validate_asl(machine.definition) == [], machine.logical_id


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_template_and_the_code_agree(template: Path) -> None:
    assert consistency(load_application(template)) == []


# ---- broken templates are caught -----------------------------------------------------------


def make_app(
    tmp_path: Path,
    resources: str,
    *,
    code: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    for name, text in (code or {}).items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    template = tmp_path / "template.yaml"
    template.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n" + textwrap.indent(textwrap.dedent(resources), "  "),
        encoding="utf-8",
    )
    return template


def function(handler: str, env: str = "{}", events: str = "{}") -> str:
    return textwrap.dedent(f"""\
    Worker:
      Type: AWS::Serverless::Function
      Properties:
        Handler: {handler}
        Runtime: python3.11
        CodeUri: src/
        Environment:
          Variables: {env}
        Events: {events}
    """)


WORKER = """\
import os

from infra_helpers import settings


def handle(event, context):
    return {"table": os.environ["TABLE_NAME"], "mode": _mode(), "other": settings()}


def _mode():
    return os.getenv("MODE", "fast")


def unrelated(event, context):
    return os.environ.get("NEVER_READ_BY_HANDLE")
"""
HELPERS = """\
from os import environ


def settings():
    return environ.get("HELPER_SETTING")
"""


def test_an_unknown_handler_fails_at_load_naming_the_resource_and_property(
    tmp_path: Path,
) -> None:
    path = make_app(tmp_path, function("infra_worker_a.nope"), code={"infra_worker_a.py": WORKER})
    with pytest.raises(TemplateError) as raised:
        load_application(path, check_handlers=True)
    assert "Resources.Worker.Properties.Handler: 'infra_worker_a.nope' is not importable" in str(
        raised.value
    )
    app = load_application(path, check_handlers=False)
    (problem,) = consistency(app)
    assert "Resources.Worker.Properties.Handler" in problem


def test_an_undefined_definition_substitution_is_caught(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        """\
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            DefinitionUri: machine.asl.json
            DefinitionSubstitutions:
              Defined: arn:aws:states:::pass
        """,
        files={
            "machine.asl.json": json.dumps(
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Comment": "${Undefined}",
                                                  "End": True}}}
            )
        },
    )  # fmt: skip
    with pytest.raises(TemplateError, match=r"\$\{Undefined\} is used at .* but not defined"):
        load_application(path)
    assert any("${Undefined}" in p for p in check_template(path))


def test_an_unused_definition_substitution_is_reported(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        """\
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Definition:
              StartAt: A
              States:
                A: {Type: Pass, End: true}
            DefinitionSubstitutions:
              Leftover: x
        """,
    )
    (problem,) = consistency(load_application(path))
    assert "DefinitionSubstitutions: Leftover is defined but never used" in problem


def test_a_ref_to_a_missing_resource_is_caught(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        function("infra_worker_b.handle", env="{TABLE_NAME: !Ref Missing}"),
        code={"infra_worker_b.py": WORKER, "infra_helpers.py": HELPERS},
    )
    with pytest.raises(TemplateError, match=r"Variables\.TABLE_NAME\.Ref: refers to 'Missing'"):
        load_application(path)
    # cfn-lint on the SAM template misses it; on the translated template it does not
    assert any("E1020 'Missing'" in problem for problem in lint_translated(path))


def test_a_variable_read_but_not_declared_is_caught(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        function("infra_worker_c.handle", env="{MODE: slow}"),
        code={"infra_worker_c.py": WORKER, "infra_helpers.py": HELPERS},
    )
    problems = consistency(load_application(path))
    assert len(problems) == 2
    assert "the handler reads HELPER_SETTING but the template does not declare it" in problems[0]
    assert "the handler reads TABLE_NAME but the template does not declare it" in problems[1]


def test_variables_are_read_from_the_handler_its_helpers_and_imported_modules(
    tmp_path: Path,
) -> None:
    path = make_app(
        tmp_path,
        function("infra_worker_d.handle"),
        code={"infra_worker_d.py": WORKER, "infra_helpers.py": HELPERS},
    )
    fn = load_application(path, check_handlers=False).functions["Worker"]
    assert env_reads(fn) == {"TABLE_NAME", "MODE", "HELPER_SETTING"}


def test_relative_imports_inside_a_package_are_followed(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        function("infra_pkg.entry.handle"),
        code={
            "infra_pkg/__init__.py": "",
            "infra_pkg/entry.py": "from . import config\n\n"
            "def handle(e, c):\n    return config.X\n",
            "infra_pkg/config.py": "import os\nX = os.environ['PKG_SETTING']\n",
        },
    )
    fn = load_application(path, check_handlers=False).functions["Worker"]
    assert env_reads(fn) == {"PKG_SETTING"}


def test_routes_of_an_openapi_body_and_api_events_must_match(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        textwrap.dedent("""\
        Api:
          Type: AWS::Serverless::Api
          Properties:
            StageName: v1
            DefinitionBody:
              openapi: "3.0.1"
              info: {title: t, version: "1"}
              paths:
                /documented:
                  get: {}
        """)
        + function(
            "infra_worker_e.handle",
            env="{TABLE_NAME: t, MODE: m, HELPER_SETTING: h}",
            events="{Undocumented: {Type: Api, Properties: {RestApiId: !Ref Api, "
            "Path: /undocumented, Method: get}}}",
        ),
        code={"infra_worker_e.py": WORKER, "infra_helpers.py": HELPERS},
    )
    problems = consistency(load_application(path))
    assert len(problems) == 2
    assert "GET /undocumented has no route in Api's DefinitionBody" in problems[0]
    assert "route GET /documented has no Api event" in problems[1]


def test_a_definition_invoking_an_unknown_function_is_caught(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        """\
        Machine:
          Type: AWS::Serverless::StateMachine
          Properties:
            Definition:
              StartAt: A
              States:
                A:
                  Type: Task
                  Resource: arn:aws:lambda:us-east-1:000000000000:function:Ghost
                  Next: B
                B: {Type: Succeed}
        """,
    )
    (problem,) = consistency(load_application(path))
    assert "invokes function Ghost, which is not in the template" in problem


def test_invalid_sam_is_refused_by_the_offline_translation(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        """\
        Worker:
          Type: AWS::Serverless::Function
          Properties:
            Handler: a.b
            Runtime: python3.11
            InlineCode: x
            Events:
              Broken: {Type: SQS, Properties: {BatchSize: 5}}
        """,
    )
    with pytest.raises(TemplateError, match="SAM translation failed"):
        translate_offline(path)


def test_asl_problems_are_reported_by_state() -> None:
    broken = {
        "StartAt": "Missing",
        "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True}]},
            "T": {"Type": "Task", "Resource": "x", "End": True,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]},
        },
    }  # fmt: skip
    for problems in (validate_asl(broken), _validate_structure(broken)):
        text = "\n".join(problems)
        assert "StartAt" in text
        assert "Nowhere" in text
        assert "Gone" in text
        assert "C" in text


def test_discovery_finds_solution_and_test_templates(tmp_path: Path) -> None:
    solution = tmp_path / "src" / "stratus" / "solutions" / "costs" / "infra" / "template.yaml"
    nested = tmp_path / "tests" / "deep" / "er" / "template.yaml"
    for path in (solution, nested, tmp_path / "elsewhere" / "template.yaml"):
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    assert discover_templates(tmp_path) == sorted([solution, nested])


def test_the_command_says_ok_for_a_good_template() -> None:
    result = CliRunner().invoke(lint_infra_command, [str(REPO / "tests" / "example_app")])
    assert result.exit_code == 0, result.output
    first, *notes = result.output.strip().splitlines()
    assert first.endswith(": ok")
    assert all(line.startswith("  note: ") for line in notes)  # e.g. Metadata local_only


def test_the_command_lists_problems_and_exits_1(tmp_path: Path) -> None:
    path = make_app(
        tmp_path,
        function("infra_worker_f.handle"),
        code={"infra_worker_f.py": WORKER, "infra_helpers.py": HELPERS},
    )
    result = CliRunner().invoke(lint_infra_command, [str(path)])
    assert result.exit_code == 1
    assert "3 problem(s)" in result.output
    assert "reads TABLE_NAME" in result.output
