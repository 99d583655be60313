"""Errors of the ASL runner, named as Step Functions names them."""

from __future__ import annotations

import json
import traceback


class StatesError(Exception):
    """An error raised inside an execution: ``error`` is the name Retry/Catch match on."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause

    def as_output(self) -> dict[str, str]:
        """The ``{"Error", "Cause"}`` object a Catch hands to its ResultPath."""
        out = {"Error": self.error}
        if self.cause is not None:
            out["Cause"] = self.cause
        return out


class TaskFailedError(StatesError):
    """Raised by a task invoker: the task failed with ``error`` and ``cause``.

    Same fields as Step Functions' TaskFailed event; Retry and Catch match ``error``."""


def runtime_error(message: str) -> StatesError:
    """``States.Runtime``: a path or template failed (never caught by States.ALL)."""
    return StatesError("States.Runtime", message)


def from_exception(exc: BaseException) -> StatesError:
    """A Python exception from a handler, shaped as Lambda reports an unhandled error.

    Lambda's error is the exception class name and its payload is
    ``{"errorMessage", "errorType", "stackTrace"}``; Step Functions puts that payload,
    serialised, in ``Cause``."""
    if isinstance(exc, StatesError):
        return exc
    name = type(exc).__name__
    stack = traceback.format_tb(exc.__traceback__) if exc.__traceback__ else []
    cause = json.dumps({"errorMessage": str(exc), "errorType": name, "stackTrace": stack})
    return StatesError(name, cause)
