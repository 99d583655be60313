"""The local target's ingest pipeline, end to end, for the CLI, the demo and the benchmark.

:func:`ingest` puts a file in the bucket the template declares (key
``<client>/<provider>/<UTC datetime>.<ext>`` with ``client``/``provider`` metadata, as the
report uploader writes it); the bucket's EventBridge "Object Created" rule starts the ETL
state machine inside the running :class:`~stratus.platform.runtime.app.LocalRuntime`; this
waits for that execution and returns its outcome with the load summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from stratus.platform.ports import Clock
from stratus.platform.runtime.app import LocalRuntime

TEMPLATE = Path(__file__).parent / "infra" / "template.yaml"
BUCKET_ID = "CostReportsBucket"
ETL_ID = "EtlStateMachine"
FILES_ID = "FilesTable"


class IngestError(RuntimeError):
    """The file did not go through the pipeline (the message says why)."""


@dataclass(frozen=True)
class IngestResult:
    """What the ETL did with one file."""

    key: str
    status: str  # PROCESSED, FAILED, SKIPPED
    summary: dict[str, Any]
    reason: str = ""


def _app(runtime: LocalRuntime) -> Any:
    for app in runtime.apps:
        if BUCKET_ID in app.buckets and ETL_ID in app.state_machines:
            return app
    raise IngestError("the costs template is not running in this runtime")


def bucket_name(runtime: LocalRuntime) -> str:
    """Local name of the cost reports bucket."""
    return str(_app(runtime).buckets[BUCKET_ID].name)


def upload_key(client_id: str, provider: str, clock: Clock, name: str) -> str:
    """``<client>/<provider>/<UTC datetime>.<ext>`` (``.csv.gz`` kept whole)."""
    suffix = ".csv.gz" if name.endswith(".gz") else "." + (name.rsplit(".", 1)[-1] or "csv")
    return f"{client_id}/{provider or 'auto'}/{clock.now():%Y-%m-%dT%H-%M-%S.%fZ}{suffix}"


def ingest(
    runtime: LocalRuntime,
    data: bytes | BinaryIO,
    *,
    client_id: str,
    provider: str | None = None,
    name: str = "upload.csv",
    timeout_s: float = 600,
) -> IngestResult:
    """Upload ``data`` through the bucket and wait for the ETL execution it triggers."""
    app = _app(runtime)
    machine = app.state_machines[ETL_ID]
    objects = runtime.resources.bucket(app.buckets[BUCKET_ID].name)
    key = upload_key(client_id, provider or "", runtime.clock, name)
    metadata = {"client": client_id, "report-type": "manual-upload"}
    if provider:
        metadata["provider"] = provider
    objects.put(key, data, content_type="text/csv", metadata=metadata)
    deadline = time.monotonic() + timeout_s
    execution = None
    while execution is None:
        for candidate in runtime.workflows.list_executions(machine.arn):
            detail = (candidate.input or {}).get("detail") or {}
            if (detail.get("object") or {}).get("key") == key:
                execution = candidate
                break
        if execution is None:
            if time.monotonic() > deadline:
                raise IngestError(f"no ETL execution started for {key}")
            time.sleep(0.05)
    done = runtime.workflows.wait(
        execution.execution_arn, timeout=max(1.0, deadline - time.monotonic())
    )
    output = done.output if isinstance(done.output, dict) else {}
    if done.status == "SUCCEEDED" and output.get("skip"):
        return IngestResult(key, "SKIPPED", {}, str(output.get("reason", "")))
    if done.status == "SUCCEEDED":
        summary = (output.get("summary") or {}).get("value") or {}
        return IngestResult(key, "PROCESSED", summary)
    reason = done.cause or done.error or done.status
    with suppress(ValueError, AttributeError):
        reason = json.loads(reason).get("errorMessage", reason)
    return IngestResult(key, "FAILED", {}, str(reason))


@contextmanager
def local_runtime(
    home: Path, *, clock: Clock | None = None, parameters: dict[str, str] | None = None
) -> Iterator[LocalRuntime]:
    """A started runtime of the costs template alone (no other solution), stopped after;
    ``parameters`` override the template's (e.g. ``{"ChunkRows": "100"}``)."""
    runtime = LocalRuntime([TEMPLATE], home=home, clock=clock, port=0, parameters=parameters)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()
