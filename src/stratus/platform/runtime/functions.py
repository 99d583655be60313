"""Local Lambda functions: import at start-up, invoke with the function's environment and context.

What is copied from Lambda: the handler is imported once (a "cold start") and then called with
``(event, context)``; the function's Environment variables, plus AWS_LAMBDA_FUNCTION_NAME,
AWS_REGION and friends, are visible to it (and only to it) during the call; the context has
``function_name``, ``aws_request_id``, ``get_remaining_time_in_millis()``;
ReservedConcurrentExecutions caps parallel invocations (the excess is throttled); an exception
is reported as Lambda reports it (errorType, errorMessage, stackTrace).

Where it differs: Python cannot stop a thread, so a function that runs past its Timeout is
reported as timed out when it returns, rather than killed at the deadline.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stratus.platform.runtime import environ
from stratus.platform.runtime.template import FunctionDef, import_handler

log = logging.getLogger("stratus.functions")


class FunctionError(Exception):
    """The function raised, timed out or was throttled; carries Lambda's error shape."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.error_message = message
        self.stack = stack or []

    def payload(self) -> dict[str, Any]:
        """The JSON Lambda returns for an unhandled error."""
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "stackTrace": self.stack,
        }

    def cause(self) -> str:
        return json.dumps(self.payload())


class ThrottledError(FunctionError):
    """Reserved concurrency exhausted (Lambda's TooManyRequestsException)."""

    def __init__(self, function: str) -> None:
        super().__init__(
            "TooManyRequestsException", f"Rate Exceeded: {function} is at its reserved concurrency"
        )


@dataclass
class LambdaContext:
    """The context object a local invocation gets (the attributes handlers and Powertools read)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class InvocationStats:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    total_ms: float = 0.0


@dataclass
class LocalFunction:
    """One function of a template, imported and ready to invoke."""

    definition: FunctionDef
    handler: Callable[[Any, Any], Any]
    base_environment: Mapping[str, str]
    region: str
    account: str
    stats: InvocationStats = field(default_factory=InvocationStats)

    def __post_init__(self) -> None:
        limit = self.definition.reserved_concurrency
        self._slots = threading.BoundedSemaphore(limit) if limit else None
        self._stats_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.definition.function_name

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    def environment(self, request_id: str) -> dict[str, str]:
        env = dict(self.base_environment)
        env.update(self.definition.environment)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.definition.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "_X_AMZN_TRACE_ID": f"Root=1-{uuid.uuid4().hex[:8]}-{request_id[:24]}",
            }
        )
        return env

    def invoke(self, event: Any, *, wait_for_slot: bool = False) -> Any:
        """Call the handler; raise FunctionError for an error, a timeout or a throttle."""
        if self._slots is not None and not self._slots.acquire(blocking=wait_for_slot):
            with self._stats_lock:
                self.stats.throttles += 1
            raise ThrottledError(self.name)
        request_id = str(uuid.uuid4())
        timeout = self.definition.timeout_s
        start = time.monotonic()
        context = LambdaContext(
            function_name=self.name,
            memory_limit_in_mb=self.definition.memory_mb,
            invoked_function_arn=self.arn,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name=f"local/{request_id}",
            deadline=start + timeout,
        )
        failed = True
        try:
            with environ.overlay(self.environment(request_id)):
                try:
                    result = self.handler(event, context)
                except Exception as exc:
                    stack = traceback.format_exception(exc)
                    log.warning("function %s raised %s: %s", self.name, type(exc).__name__, exc)
                    raise FunctionError(type(exc).__name__, str(exc), stack) from exc
            elapsed = time.monotonic() - start
            if elapsed > timeout:
                raise FunctionError(
                    "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds"
                )
            failed = False
            return result
        finally:
            with self._stats_lock:
                self.stats.invocations += 1
                self.stats.errors += int(failed)
                self.stats.total_ms += (time.monotonic() - start) * 1000
            if self._slots is not None:
                self._slots.release()


def load_function(
    definition: FunctionDef,
    *,
    base_environment: Mapping[str, str],
    region: str,
    account: str,
) -> LocalFunction:
    """Import the handler now, so a bad Handler fails at start-up, not at the first request."""
    return LocalFunction(
        definition=definition,
        handler=import_handler(definition),
        base_environment=base_environment,
        region=region,
        account=account,
    )
