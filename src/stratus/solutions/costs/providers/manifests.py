"""AWS report manifests: which data files make one report version.

AWS writes a month's cost report as several files and a manifest naming them:

* legacy CUR: ``<prefix>/<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` with
  ``assemblyId``, ``reportKeys`` (object keys) and ``billingPeriod`` (``start``/``end``);
  each assembly's folder holds a copy of its manifest too;
* CUR 2.0 / FOCUS Data Exports:
  ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` with
  ``executionId``, ``dataFiles`` (``s3://bucket/key`` URIs) and ``billingPeriod``.

:func:`plan_versions` reads them and says, per data file, which version it belongs to (the
newest manifest of each billing period wins) and which files to leave alone (listed only by an
older manifest, or lying in a period folder whose newest manifest does not list them). Azure
partitioned exports (``manifest.json``, ``runInfo.runId``, ``blobs[].blobName``) are not read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stratus.platform.ports.objects import ObjectInfo

MANIFEST_SUFFIX = "-Manifest.json"


@dataclass(frozen=True)
class Manifest:
    """One manifest: the version id, its billing period and its data files (object keys)."""

    key: str
    version: str
    period: str
    files: tuple[str, ...]
    scope: str  # the folder its period's data files live under


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


def _key_of(uri: str) -> str:
    """``s3://bucket/key`` → ``key``; a plain key unchanged."""
    if uri.startswith("s3://"):
        return uri[5:].split("/", 1)[1] if "/" in uri[5:] else ""
    return uri


def parse_manifest(key: str, body: bytes) -> Manifest | None:
    """A manifest's version and files; None when the JSON is not a manifest we know."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict):
        return None
    period_raw = raw.get("billingPeriod") or {}
    period = str(period_raw.get("start", "")) if isinstance(period_raw, dict) else ""
    folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    if raw.get("assemblyId") and isinstance(raw.get("reportKeys"), list):
        files = tuple(_key_of(str(k)) for k in raw["reportKeys"])
        # A copy inside the assembly's folder: the period folder is one level up.
        version = str(raw["assemblyId"])
        scope = folder[: -len(version) - 1] if folder.endswith(f"/{version}/") else folder
        return Manifest(key, version, period or scope, files, scope)
    if raw.get("executionId") and isinstance(raw.get("dataFiles"), list):
        files = tuple(_key_of(str(k)) for k in raw["dataFiles"])
        scope = folder.replace("/metadata/", "/data/", 1)
        return Manifest(key, str(raw["executionId"]), period or scope, files, scope)
    return None


def plan_versions(objects: Iterable[ObjectInfo], read: Callable[[str], bytes]) -> VersionPlan:
    """Read every manifest among ``objects`` and plan the versions (see the module doc).
    Per billing period (and folder) the most recently written manifest is the version."""
    newest: dict[tuple[str, str], tuple[ObjectInfo, Manifest]] = {}
    listed_anywhere: set[str] = set()
    for info in objects:
        if not info.key.endswith(MANIFEST_SUFFIX):
            continue
        manifest = parse_manifest(info.key, read(info.key))
        if manifest is None:
            continue
        listed_anywhere.update(manifest.files)
        slot = (manifest.period, manifest.scope)
        held = newest.get(slot)
        if held is None or (info.last_modified, info.key) > (held[0].last_modified, held[0].key):
            newest[slot] = (info, manifest)
    parts: dict[str, tuple[str, int]] = {}
    for _, manifest in newest.values():
        for key in manifest.files:
            parts[key] = (manifest.version, len(manifest.files))
    scopes = tuple(sorted({m.scope for _, m in newest.values() if m.scope}))
    return VersionPlan(parts, frozenset(k for k in listed_anywhere if k not in parts), scopes)
