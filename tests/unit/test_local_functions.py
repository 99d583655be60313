import os
import threading
from typing import Any

import pytest

from stratus.platform.runtime.functions import FunctionError, LocalFunction, ThrottledError
from stratus.platform.runtime.template import FunctionDef


def make(handler: Any, **overrides: Any) -> LocalFunction:
    definition = FunctionDef(
        logical_id="Fn",
        function_name=overrides.pop("name", "fn"),
        handler="app.handler",
        code_uri=None,
        runtime="python3.11",
        environment=overrides.pop("environment", {}),
        **overrides,
    )
    return LocalFunction(
        definition=definition,
        handler=handler,
        base_environment={"STRATUS_TARGET": "local"},
        region="eu-west-1",
        account="123456789012",
    )


def test_a_handler_sees_its_environment_and_a_lambda_context():
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {
            "table": os.environ["TABLE_NAME"],
            "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "region": os.environ["AWS_REGION"],
            "arn": context.invoked_function_arn,
            "remaining": context.get_remaining_time_in_millis() > 0,
        }

    result = make(handler, environment={"TABLE_NAME": "orders"}).invoke({})
    assert result == {
        "table": "orders",
        "name": "fn",
        "region": "eu-west-1",
        "arn": "arn:aws:lambda:eu-west-1:123456789012:function:fn",
        "remaining": True,
    }
    assert "TABLE_NAME" not in os.environ


def test_an_exception_is_reported_with_lambdas_error_shape():
    def handler(event: Any, context: Any) -> None:
        raise KeyError("order")

    fn = make(handler)
    with pytest.raises(FunctionError) as caught:
        fn.invoke({})
    payload = caught.value.payload()
    assert payload["errorType"] == "KeyError"
    assert "order" in payload["errorMessage"]
    assert payload["stackTrace"]
    assert fn.stats.invocations == 1
    assert fn.stats.errors == 1


def test_reserved_concurrency_throttles_the_excess_invocation():
    inside = threading.Event()
    release = threading.Event()

    def handler(event: Any, context: Any) -> str:
        inside.set()
        release.wait(5)
        return "done"

    fn = make(handler, reserved_concurrency=1)
    worker = threading.Thread(target=fn.invoke, args=({},))
    worker.start()
    assert inside.wait(5)
    with pytest.raises(ThrottledError):
        fn.invoke({})
    release.set()
    worker.join()
    assert fn.stats.throttles == 1
    assert fn.invoke({}) == "done"


def test_a_function_that_runs_past_its_timeout_is_reported_as_timed_out():
    fn = make(lambda event, context: "late", timeout_s=0)
    with pytest.raises(FunctionError) as caught:
        fn.invoke({})
    assert caught.value.error_type == "Sandbox.Timedout"
