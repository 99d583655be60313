"""The local target's ingest pipeline, end to end, for the CLI, the demo and the benchmark.

:func:`ingest_file` (``stratus costs ingest``) goes through the report uploader: it makes sure
the client has a ``local`` credential and a ``LOCAL_FILE`` configuration naming the file (and
``etl_provider`` when a provider is given), invokes the template's real
``UploadFileReportFunction`` for that configuration (fingerprint and SHA-256 memory, the key
``<client>/LOCAL_FILE/<UTC datetime>.<ext>``, metadata), and waits for the ETL execution the
upload's object-created event starts.

:func:`ingest` puts bytes in the bucket directly with the uploader's key convention and
``client``/``provider`` metadata (the benchmark and tests that do not exercise the uploader);
the bucket's EventBridge "Object Created" rule starts the ETL state machine inside the running
:class:`~stratus.platform.runtime.app.LocalRuntime`; this waits for that execution and returns
its outcome with the load summary.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from stratus.platform.ports import Clock, SortKeyCondition
from stratus.platform.runtime.app import LocalRuntime

TEMPLATE = Path(__file__).parent / "infra" / "template.yaml"
BUCKET_ID = "CostReportsBucket"
CREDENTIALS_ID = "CredentialsTable"
UPLOAD_FUNCTION_ID = "UploadFileReportFunction"
CLI_CREDENTIAL = "local-files"
ETL_ID = "EtlStateMachine"
FILES_ID = "FilesTable"


class IngestError(RuntimeError):
    """The file did not go through the pipeline (the message says why)."""


@dataclass(frozen=True)
class IngestResult:
    """What the ETL did with one file."""

    key: str
    #: PROCESSED, WAITING (a part of a report version whose other parts are missing), FAILED,
    #: SKIPPED
    status: str
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


def upload(
    runtime: LocalRuntime,
    data: bytes | BinaryIO,
    *,
    client_id: str,
    provider: str | None = None,
    name: str = "upload.csv",
    metadata: dict[str, str] | None = None,
) -> str:
    """Put ``data`` in the bucket (the uploader's key convention and metadata, plus
    ``metadata``, e.g. ``version``/``parts``/``part`` of a report version of several files);
    its key. The bucket's "Object Created" rule starts the ETL: :func:`wait_for_etl` waits."""
    app = _app(runtime)
    objects = runtime.resources.bucket(app.buckets[BUCKET_ID].name)
    key = upload_key(client_id, provider or "", runtime.clock, name)
    meta = {"client": client_id, "report-type": "manual-upload", **(metadata or {})}
    if provider:
        meta["provider"] = provider
    objects.put(key, data, content_type="text/csv", metadata=meta)
    return key


def ingest(
    runtime: LocalRuntime,
    data: bytes | BinaryIO,
    *,
    client_id: str,
    provider: str | None = None,
    name: str = "upload.csv",
    timeout_s: float = 600,
    metadata: dict[str, str] | None = None,
) -> IngestResult:
    """Upload ``data`` through the bucket and wait for the ETL execution it triggers."""
    key = upload(
        runtime, data, client_id=client_id, provider=provider, name=name, metadata=metadata
    )
    return wait_for_etl(runtime, key, timeout_s=timeout_s)


def wait_for_etl(runtime: LocalRuntime, key: str, *, timeout_s: float = 600) -> IngestResult:
    """Wait for the ETL execution the object ``key`` started; its outcome and summary."""
    machine = _app(runtime).state_machines[ETL_ID]
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
        return _outcome(key, summary)
    reason = _recorded_error(runtime, key) or done.cause or done.error or done.status
    with suppress(ValueError, AttributeError):
        reason = json.loads(reason).get("errorMessage", reason)
    return IngestResult(key, "FAILED", {}, str(reason))


def _outcome(key: str, summary: dict[str, Any]) -> IngestResult:
    """PROCESSED, or what a part of a multi-file report version came to."""
    version = summary.get("version") or {}
    state = version.get("status", "published")
    if state == "published":
        return IngestResult(key, "PROCESSED", summary)
    of = f"part of report version {version.get('id')!r}"
    if state == "waiting":
        missing = int(version.get("parts", 0)) - int(version.get("loaded", 0))
        reason = (
            f"{of}: {version.get('loaded')} of {version.get('parts')} parts loaded, waiting for"
            f" {missing} more; readers still see the previous version"
        )
        return IngestResult(key, "WAITING", summary, reason)
    if state == "duplicate":
        return IngestResult(key, "SKIPPED", summary, f"{of}: this part was loaded already")
    return IngestResult(key, "FAILED", summary, f"{of}: another part failed, never published")


def _recorded_error(runtime: LocalRuntime, key: str) -> str | None:
    """The error the ETL recorded on the file's latest run (the execution's own cause only
    says to look there)."""
    files = runtime.resources.table(_app(runtime).tables[FILES_ID].spec.name)
    runs = files.query(f"FILE#{key}", sort=SortKeyCondition.begins_with("LOAD#")).items
    return str(runs[-1]["Error"]) if runs and runs[-1].get("Error") else None


def ingest_file(
    runtime: LocalRuntime,
    path: Path,
    *,
    client_id: str,
    provider: str | None = None,
    timeout_s: float = 600,
) -> IngestResult:
    """Put a local file through the uploader → ETL pipeline (see the module docstring).

    The client, its ``local-files`` credential and the file's configuration
    (``cli-<digest of path and provider>``) are created when missing. A file the uploader has
    seen with the same content is not uploaded again: the result is SKIPPED with that reason.
    IngestError when the upload fails."""
    from stratus.solutions.costs import accounts

    app = _app(runtime)
    ports = accounts.AccountPorts(
        table=runtime.resources.table(app.tables[CREDENTIALS_ID].spec.name),
        secrets=runtime.resources.secrets(),
        clock=runtime.clock,
    )
    path = path.resolve()
    digest = hashlib.sha256(f"{path}\0{provider or ''}".encode()).hexdigest()[:16]
    configuration_id = f"cli-{digest}"
    config: dict[str, str] = {"path": str(path)}
    if provider:
        config["etl_provider"] = provider
    try:
        with suppress(accounts.ConflictError):
            accounts.create_client(ports, client_id, client_id)
        with suppress(accounts.ConflictError):
            accounts.create_credential(ports, client_id, "local", {}, None, CLI_CREDENTIAL)
        with suppress(accounts.ConflictError):
            accounts.create_configuration(
                ports,
                client_id,
                CLI_CREDENTIAL,
                "LOCAL_FILE",
                config,
                configuration_id=configuration_id,
            )
    except accounts.AccountsError as error:
        raise IngestError(f"cannot register the file with the uploader: {error}") from error
    upload = runtime.function(app, UPLOAD_FUNCTION_ID)
    answer = upload.invoke(
        {"ClientId": client_id, "ConfigurationId": configuration_id, "ReportType": "LOCAL_FILE"},
        wait_for_slot=True,
    )
    if not isinstance(answer, dict):
        raise IngestError(f"the uploader answered {answer!r}")
    if answer.get("Errors"):
        raise IngestError("the uploader failed: " + "; ".join(map(str, answer["Errors"])))
    uploaded = [str(k) for k in answer.get("Uploaded") or []]
    if not uploaded:
        return IngestResult(
            "", "SKIPPED", {}, "unchanged since its last upload (same content): nothing to load"
        )
    return wait_for_etl(runtime, uploaded[0], timeout_s=timeout_s)


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
