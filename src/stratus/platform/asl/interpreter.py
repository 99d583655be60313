"""A pure interpreter of Amazon States Language definitions.

No I/O besides the injected callables: the task invoker, the clock (Wait, Retry delays,
timestamps) and the event/checkpoint sinks. Events use Step Functions' history type names.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.asl import choice, intrinsics
from stratus.platform.asl.errors import StatesError, from_exception, runtime_error
from stratus.platform.asl.paths import lookup, merge_result, render, select
from stratus.platform.ports.clock import Clock

TaskInvoker = Callable[[str, Any], Any]
"""(resource, payload) -> result. Raise TaskFailedError(error, cause) to fail the task.

``resource`` is the Task's Resource as written and ``payload`` its effective Parameters: for
``arn:aws:states:::lambda:invoke`` that is ``{"FunctionName", "Payload"}`` and the invoker
returns the function's return value (the runner wraps it as Step Functions does); for a
direct function ARN the payload is the function's event; for ``.waitForTaskToken`` the
invoker's return value stands for the output later given to SendTaskSuccess."""

EventSink = Callable[[str, dict[str, Any]], None]
"""(history event type, details) — called from worker threads inside Map/Parallel."""

Checkpoint = Callable[[str, Any], None]
"""(state name, state input) — called as each top-level state is entered."""

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


def iso(moment: datetime) -> str:
    """Step Functions' timestamp format in the context object: ``2026-01-01T00:00:00.000Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def dumps(value: Any) -> str:
    """Compact JSON, as Step Functions writes inputs and outputs in history events."""
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class ExecutionContext:
    """What the ``$$.Execution`` and ``$$.StateMachine`` context fields report."""

    execution_arn: str = "arn:aws:states:us-east-1:000000000000:execution:local:local"
    name: str = "local"
    input: Any = None
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    state_machine_arn: str = "arn:aws:states:us-east-1:000000000000:stateMachine:local"
    state_machine_name: str = "local"
    role_arn: str = "arn:aws:iam::000000000000:role/stratus-local"


def _matches(error_equals: list[str], err: StatesError) -> bool:
    for name in error_equals:
        if name == err.error:
            return True
        # States.ALL / States.TaskFailed never match States.Runtime (not retriable, not
        # catchable in Step Functions); States.TaskFailed also excludes States.Timeout.
        if name == "States.ALL" and err.error != "States.Runtime":
            return True
        if name == "States.TaskFailed" and err.error not in ("States.Runtime", "States.Timeout"):
            return True
    return False


def _resource_parts(resource: str) -> tuple[str, str]:
    """("lambda", "invoke") for ``arn:aws:states:::lambda:invoke`` as TaskScheduled shows."""
    if resource.startswith("arn:aws:states:::"):
        service, _, action = resource[len("arn:aws:states:::") :].partition(":")
        return service, action
    return "lambda" if ":lambda:" in resource else "activity", resource


class Interpreter:
    """Runs one ASL definition; thread-safe, so one instance can run many executions.

    ``invoke`` runs Task resources. ``clock`` drives Wait states and Retry delays (a
    FakeClock makes them instant). ``max_workers`` caps the threads of a Map without
    MaxConcurrency (0 = unlimited in Step Functions, which allows up to 40 inline)."""

    def __init__(
        self,
        definition: Mapping[str, Any],
        *,
        invoke: TaskInvoker,
        clock: Clock | None = None,
        max_workers: int = 8,
        region: str = "us-east-1",
    ) -> None:
        self.definition = definition
        self._invoke = invoke
        self._clock: Clock = clock or SystemClock()
        self._max_workers = max(1, max_workers)
        self._region = region

    def run(
        self,
        input: Any,
        *,
        context: ExecutionContext | None = None,
        start_at: str | None = None,
        on_event: EventSink | None = None,
        on_checkpoint: Checkpoint | None = None,
    ) -> Any:
        """The execution's output; raises StatesError when the execution fails.

        ``start_at`` resumes at a top-level state with ``input`` as that state's input.
        Execution-level events (ExecutionStarted/Succeeded/Failed) are the caller's."""
        ctx = context or ExecutionContext(input=input, start_time=self._clock.now())
        run = _Run(self, ctx, on_event, on_checkpoint)
        return run.machine(self.definition, input, start_at, top=True)


