"""The local Amazon States Language runner: a pure interpreter of ``*.asl.json`` definitions.

It runs the same files Step Functions runs, with injected task invoker and clock."""

from stratus.platform.asl.errors import StatesError, TaskFailedError
from stratus.platform.asl.interpreter import (
    Checkpoint,
    EventSink,
    ExecutionContext,
    Interpreter,
    TaskInvoker,
)
from stratus.platform.asl.validate import validate

__all__ = [
    "Checkpoint",
    "EventSink",
    "ExecutionContext",
    "Interpreter",
    "StatesError",
    "TaskFailedError",
    "TaskInvoker",
    "validate",
]
