"""Use cases of the report uploader: the plan, and one configuration's upload.

The scheduled state machine (``infra/statemachines/uploader.asl.json``) calls :func:`plan`
(every client with its enabled configurations), maps over clients and, per configuration,
calls :func:`upload_configuration`, which copies every new or changed file of the
configuration's source into the reports bucket as ``<client>/<report type>/<UTC
datetime>.<ext>`` with metadata. That put is the object-created event that starts the ETL.

"Unchanged" is decided per source file with what the table remembers (item
``SEEN#<configuration>#<digest of the source name>``): the same fingerprint (etag, size +
mtime) means unchanged without reading the file; otherwise the file is read once into a
spooled temporary file while its SHA-256 is computed, and the same hash means unchanged.
The memory is written after the upload: a crash in between uploads the file once more on
the next run (the ETL replaces a client's billing period, so that is harmless), never loses one.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from stratus.platform.ports import Clock, NotFoundError, ObjectStore, PortError
from stratus.solutions.costs import accounts
from stratus.solutions.costs.accounts import AccountPorts
from stratus.solutions.costs.domain.accounts import (
    Configuration,
    etl_provider_of,
    file_extension,
    upload_key,
)
from stratus.solutions.costs.providers import (
    ReportSource,
    SourceContext,
    SourceError,
    SourceFile,
    source_for,
)

_SPOOL_BYTES = 8 * 1024 * 1024
_READ = 1024 * 1024


@dataclass(frozen=True)
class UploaderPorts:
    """What the uploader needs: the accounts (table, secrets, clock), the reports bucket and
    a way to reach buckets by name (for sources that read one)."""

    accounts: AccountPorts
    reports: ObjectStore
    bucket: Callable[[str], ObjectStore]

    @property
    def clock(self) -> Clock:
        return self.accounts.clock


@dataclass
class UploadResult:
    """What one configuration's upload did."""

    client_id: str
    configuration_id: str
    report_type: str
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ClientId": self.client_id,
            "ConfigurationId": self.configuration_id,
            "ReportType": self.report_type,
            "Uploaded": self.uploaded,
            "Unchanged": self.unchanged,
            "Errors": self.errors,
        }


def plan(ports: AccountPorts, only_client: str | None = None) -> dict[str, Any]:
    """``{"Clients": [{"ClientId", "Reports": [{"ClientId", "ConfigurationId", "ReportType"}]}]}``
    for every client (or only ``only_client``) with at least one enabled configuration."""
    clients = []
    for client, configs in accounts.all_configurations(ports):
        if not configs or (only_client is not None and client.client_id != only_client):
            continue
        clients.append(
            {
                "ClientId": client.client_id,
                "Reports": [
                    {
                        "ClientId": client.client_id,
                        "ConfigurationId": c.configuration_id,
                        "ReportType": c.report_type,
                    }
                    for c in configs
                ],
            }
        )
    return {"Clients": clients}


def _seen_key(client_id: str, configuration_id: str, source_name: str) -> dict[str, str]:
    digest = hashlib.sha256(source_name.encode("utf-8")).hexdigest()[:32]
    return {"PK": f"CLIENT#{client_id}", "SK": f"SEEN#{configuration_id}#{digest}"}


def _spool(stream: BinaryIO) -> tuple[Any, str, int]:
    """Copy ``stream`` into a spooled temporary file; return it (rewound), SHA-256 and size."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    size = 0
    with stream:
        while chunk := stream.read(_READ):
            digest.update(chunk)
            spool.write(chunk)
            size += len(chunk)
    spool.seek(0)
    return spool, digest.hexdigest(), size


def _content_type(extension: str) -> str:
    if extension.endswith("gz"):
        return "application/gzip"
    if extension == "parquet":
        return "application/vnd.apache.parquet"
    return "text/csv"


def upload_configuration(
    ports: UploaderPorts, client_id: str, configuration_id: str
) -> UploadResult:
    """Upload every new or changed file of one configuration (see the module docstring).

    A file that cannot be read is reported in ``errors`` and the others still go; a source
    that cannot be listed at all is one error. Nothing raises for a source problem."""
    conf = accounts.get_configuration(ports.accounts, client_id, configuration_id)
    result = UploadResult(client_id, configuration_id, conf.report_type)
    cred = accounts.get_credential(ports.accounts, client_id, conf.credential_id)
    try:
        secret = accounts.credential_secret(ports.accounts, cred)
        source = source_for(SourceContext(conf, cred, secret, ports.bucket))
        files = list(source.files())
    except (SourceError, PortError) as exc:
        result.errors.append(f"source: {exc}")
        return result
    for file in files:
        try:
            _upload_one(ports, conf, source, file, result)
        except (SourceError, PortError, OSError) as exc:
            result.errors.append(f"{file.name}: {exc}")
    return result


def _upload_one(
    ports: UploaderPorts,
    conf: Configuration,
    source: ReportSource,
    file: SourceFile,
    result: UploadResult,
) -> None:
    table = ports.accounts.table
    key = _seen_key(conf.client_id, conf.configuration_id, file.name)
    seen = table.get(key)
    if seen is not None and file.fingerprint and seen.get("Fingerprint") == file.fingerprint:
        result.unchanged.append(file.name)
        return
    spool, sha256, size = _spool(source.open(file))
    with spool:
        version = file.metadata.get("version", "")
        if seen is not None and (seen.get("Sha256"), seen.get("Version", "")) == (sha256, version):
            table.update(key, set={"Fingerprint": file.fingerprint})
            result.unchanged.append(file.name)
            return
        now = ports.clock.now()
        extension = file_extension(file.name)
        target = _free_key(ports.reports, conf, now, extension)
        metadata = {
            "client": conf.client_id,
            "report-type": conf.report_type,
            "configuration": conf.configuration_id,
            "source-provider": source.provider,
            "source": _ascii(file.name)[-512:],
            "source-etag": _ascii(file.fingerprint)[:200],
            "sha256": sha256,
        }
        metadata.update({name: _ascii(value)[:512] for name, value in file.metadata.items()})
        etl = etl_provider_of(conf.report_type, conf.config)
        if etl:
            metadata["provider"] = etl
        ports.reports.put(target, spool, content_type=_content_type(extension), metadata=metadata)
    table.put(
        {
            **key,
            "Source": file.name,
            "Fingerprint": file.fingerprint,
            "Sha256": sha256,
            "Version": version,
            "Size": size,
            "Key": target,
            "UploadedDt": now.isoformat(),
        }
    )
    result.uploaded.append(target)


def _free_key(reports: ObjectStore, conf: Configuration, at: datetime, extension: str) -> str:
    """The upload key for ``at``, moved on by a microsecond while taken (two files of one run,
    or a coarse clock, never overwrite each other)."""
    for step in range(1000):
        key = upload_key(
            conf.client_id, conf.report_type, at + timedelta(microseconds=step), extension
        )
        try:
            reports.head(key)
        except NotFoundError:
            return key
    raise SourceError(f"no free upload key near {at.isoformat()}")


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")