class _Run:
    """The mutable part of one execution."""

    def __init__(
        self,
        interp: Interpreter,
        ctx: ExecutionContext,
        sink: EventSink | None,
        cp: Checkpoint | None,
    ) -> None:
        self.i = interp
        self.ctx = ctx
        self.sink = sink
        self._static: dict[str, Any] | None = None
        self.checkpoint = cp
        self.clock = interp._clock

    def emit(self, kind: str, details: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink(kind, details)

    # -- machine and state loop ------------------------------------------------------------
    def context(self, state: str, entered: datetime, retries: int = 0) -> dict[str, Any]:
        if self._static is None:
            c = self.ctx
            self._static = {
                "Execution": {
                    "Id": c.execution_arn,
                    "Input": c.input,
                    "Name": c.name,
                    "RoleArn": c.role_arn,
                    "StartTime": iso(c.start_time),
                },
                "StateMachine": {"Id": c.state_machine_arn, "Name": c.state_machine_name},
            }
        state_ctx = {"Name": state, "EnteredTime": iso(entered), "RetryCount": retries}
        return {**self._static, "State": state_ctx}

    def machine(
        self, machine: Mapping[str, Any], data: Any, start_at: str | None, top: bool
    ) -> Any:
        states = machine["States"]
        name: str = start_at or machine["StartAt"]
        while True:
            if name not in states:
                raise runtime_error(f"State '{name}' is not defined")
            state = states[name]
            kind = state["Type"]
            if top and self.checkpoint is not None:
                self.checkpoint(name, data)
            entered = self.clock.now()
            if self.sink is not None:  # serialising is most of the cost of a transition
                self.sink(f"{kind}StateEntered", {"name": name, "input": dumps(data)})
            try:
                output, nxt = self.state(name, state, data, entered)
            except StatesError as err:
                if err.error == "States.Runtime":
                    raise
                caught = self.catch(state, err, data)
                if caught is None:
                    raise
                output, nxt = caught
            if self.sink is not None:
                self.sink(f"{kind}StateExited", {"name": name, "output": dumps(output)})
            if nxt is None:
                return output
            name, data = nxt, output

    def catch(self, state: Mapping[str, Any], err: StatesError, raw: Any) -> tuple[Any, str] | None:
        for catcher in state.get("Catch", []):
            if _matches(catcher["ErrorEquals"], err):
                out = merge_result(catcher.get("ResultPath", "$"), raw, err.as_output())
                return out, catcher["Next"]
        return None

    def state(
        self, name: str, state: Mapping[str, Any], raw: Any, entered: datetime
    ) -> tuple[Any, str | None]:
        kind = state["Type"]
        nxt: str | None = None if state.get("End") else state.get("Next")
        ctx = self.context(name, entered)
        if kind in ("Task", "Map", "Parallel"):
            return self.with_retry(name, state, raw, entered), nxt
        eff = select(state.get("InputPath", "$"), raw, ctx)
        if kind == "Pass":
            if "Parameters" in state:
                eff = render(state["Parameters"], eff, ctx, intrinsics.evaluate)
            result = copy.deepcopy(state["Result"]) if "Result" in state else eff
            out = merge_result(state.get("ResultPath", "$"), raw, result)
            return select(state.get("OutputPath", "$"), out, ctx), nxt
        if kind == "Wait":
            self.wait(state, eff, ctx)
            return select(state.get("OutputPath", "$"), eff, ctx), nxt
        if kind == "Choice":
            for rule in state["Choices"]:
                if choice.evaluate(rule, eff, ctx):
                    return select(state.get("OutputPath", "$"), eff, ctx), rule["Next"]
            if "Default" in state:
                return select(state.get("OutputPath", "$"), eff, ctx), state["Default"]
            raise StatesError("States.NoChoiceMatched", f"No Choice rule matched in '{name}'")
        if kind == "Succeed":
            return select(state.get("OutputPath", "$"), eff, ctx), None
        if kind == "Fail":
            error = state.get("Error")
            cause = state.get("Cause")
            if "ErrorPath" in state:
                error = self.path_or_intrinsic(state["ErrorPath"], raw, ctx)
            if "CausePath" in state:
                cause = self.path_or_intrinsic(state["CausePath"], raw, ctx)
            # Step Functions allows a Fail without Error; "" stands for "no error name".
            raise StatesError(str(error) if error is not None else "", cause)
        raise runtime_error(f"Unknown state type {kind!r} in '{name}'")

    def path_or_intrinsic(self, expr: str, data: Any, ctx: Any) -> Any:
        if expr.startswith("$"):
            return lookup(expr, data, ctx)
        return intrinsics.evaluate(expr, data, ctx)

    def wait(self, state: Mapping[str, Any], eff: Any, ctx: Any) -> None:
        if "Seconds" in state or "SecondsPath" in state:
            seconds = (
                state["Seconds"] if "Seconds" in state else lookup(state["SecondsPath"], eff, ctx)
            )
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise runtime_error(f"Wait seconds must be a non-negative number, got {seconds!r}")
            self.clock.sleep(float(seconds))
            return
        stamp = (
            state["Timestamp"] if "Timestamp" in state else lookup(state["TimestampPath"], eff, ctx)
        )
        when = choice.parse_timestamp(stamp)
        if when is None:
            raise runtime_error(f"Wait timestamp is not an RFC 3339 timestamp: {stamp!r}")
        self.clock.sleep(max(0.0, (when - self.clock.now()).total_seconds()))

    # -- Retry -----------------------------------------------------------------------------
    def with_retry(self, name: str, state: Mapping[str, Any], raw: Any, entered: datetime) -> Any:
        retriers = state.get("Retry", [])
        attempts = [0] * len(retriers)
        retries = 0
        while True:
            ctx = self.context(name, entered, retries)
            try:
                return self.body(name, state, raw, ctx)
            except StatesError as err:
                if err.error == "States.Runtime":
                    raise
                delay = self.retry_delay(retriers, attempts, err)
                if delay is None:
                    raise
                retries += 1
                self.clock.sleep(delay)

    @staticmethod
    def retry_delay(retriers: list[Any], attempts: list[int], err: StatesError) -> float | None:
        for idx, retrier in enumerate(retriers):
            if not _matches(retrier["ErrorEquals"], err):
                continue
            # The first matching retrier decides; once exhausted, the error goes to Catch.
            if attempts[idx] >= retrier.get("MaxAttempts", 3):
                return None
            delay = (
                float(retrier.get("IntervalSeconds", 1))
                * float(retrier.get("BackoffRate", 2.0)) ** attempts[idx]
            )
            if "MaxDelaySeconds" in retrier:
                delay = min(delay, float(retrier["MaxDelaySeconds"]))
            # JitterStrategy FULL is not emulated: delays are deterministic.
            attempts[idx] += 1
            return delay
        return None

    def body(self, name: str, state: Mapping[str, Any], raw: Any, ctx: dict[str, Any]) -> Any:
        kind = state["Type"]
        eff = select(state.get("InputPath", "$"), raw, ctx)
        if kind == "Map":
            result: Any = self.map(name, state, eff, ctx)
        else:
            if kind == "Task" and str(state["Resource"]).endswith(".waitForTaskToken"):
                ctx = {**ctx, "Task": {"Token": str(uuid.uuid4())}}
            if "Parameters" in state:
                eff = render(state["Parameters"], eff, ctx, intrinsics.evaluate)
            if kind == "Task":
                result = self.task(state, eff, ctx)
            else:
                result = self.parallel(name, state, eff)
        if "ResultSelector" in state:
            result = render(state["ResultSelector"], result, ctx, intrinsics.evaluate)
        out = merge_result(state.get("ResultPath", "$"), raw, result)
        return select(state.get("OutputPath", "$"), out, ctx)

    # -- Task ------------------------------------------------------------------------------
    def task(self, state: Mapping[str, Any], params: Any, ctx: Any) -> Any:
        resource: str = state["Resource"]
        service, action = _resource_parts(resource)
        direct = not resource.startswith("arn:aws:states:::") and service == "lambda"
        prefix = "LambdaFunction" if direct else "Task"
        base = {} if direct else {"resourceType": service, "resource": action}
        if direct:
            self.emit("LambdaFunctionScheduled", {"resource": resource, "input": dumps(params)})
        else:
            self.emit(
                "TaskScheduled", {**base, "region": self.i._region, "parameters": dumps(params)}
            )
        self.emit(f"{prefix}Started", dict(base))

        if resource.startswith(LAMBDA_INVOKE) and (
            not isinstance(params, Mapping) or "FunctionName" not in params
        ):
            raise runtime_error("lambda:invoke needs Parameters.FunctionName")

        timeout = state.get("TimeoutSeconds")
        if timeout is None and "TimeoutSecondsPath" in state:
            timeout = lookup(state["TimeoutSecondsPath"], params, ctx)
        try:
            result = self.call(resource, params, timeout)
        except StatesError as err:
            if err.error == "States.Timeout":
                self.emit(f"{prefix}TimedOut", {**base, "error": err.error, "cause": err.cause})
            else:
                self.emit(f"{prefix}Failed", {**base, "error": err.error, "cause": err.cause})
            raise
        if resource == LAMBDA_INVOKE:
            result = _lambda_invoke_result(result)
        self.emit(f"{prefix}Succeeded", {**base, "output": dumps(result)})
        return result

    def call(self, target: str, payload: Any, timeout: Any) -> Any:
        if not timeout:
            try:
                return self.i._invoke(target, payload)
            except Exception as exc:
                raise from_exception(exc) from exc
        started = self.clock.now()
        future: Future[Any] = Future()

        def work() -> None:
            try:
                future.set_result(self.i._invoke(target, payload))
            except BaseException as exc:  # handed to the waiting thread
                future.set_exception(exc)

        # The task runs on its own daemon thread so the state can give up waiting; a timed
        # out task keeps running (Python threads cannot be killed), its result is dropped.
        threading.Thread(target=work, daemon=True, name="asl-task").start()
        try:
            result = future.result(timeout=float(timeout))
        except TimeoutError:
            raise StatesError("States.Timeout", f"Task timed out after {timeout} s") from None
        except Exception as exc:
            raise from_exception(exc) from exc
        # With a fake or accelerated clock the task's time is the clock's time.
        if (self.clock.now() - started).total_seconds() > float(timeout):
            raise StatesError("States.Timeout", f"Task timed out after {timeout} s")
        return result

    # -- Map and Parallel ------------------------------------------------------------------
    def map(self, name: str, state: Mapping[str, Any], eff: Any, ctx: dict[str, Any]) -> list[Any]:
        items = lookup(state.get("ItemsPath", "$"), eff, ctx)
        if not isinstance(items, list):
            raise runtime_error(f"Map '{name}': ItemsPath must select an array, got {items!r}")
        selector = state.get("ItemSelector", state.get("Parameters"))
        processor = state.get("ItemProcessor") or state["Iterator"]
        limit = state.get("MaxConcurrency", 0)
        if "MaxConcurrencyPath" in state:
            limit = lookup(state["MaxConcurrencyPath"], eff, ctx)
        self.emit("MapStateStarted", {"length": len(items)})

        def one(index: int, item: Any) -> Any:
            value = item
            if selector is not None:
                item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
                value = render(selector, eff, item_ctx, intrinsics.evaluate)
            self.emit("MapIterationStarted", {"name": name, "index": index})
            try:
                out = self.machine(processor, value, None, top=False)
            except StatesError:
                self.emit("MapIterationFailed", {"name": name, "index": index})
                raise
            self.emit("MapIterationSucceeded", {"name": name, "index": index})
            return out

        workers = min(len(items), int(limit) if limit else self.i._max_workers)
        try:
            results = self.fan_out(
                [functools.partial(one, i, it) for i, it in enumerate(items)], workers
            )
        except StatesError:
            self.emit("MapStateFailed", {})
            raise
        self.emit("MapStateSucceeded", {})
        return results

    def parallel(self, name: str, state: Mapping[str, Any], eff: Any) -> list[Any]:
        branches = state["Branches"]
        self.emit("ParallelStateStarted", {})
        jobs: list[Callable[[], Any]] = [
            functools.partial(self.machine, b, copy.deepcopy(eff), None, False) for b in branches
        ]
        try:
            results = self.fan_out(jobs, len(branches))
        except StatesError:
            self.emit("ParallelStateFailed", {})
            raise
        self.emit("ParallelStateSucceeded", {})
        return results

    @staticmethod
    def fan_out(jobs: list[Callable[[], Any]], workers: int) -> list[Any]:
        """Run ``jobs`` on up to ``workers`` threads; results in job order; first error wins."""
        if workers <= 1:
            return [job() for job in jobs]
        # A pool per Map/Parallel state: nested fan-outs cannot starve each other.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asl") as pool:
            futures = [pool.submit(job) for job in jobs]
            done, _ = wait_futures(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:
                for f in futures:
                    f.cancel()
                exc = failed[0].exception()
                raise exc if isinstance(exc, StatesError) else from_exception(exc or Exception())
            return [f.result() for f in futures]


def _lambda_invoke_result(payload: Any) -> dict[str, Any]:
    """The result of ``arn:aws:states:::lambda:invoke`` as Step Functions returns it.

    The function's return value sits under ``Payload``; the HTTP metadata is synthetic."""
    request_id = str(uuid.uuid4())
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "HttpHeaders": {
                "Content-Type": "application/json",
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }
