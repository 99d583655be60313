"""LocalWorkflowRunner: the WorkflowRunner port on the local ASL runner, persisted in SQLite.

Copies Step Functions (standard workflows): ``start`` returns at once and the execution runs
on a worker thread; executions and their full history are kept (here in a SQLite file in WAL
mode) so they survive a restart; an execution left RUNNING by a killed process resumes from
the last top-level state it entered, with that state's persisted input.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.asl import ExecutionContext, Interpreter, StatesError, TaskInvoker, validate
from stratus.platform.asl.errors import from_exception
from stratus.platform.asl.interpreter import dumps
from stratus.platform.ports.clock import Clock
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    ConditionFailedError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.workflow import Execution, ExecutionStatus, HistoryEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_machines (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, definition TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY, state_machine TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT,
    started_at TEXT NOT NULL, stopped_at TEXT, resume_state TEXT, resume_input TEXT,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions (state_machine, started_at);
CREATE TABLE IF NOT EXISTS events (
    execution_arn TEXT NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL,
    timestamp TEXT NOT NULL, details TEXT NOT NULL, PRIMARY KEY (execution_arn, id)
);
"""
# Runners open in this process, by owner id ("<pid>:<uuid>"): an execution whose owner is
# neither open here nor a live process was left behind by a killed process.
_LIVE: set[str] = set()
_LIVE_LOCK = threading.Lock()


def _owner_is_gone(owner: str | None) -> bool:
    if not owner:
        return True
    pid_text, _, _ = owner.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    if pid == os.getpid():
        with _LIVE_LOCK:
            return owner not in _LIVE
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# Step Functions' execution-name rule: 1-80 characters, no whitespace, brackets, wildcards,
# punctuation or control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


class _Interrupted(BaseException):
    """The runner is closing: unwind a waiting execution, leaving it RUNNING to resume later.

    A BaseException so that no state's error handling (Catch, the runner's own failure
    recording) mistakes it for a failure of the execution."""


class _StoppableClock:
    """The runner's clock, whose sleeps (Wait states, Retry backoff) end when the runner closes.

    Sleeps go in slices of at most one clock-second, so closing takes at most about a second
    (on the system clock) instead of the rest of a three-minute Wait."""

    def __init__(self, clock: Clock, stop: threading.Event) -> None:
        self._clock = clock
        self._stop = stop

    def now(self) -> datetime:
        return self._clock.now()

    def sleep(self, seconds: float) -> None:
        end = self._clock.now() + timedelta(seconds=seconds)
        while True:
            if self._stop.is_set():
                raise _Interrupted
            remaining = (end - self._clock.now()).total_seconds()
            if remaining <= 0:
                return
            self._clock.sleep(min(remaining, 1.0))


class LocalWorkflowRunner:
    """WorkflowRunner on the local ASL interpreter; executions persisted in ``db_path``.

    ``invoke`` runs Task resources (Lambda function names/ARNs and service integrations).
    ``clock`` drives Wait states and Retry delays: a FakeClock makes a 3-minute Wait instant.
    ``max_workers`` bounds concurrent executions and the threads of an unbounded Map."""

    def __init__(
        self,
        db_path: Path,
        *,
        invoke: TaskInvoker,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account: str = "000000000000",
        max_workers: int = 8,
        auto_resume: bool = True,
    ) -> None:
        self._invoke = invoke
        self._clock: Clock = clock or SystemClock()
        self._region = region
        self._account = account
        self._max_workers = max(1, max_workers)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._active: set[str] = set()
        self._closed = False
        self._stopping = threading.Event()
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex}"
        try:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(db_path), check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailableError(f"cannot open workflow store {db_path}: {exc}") from exc
        self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="stratus-sfn")
        with _LIVE_LOCK:
            _LIVE.add(self._owner)
        if auto_resume:  # a host that must wire things first passes False and calls resume()
            self.resume()

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"workflow store error: {exc}") from exc

    def _machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self._region}:{self._account}:stateMachine:{name}"

    def _execution_arn(self, machine: str, name: str) -> str:
        return f"arn:aws:states:{self._region}:{self._account}:execution:{machine}:{name}"

    def _machine(self, state_machine: str) -> tuple[str, Mapping[str, Any]]:
        name = state_machine
        if state_machine.startswith("arn:"):
            name = state_machine.rsplit(":", 1)[-1]
            if state_machine != self._machine_arn(name):
                raise NotFoundError(f"State Machine Does Not Exist: '{state_machine}'")
        with self._sql() as db:
            row = db.execute(
                "SELECT definition FROM state_machines WHERE name=?", (name,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"State Machine Does Not Exist: '{state_machine}'")
        return name, cast(Mapping[str, Any], json.loads(row[0]))

    # -- public API ------------------------------------------------------------------------
    def register(self, name: str, definition: Mapping[str, Any] | str) -> str:
        """Create or update the state machine ``name``; return its ARN.

        An invalid definition raises InvalidRequestError listing every problem found."""
        if isinstance(definition, str):
            try:
                definition = cast(Mapping[str, Any], json.loads(definition))
            except json.JSONDecodeError as exc:
                raise InvalidRequestError(f"Invalid State Machine Definition: {exc}") from exc
        if not name or len(name) > 80 or _BAD_NAME.search(name):
            raise InvalidRequestError(f"Invalid Name: '{name}'")
        problems = validate(definition)
        if problems:
            raise InvalidRequestError("Invalid State Machine Definition: " + "; ".join(problems))
        arn = self._machine_arn(name)
        with self._sql() as db:
            db.execute(
                "INSERT INTO state_machines VALUES (?,?,?,?) ON CONFLICT(name) DO UPDATE"
                " SET definition=excluded.definition",
                (name, arn, json.dumps(definition), self._clock.now().isoformat()),
            )
        return arn

    def start(self, state_machine: str, input: Any, *, name: str | None = None) -> str:
        """Start an execution; it runs on a worker thread. Returns the execution ARN.

        Same ``name`` and same input → the first execution's ARN; a different input →
        ConditionFailedError (ExecutionAlreadyExists). Step Functions only returns the
        first execution while it is still running; the port (and this runner) always do."""
        machine, _ = self._machine(state_machine)
        name = name or str(uuid.uuid4())
        if len(name) > 80 or _BAD_NAME.search(name):
            raise InvalidRequestError(f"Invalid Name: '{name}'")
        arn = self._execution_arn(machine, name)
        text = json.dumps(input)
        now = self._clock.now()
        with self._sql() as db:
            row = db.execute("SELECT input FROM executions WHERE arn=?", (arn,)).fetchone()
            if row is not None:
                if json.loads(row[0]) == input:
                    return arn
                raise ConditionFailedError(f"Execution Already Exists: '{arn}'")
            db.execute(
                "INSERT INTO executions (arn, state_machine, name, status, input, started_at,"
                " owner) VALUES (?,?,?,?,?,?,?)",
                (arn, machine, name, "RUNNING", text, now.isoformat(), self._owner),
            )
            self._event(arn, "ExecutionStarted", {"input": dumps(input)})
        self._submit(arn, None, input)
        return arn

    def start_sync(
        self,
        state_machine: str,
        input: Any,
        *,
        name: str | None = None,
        timeout: float | None = None,
    ) -> Execution:
        """Start an execution and wait for its end (StartSyncExecution's convenience)."""
        return self.wait(self.start(state_machine, input, name=name), timeout)

    def wait(self, execution_arn: str, timeout: float | None = None) -> Execution:
        """Block until the execution stops (or ``timeout`` real seconds pass); describe it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                execution = self.describe(execution_arn)
                if execution.status != "RUNNING":
                    return execution
                remaining = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                if remaining <= 0:
                    return execution
                # Woken by this runner's own executions; the 0.5 s poll sees other processes.
                self._changed.wait(remaining)

    def describe(self, execution_arn: str) -> Execution:
        """The execution's status, input and (when stopped) output or error."""
        with self._sql() as db:
            row = db.execute(
                "SELECT arn, state_machine, name, status, input, output, error, cause,"
                " started_at, stopped_at FROM executions WHERE arn=?",
                (execution_arn,),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"Execution Does Not Exist: '{execution_arn}'")
        return self._execution(row)

    def _execution(self, row: tuple[Any, ...]) -> Execution:
        arn, machine, name, status, inp, out, error, cause, started, stopped = row
        return Execution(
            execution_arn=arn,
            state_machine=self._machine_arn(machine),
            name=name,
            status=cast(ExecutionStatus, status),
            input=json.loads(inp),
            output=json.loads(out) if out is not None else None,
            error=error,
            cause=cause,
            started_at=datetime.fromisoformat(started),
            stopped_at=datetime.fromisoformat(stopped) if stopped else None,
        )

    def history(self, execution_arn: str) -> list[HistoryEvent]:
        """The execution's events, oldest first, with Step Functions' event type names."""
        self.describe(execution_arn)
        with self._sql() as db:
            rows = db.execute(
                "SELECT id, type, timestamp, details FROM events WHERE execution_arn=? ORDER BY id",
                (execution_arn,),
            ).fetchall()
        return [
            HistoryEvent(id=r[0], type=r[1], timestamp=datetime.fromisoformat(r[2]),
                         details=json.loads(r[3]))
            for r in rows
        ]  # fmt: skip

    def list_executions(self, state_machine: str) -> list[Execution]:
        """Executions of the state machine, newest first."""
        machine, _ = self._machine(state_machine)
        with self._sql() as db:
            rows = db.execute(
                "SELECT arn, state_machine, name, status, input, output, error, cause,"
                " started_at, stopped_at FROM executions WHERE state_machine=?"
                " ORDER BY started_at DESC, rowid DESC",
                (machine,),
            ).fetchall()
        return [self._execution(r) for r in rows]

    def state_machines(self) -> list[str]:
        """Names of the registered state machines."""
        with self._sql() as db:
            return [r[0] for r in db.execute("SELECT name FROM state_machines ORDER BY name")]

    def resume(self) -> list[str]:
        """Resume executions left RUNNING by a killed process; return their ARNs.

        An execution belongs to the runner that started (or resumed) it and is resumed only
        once that runner's process has died (or, in this process, the runner was closed):
        a second runner on the same file, say a CLI, never steals a live execution. PIDs
        are checked with ``kill(pid, 0)``; a reused PID delays the resume until it exits.

        Each restarts at the last top-level state it entered, with that state's input. A
        Map or Parallel state restarts as a whole; retry counters and Wait timers restart."""
        with self._sql() as db:
            rows = db.execute(
                "SELECT arn, input, resume_state, resume_input, owner FROM executions"
                " WHERE status='RUNNING'"
            ).fetchall()
        resumed = []
        for arn, inp, state, state_input, owner in rows:
            # Executions of a live runner (here or in another process) are left alone.
            if arn in self._active or not _owner_is_gone(owner):
                continue
            with self._sql() as db:
                claimed = db.execute(
                    "UPDATE executions SET owner=? WHERE arn=? AND status='RUNNING' AND owner IS ?",
                    (self._owner, arn, owner),
                ).rowcount
            if claimed != 1:
                continue  # another runner claimed it first
            data = json.loads(state_input) if state is not None else json.loads(inp)
            self._submit(arn, state, data)
            resumed.append(arn)
        return resumed

    def close(self) -> None:
        """Stop the worker pool and close the store.

        Executions in a Wait (or a Retry backoff) stop waiting at once; a running task is
        let finish. Executions not finished stay RUNNING and resume, from their last
        entered state, when a runner opens the store again."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with _LIVE_LOCK:
            _LIVE.discard(self._owner)
        with self._lock:
            self._db.close()

    def __enter__(self) -> LocalWorkflowRunner:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- execution -------------------------------------------------------------------------
    def _submit(self, arn: str, start_at: str | None, data: Any) -> None:
        with self._lock:
            self._active.add(arn)
        self._pool.submit(self._run, arn, start_at, data)

    def _event(self, arn: str, kind: str, details: dict[str, Any]) -> None:
        with self._sql() as db:
            # The id is computed inside the INSERT so two runners on one file cannot clash.
            db.execute(
                "INSERT INTO events SELECT ?, COALESCE(MAX(id), 0) + 1, ?, ?, ? FROM events"
                " WHERE execution_arn=?",
                (arn, kind, self._clock.now().isoformat(), json.dumps(details), arn),
            )

    def _checkpoint(self, arn: str, state: str, data: Any) -> None:
        with self._sql() as db:
            db.execute(
                "UPDATE executions SET resume_state=?, resume_input=? WHERE arn=?",
                (state, json.dumps(data), arn),
            )

    def _run(self, arn: str, start_at: str | None, data: Any) -> None:
        try:
            execution = self.describe(arn)
            machine, definition = self._machine(execution.state_machine)
            interpreter = Interpreter(
                definition,
                invoke=self._invoke,
                clock=_StoppableClock(self._clock, self._stopping),
                max_workers=self._max_workers,
                region=self._region,
            )
            context = ExecutionContext(
                execution_arn=arn,
                name=execution.name,
                input=execution.input,
                start_time=execution.started_at or self._clock.now(),
                state_machine_arn=self._machine_arn(machine),
                state_machine_name=machine,
                role_arn=f"arn:aws:iam::{self._account}:role/stratus-local",
            )
            on_event: Callable[[str, dict[str, Any]], None] = lambda k, d: self._event(arn, k, d)  # noqa: E731
            try:
                output = interpreter.run(
                    data,
                    context=context,
                    start_at=start_at,
                    on_event=on_event,
                    on_checkpoint=lambda s, d: self._checkpoint(arn, s, d),
                )
            except StatesError as err:
                self._finish(arn, "FAILED", None, err.error or None, err.cause)
            except Exception as exc:  # a bug or a non-JSON result: fail, never hang RUNNING
                failure = from_exception(exc)
                self._finish(arn, "FAILED", None, "States.Runtime", failure.cause)
            else:
                self._finish(arn, "SUCCEEDED", output, None, None)
        finally:
            with self._changed:
                self._active.discard(arn)
                self._changed.notify_all()

    def _finish(
        self, arn: str, status: str, output: Any, error: str | None, cause: str | None
    ) -> None:
        with self._sql() as db:
            out = json.dumps(output) if status == "SUCCEEDED" else None
            cur = db.execute(
                "UPDATE executions SET status=?, output=?, error=?, cause=?, stopped_at=?"
                " WHERE arn=? AND status='RUNNING'",
                (status, out, error, cause, self._clock.now().isoformat(), arn),
            )
            if cur.rowcount != 1:
                return  # finished elsewhere (another runner resumed it)
            if status == "SUCCEEDED":
                self._event(arn, "ExecutionSucceeded", {"output": dumps(output)})
            else:
                details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
                self._event(arn, "ExecutionFailed", details)
