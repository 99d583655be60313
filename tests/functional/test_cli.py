"""The `stratus` command: invoke, workflows, and the errors a person gets for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stratus.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "example_app" / "template.yaml"


@pytest.fixture
def run(tmp_path: Path):
    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, [*args], input=input, catch_exceptions=False)

    return run


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_invoke_runs_a_function_with_an_event_file_and_prints_its_result(run, tmp_path):
    event = write(
        tmp_path / "event.json",
        json.dumps(
            {
                "type": "TOKEN",
                "authorizationToken": "allow-bob",
                "methodArn": "arn:aws:execute-api:us-east-1:1:api/dev/GET/orders/1",
            }
        ),
    )
    result = run(
        "invoke",
        "AuthorizerFunction",
        "--event",
        str(event),
        "--template",
        str(EXAMPLE),
        "--home",
        str(tmp_path / "h"),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["principalId"] == "bob"


def test_invoke_with_a_malformed_event_file_says_where_the_json_is_broken(run, tmp_path):
    event = write(tmp_path / "event.json", '{"a": 1,\n "b": }')
    result = run(
        "invoke",
        "GetOrderFunction",
        "--event",
        str(event),
        "--template",
        str(EXAMPLE),
        "--home",
        str(tmp_path / "h"),
    )
    assert result.exit_code == 2
    assert "not valid JSON" in result.output
    assert "line 2" in result.output
    assert "Traceback" not in result.output


def test_invoke_with_a_missing_event_file_is_a_clear_error(run, tmp_path):
    result = run(
        "invoke",
        "GetOrderFunction",
        "--event",
        str(tmp_path / "nope.json"),
        "--template",
        str(EXAMPLE),
        "--home",
        str(tmp_path / "h"),
    )
    assert result.exit_code == 2
    assert "cannot read event file" in result.output


def test_invoke_of_an_unknown_function_lists_the_known_ones(run, tmp_path):
    result = run(
        "invoke", "NoSuchFunction", "--template", str(EXAMPLE), "--home", str(tmp_path / "h")
    )
    assert result.exit_code == 2
    assert "no function 'NoSuchFunction'" in result.output
    assert "GetOrderFunction" in result.output


def test_a_function_error_is_reported_like_lambda_does(run, tmp_path):
    event = write(tmp_path / "event.json", json.dumps({"Records": "not a list"}))
    result = run(
        "invoke",
        "OnOrderChangeFunction",
        "--event",
        str(event),
        "--template",
        str(EXAMPLE),
        "--home",
        str(tmp_path / "h"),
    )
    assert result.exit_code == 2
    assert "errorType" in result.output
    assert "OnOrderChangeFunction failed" in result.output


def test_an_unknown_handler_fails_at_start_up_naming_resource_and_property(run, tmp_path):
    template = write(
        tmp_path / "template.yaml",
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  Broken:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: nowhere.handler
      InlineCode: "x = 1"
""",
    )
    result = run("up", "--template", str(template), "--home", str(tmp_path / "h"), "--port", "0")
    assert result.exit_code == 2
    assert "Resources.Broken.Properties.Handler" in result.output
    assert "Traceback" not in result.output


def test_a_malformed_template_names_the_resource_and_property(run, tmp_path):
    template = write(
        tmp_path / "template.yaml",
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !Ref Missing
""",
    )
    result = run("up", "--template", str(template), "--home", str(tmp_path / "h"), "--port", "0")
    assert result.exit_code == 2
    assert "Jobs" in result.output
    assert "VisibilityTimeout" in result.output
    assert "Missing" in result.output


def test_a_bad_parameter_option_is_refused(run, tmp_path):
    result = run(
        "up", "--template", str(EXAMPLE), "--parameter", "Stage", "--home", str(tmp_path / "h")
    )
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output


def test_workflows_start_runs_an_execution_to_the_end_and_describe_shows_it(run, tmp_path):
    home = str(tmp_path / "h")
    # GIVEN an order in the table
    event = write(
        tmp_path / "post.json",
        json.dumps(
            {
                "httpMethod": "POST",
                "path": "/orders",
                "headers": {},
                "body": json.dumps({"id": "o-7", "items": [{"sku": "a", "qty": 1}]}),
            }
        ),
    )
    assert (
        run(
            "invoke",
            "CreateOrderFunction",
            "--event",
            str(event),
            "--template",
            str(EXAMPLE),
            "--home",
            home,
        ).exit_code
        == 0
    )
    # WHEN the fulfilment runs (Wait 60 s made instant by the clock factor)
    result = run(
        "workflows",
        "start",
        "example_app-fulfil-order",
        "--input",
        '{"order_id": "o-7"}',
        "--name",
        "o-7",
        "--clock-factor",
        "10000",
        "--template",
        str(EXAMPLE),
        "--home",
        home,
    )
    # THEN it succeeds and is kept
    assert result.exit_code == 0, result.output
    assert "status: SUCCEEDED" in result.output
    arn = result.output.splitlines()[0]
    described = run(
        "workflows", "describe", arn, "--history", "--template", str(EXAMPLE), "--home", home
    )
    assert "SUCCEEDED" in described.output
    assert "WaitStateEntered" in described.output


def test_workflows_start_with_malformed_input_is_a_clear_error(run, tmp_path):
    result = run(
        "workflows",
        "start",
        "x",
        "--input",
        "{oops",
        "--template",
        str(EXAMPLE),
        "--home",
        str(tmp_path / "h"),
    )
    assert result.exit_code == 2
    assert "--input is not valid JSON" in result.output


def test_up_without_templates_and_without_solutions_says_what_to_do(run, tmp_path, monkeypatch):
    monkeypatch.setattr("stratus.cli.solution_templates", list)
    result = run("up", "--home", str(tmp_path / "h"))
    assert result.exit_code == 2
    assert "--template" in result.output
