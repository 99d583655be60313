"""LocalRuntime in-process: what functions see, and how it reports problems."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.runtime.apigateway import HttpRequest, HttpResponse
from stratus.platform.runtime.app import LocalRuntime, StartupError

EXAMPLE = Path(__file__).resolve().parent.parent / "example_app" / "template.yaml"


@pytest.fixture
def runtime(tmp_path: Path):
    rt = LocalRuntime([EXAMPLE], home=tmp_path / "home", clock=FakeClock())
    rt.start()
    yield rt
    rt.stop()


def test_functions_see_the_local_target_home_and_base_url(runtime: LocalRuntime):
    env = runtime.find_function("GetOrderFunction").environment("request-1")
    assert env["STRATUS_TARGET"] == "local"
    assert env["STRATUS_HOME"] == str(runtime.home)
    assert env["STRATUS_LOCAL_URL"] == runtime.url
    assert env["TABLE_NAME"] == "example_app-orders"


def test_functions_are_found_by_name_logical_id_or_arn(runtime: LocalRuntime):
    by_arn = "arn:aws:lambda:us-east-1:000000000000:function:SweepFunction"
    assert runtime.find_function(by_arn) is runtime.find_function("SweepFunction")
    with pytest.raises(KeyError, match="known functions"):
        runtime.find_function("Nope")


def test_a_runtime_needs_at_least_one_template(tmp_path: Path):
    with pytest.raises(StartupError, match="--template"):
        LocalRuntime([], home=tmp_path)


def test_two_templates_defining_the_same_function_name_are_refused(tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(EXAMPLE.parent, copy)
    with pytest.raises(StartupError, match="FunctionName"):
        LocalRuntime([EXAMPLE, copy / "template.yaml"], home=tmp_path / "home")


class Hello:
    """A local service as an application would mount one (e.g. a reverse proxy)."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    def handle(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", "text/plain")], f"hi {request.path}".encode())


def test_an_application_mounts_its_own_local_service_from_template_metadata(tmp_path: Path):
    template = tmp_path / "app" / "template.yaml"
    template.parent.mkdir()
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Metadata:\n  stratus:\n    mount:\n      /hello: tests.functional.test_runtime:Hello\n"
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.11\n      Handler: index.handler\n"
        "      InlineCode: 'def handler(e, c): return 1'\n"
    )
    rt = LocalRuntime([template], home=tmp_path / "home")
    rt.start()
    try:
        with urllib.request.urlopen(f"{rt.url}/hello/page", timeout=5) as response:
            assert response.read() == b"hi /page"
    finally:
        rt.stop()


def test_a_mount_naming_a_missing_factory_fails_at_start_up(tmp_path: Path):
    template = tmp_path / "app" / "template.yaml"
    template.parent.mkdir()
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Metadata:\n  stratus:\n    mount:\n      /x: tests.functional.test_runtime:Nope\n"
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.11\n      Handler: index.handler\n"
        "      InlineCode: 'def handler(e, c): return 1'\n"
    )
    rt = LocalRuntime([template], home=tmp_path / "home")
    with pytest.raises(StartupError, match=r"Metadata.stratus.mount./x"):
        rt.start()
    rt.stop()
