"""Report manifests: which data files make one report version (AWS and Azure).

Providers write a month's cost report as several files and a manifest naming them:

* AWS legacy CUR: ``<prefix>/<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` with
  ``assemblyId``, ``reportKeys`` (object keys) and ``billingPeriod`` (``start``/``end``);
  each assembly's folder holds a copy of its manifest too;
* AWS CUR 2.0 / FOCUS Data Exports:
  ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` with
  ``executionId``, ``dataFiles`` (``s3://bucket/key`` URIs) and ``billingPeriod``;
* Azure Cost Management exports (partitioned, or split because of their size):
  ``<root>/<export>/<yyyymmdd-yyyymmdd>/<runId>/manifest.json`` next to the run's partitions,
  with ``blobCount``, ``runInfo`` (``runId``, ``submittedTime``, ``startDate``, ``endDate``)
  and ``blobs`` (``blobName``: the blob's path in the container).

:func:`plan_versions` reads them and says, per data file, which version it belongs to (the
newest manifest of each billing period wins: the latest ``submittedTime`` for Azure, the most
recently written manifest object for AWS) and which files to leave alone (listed only by an
older manifest, or lying in the folder of a newest manifest that does not list them).
:func:`offer` turns a listing and its plan into the files a source offers, with their
``version``/``parts``/``part`` metadata: the one way every source expresses a version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stratus.platform.ports.objects import ObjectInfo
from stratus.solutions.costs.providers.base import SourceFile, matches_suffix

MANIFEST_SUFFIX = "-Manifest.json"
AZURE_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """One manifest: the version id, its billing period and its data files (object keys).

    ``parts`` is how many files the version has (Azure's ``blobCount``; 0: as many as listed);
    ``written`` when the provider says the version was made (Azure's ``runInfo.submittedTime``;
    None: the manifest object's last modification decides)."""

    key: str
    version: str
    period: str
    files: tuple[str, ...]
    scope: str  # the folder its period's data files live under
    parts: int = 0
    written: datetime | None = None


@dataclass(frozen=True)
class VersionPlan:
    """Data file key → ``(version, parts)`` of the newest manifests; files listed by older
    manifests only; the folders of the newest manifests."""

    parts: dict[str, tuple[str, int]]
    superseded: frozenset[str]
    scopes: tuple[str, ...]

    def skip(self, key: str) -> bool:
        """Whether a data file is to be left alone: listed by an older manifest only, or
        lying in the folder of a newest manifest that does not list it."""
        if key in self.parts:
            return False
        return key in self.superseded or any(key.startswith(s) for s in self.scopes)


def is_manifest(key: str) -> bool:
    """An AWS ``*-Manifest.json`` or an Azure export's ``manifest.json``."""
    return key.endswith(MANIFEST_SUFFIX) or key.rsplit("/", 1)[-1] == AZURE_MANIFEST


def _key_of(uri: str) -> str:
    """``s3://bucket/key`` → ``key``; a plain key unchanged."""
    if uri.startswith("s3://"):
        return uri[5:].split("/", 1)[1] if "/" in uri[5:] else ""
    return uri


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 time (Azure writes 7 fractional digits and ``Z``), UTC when naive."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _run_scope(folder: str, version: str) -> str:
    """The period folder: one level up when the manifest lies in its version's own folder
    (a CUR assembly's copy, an Azure run's ``<runId>/``)."""
    return folder[: -len(version) - 1] if folder.endswith(f"/{version}/") else folder


def _azure(key: str, raw: dict[str, Any], folder: str) -> Manifest | None:
    run, blobs = raw.get("runInfo"), raw.get("blobs")
    if not isinstance(run, dict) or not run.get("runId") or not isinstance(blobs, list):
        return None
    files = tuple(
        str(b["blobName"]).lstrip("/") for b in blobs if isinstance(b, dict) and b.get("blobName")
    )
    version = str(run["runId"])
    count = raw.get("blobCount")
    parts = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0
    period = f"{run.get('startDate', '')}..{run.get('endDate', '')}"
    written = _instant(run.get("submittedTime"))
    return Manifest(key, version, period, files, _run_scope(folder, version), parts, written)


def parse_manifest(key: str, body: bytes) -> Manifest | None:
    """A manifest's version and files; None when the JSON is not a manifest we know."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict):
        return None
    folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    if "runInfo" in raw:
        return _azure(key, raw, folder)
    period_raw = raw.get("billingPeriod") or {}
    period = str(period_raw.get("start", "")) if isinstance(period_raw, dict) else ""
    if raw.get("assemblyId") and isinstance(raw.get("reportKeys"), list):
        files = tuple(_key_of(str(k)) for k in raw["reportKeys"])
        version = str(raw["assemblyId"])
        scope = _run_scope(folder, version)
        return Manifest(key, version, period or scope, files, scope)
    if raw.get("executionId") and isinstance(raw.get("dataFiles"), list):
        files = tuple(_key_of(str(k)) for k in raw["dataFiles"])
        scope = folder.replace("/metadata/", "/data/", 1)
        return Manifest(key, str(raw["executionId"]), period or scope, files, scope)
    return None


def _resolve(name: str, folder: str, keys: set[str]) -> str:
    """The listed key a manifest's file name means: itself (a path in the bucket or
    container), relative to the manifest's folder, or with a leading container segment."""
    if name in keys:
        return name
    if folder + name in keys:
        return folder + name
    if "/" in name and name.split("/", 1)[1] in keys:
        return name.split("/", 1)[1]
    return name


def plan_versions(objects: Iterable[ObjectInfo], read: Callable[[str], bytes]) -> VersionPlan:
    """Read every manifest among ``objects`` and plan the versions (see the module doc).
    Per billing period (and folder) the newest manifest is the version."""
    infos = list(objects)
    keys = {info.key for info in infos}
    newest: dict[tuple[str, str], tuple[datetime, str, Manifest]] = {}
    listed_anywhere: set[str] = set()
    for info in infos:
        if not is_manifest(info.key):
            continue
        parsed = parse_manifest(info.key, read(info.key))
        if parsed is None:
            continue
        folder = info.key.rsplit("/", 1)[0] + "/" if "/" in info.key else ""
        files = tuple(_resolve(name, folder, keys) for name in parsed.files)
        manifest = Manifest(
            parsed.key, parsed.version, parsed.period, files, parsed.scope, parsed.parts,
            parsed.written,
        )  # fmt: skip
        listed_anywhere.update(manifest.files)
        written = manifest.written or _aware(info.last_modified)
        slot = (manifest.period, manifest.scope)
        held = newest.get(slot)
        if held is None or (written, info.key) > held[:2]:
            newest[slot] = (written, info.key, manifest)
    parts: dict[str, tuple[str, int]] = {}
    for _, _, manifest in newest.values():
        for key in manifest.files:
            parts[key] = (manifest.version, manifest.parts or len(manifest.files))
    scopes = tuple(sorted({m.scope for _, _, m in newest.values() if m.scope}))
    return VersionPlan(parts, frozenset(k for k in listed_anywhere if k not in parts), scopes)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def offer(
    objects: Iterable[ObjectInfo], plan: VersionPlan | None, suffix: str | None
) -> Iterator[SourceFile]:
    """The data files among ``objects`` a source offers: without a plan, every file matching
    the suffix (as before); with one, the files of the newest manifests carry their version
    (``version``, ``parts``, ``part`` = the file's key; the fingerprint includes the version,
    so the same bytes in a new version are uploaded again: the ETL needs every part of it),
    and the files the plan leaves alone are not offered."""
    for info in objects:
        if not matches_suffix(info.key, suffix):
            continue
        if plan is None or info.key not in plan.parts:
            if plan is None or not plan.skip(info.key):
                yield SourceFile(info.key, info.etag, info.size)
            continue
        version, parts = plan.parts[info.key]
        yield SourceFile(
            info.key,
            f"{info.etag}@{version}",
            info.size,
            {"version": version, "parts": str(parts), "part": info.key},
        )
