"""WorkflowRunner port: Step Functions-shaped executions of ASL state machines.

The same ``*.asl.json`` files run on Step Functions (aws adapter) and on the local ASL runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


@dataclass(frozen=True)
class Execution:
    """An execution as DescribeExecution reports it; ``output`` is parsed JSON."""

    execution_arn: str
    state_machine: str
    name: str
    status: ExecutionStatus
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class HistoryEvent:
    """One event of an execution's history (Step Functions' event types and ids)."""

    id: int
    type: str
    timestamp: datetime
    details: dict[str, Any]


@runtime_checkable
class WorkflowRunner(Protocol):
    def start(self, state_machine: str, input: Any, *, name: str | None = None) -> str:
        """Start an execution of the named state machine; return its execution ARN.

        Starting twice with the same ``name`` and input returns the first execution (as Step
        Functions does for standard workflows); a different input raises ConditionFailedError."""
        ...

    def describe(self, execution_arn: str) -> Execution:
        """The execution's status, input and (when done) output or error."""
        ...

    def history(self, execution_arn: str) -> list[HistoryEvent]:
        """The execution's events, oldest first."""
        ...

    def list_executions(self, state_machine: str) -> list[Execution]:
        """Executions of the state machine, newest first."""
        ...

    def state_machines(self) -> list[str]:
        """Names of the known state machines."""
        ...
