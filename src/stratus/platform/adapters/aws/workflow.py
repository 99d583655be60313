"""StepFunctionsWorkflowRunner: the WorkflowRunner port on AWS Step Functions (boto3)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stratus.platform.ports.errors import (
    BackendUnavailableError,
    ConditionFailedError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.workflow import Execution, ExecutionStatus, HistoryEvent

_NOT_FOUND = {"ExecutionDoesNotExist", "StateMachineDoesNotExist", "ResourceNotFound"}
_INVALID = {
    "InvalidArn",
    "InvalidName",
    "InvalidExecutionInput",
    "InvalidDefinition",
    "ValidationException",
    "StateMachineDeleting",
}


@contextmanager
def _translated() -> Iterator[None]:
    """Turn botocore errors into port errors."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = str(exc.response.get("Error", {}).get("Message", exc))
        if code in _NOT_FOUND:
            raise NotFoundError(f"{code}: {message}") from exc
        if code == "ExecutionAlreadyExists":
            raise ConditionFailedError(f"{code}: {message}") from exc
        if code in _INVALID:
            raise InvalidRequestError(f"{code}: {message}") from exc
        raise BackendUnavailableError(f"{code}: {message}") from exc
    except BotoCoreError as exc:
        raise BackendUnavailableError(str(exc)) from exc


class StepFunctionsWorkflowRunner:
    """WorkflowRunner on Step Functions.

    ``arns`` maps state machine names to ARNs (from the template's environment); a name not
    in the map is looked up with ListStateMachines, and an ARN is used as is."""

    def __init__(self, *, arns: Mapping[str, str] | None = None, client: Any = None) -> None:
        self._arns = dict(arns or {})
        self._client: Any = client if client is not None else boto3.client("stepfunctions")

    def _arn(self, state_machine: str) -> str:
        if state_machine.startswith("arn:"):
            return state_machine
        if state_machine not in self._arns:
            for machine in self._list_machines():
                self._arns.setdefault(machine["name"], machine["stateMachineArn"])
        try:
            return self._arns[state_machine]
        except KeyError:
            raise NotFoundError(f"State Machine Does Not Exist: '{state_machine}'") from None

    def _list_machines(self) -> list[dict[str, Any]]:
        with _translated():
            pages = self._client.get_paginator("list_state_machines").paginate()
            return [m for page in pages for m in page["stateMachines"]]

    def start(self, state_machine: str, input: Any, *, name: str | None = None) -> str:
        """StartExecution; a repeated name with the same input returns the first execution.

        Step Functions itself only does so while the first execution runs (and moto never);
        here ExecutionAlreadyExists is resolved by comparing inputs, as the port promises."""
        arn = self._arn(state_machine)
        kwargs: dict[str, Any] = {"stateMachineArn": arn, "input": json.dumps(input)}
        if name is not None:
            kwargs["name"] = name
        try:
            with _translated():
                return cast(str, self._client.start_execution(**kwargs)["executionArn"])
        except ConditionFailedError:
            assert name is not None
            existing = arn.replace(":stateMachine:", ":execution:", 1) + ":" + name
            if self.describe(existing).input == input:
                return existing
            raise

    def describe(self, execution_arn: str) -> Execution:
        """DescribeExecution, with input and output parsed from JSON."""
        with _translated():
            r = self._client.describe_execution(executionArn=execution_arn)
        return Execution(
            execution_arn=r["executionArn"],
            state_machine=r["stateMachineArn"],
            name=r.get("name") or str(r["executionArn"]).rsplit(":", 1)[-1],
            status=cast(ExecutionStatus, r["status"]),
            input=json.loads(r["input"]) if r.get("input") else None,
            output=json.loads(r["output"]) if r.get("output") else None,
            error=r.get("error"),
            cause=r.get("cause"),
            started_at=r.get("startDate"),
            stopped_at=r.get("stopDate"),
        )

    def history(self, execution_arn: str) -> list[HistoryEvent]:
        """GetExecutionHistory (all pages); ``details`` is the event's ``*EventDetails``."""
        with _translated():
            pages = self._client.get_paginator("get_execution_history").paginate(
                executionArn=execution_arn
            )
            events = [e for page in pages for e in page["events"]]
        out = []
        for e in events:
            details: dict[str, Any] = {}
            for key, value in e.items():
                if key.endswith("EventDetails") and isinstance(value, dict):
                    details = dict(value)
            out.append(HistoryEvent(id=e["id"], type=e["type"], timestamp=e["timestamp"],
                                    details=details))  # fmt: skip
        return out

    def list_executions(self, state_machine: str) -> list[Execution]:
        """ListExecutions (newest first), each completed with DescribeExecution."""
        with _translated():
            pages = self._client.get_paginator("list_executions").paginate(
                stateMachineArn=self._arn(state_machine)
            )
            arns = [e["executionArn"] for page in pages for e in page["executions"]]
        executions = [self.describe(arn) for arn in arns]
        return sorted(executions, key=lambda e: e.started_at or 0, reverse=True)

    def state_machines(self) -> list[str]:
        """Names of the state machines of the account and region."""
        return sorted(m["name"] for m in self._list_machines())
