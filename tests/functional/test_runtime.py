"""LocalRuntime in-process: what functions see, and how it reports problems."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
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
