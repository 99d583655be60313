"""Sources that need no cloud SDK: a local directory or file, an HTTP(S) URL, a bucket.

* :class:`DirectorySource` — ``LOCAL_FILE`` (and ``AZURE_EXPORT``/``GCP_BILLING`` with
  ``Config.path``): files under a path, fingerprint = size + modification time.
* :class:`HttpSource` — ``HTTP``: one file; fingerprint = the ETag or Last-Modified header,
  else nothing (then the content hash decides). A credential secret is sent as a bearer token
  (or in ``Access.header``).
* :class:`BucketSource` — any ObjectStore; fingerprint = the etag. Used for Azure/GCP exports
  copied to a bucket of this deployment (``Config.bucket``) and, with an S3 client built from
  the client's credential, for AWS (see :mod:`.aws`). For AWS and Azure it reads the report
  manifests (:mod:`.manifests`): the parts of one report version carry their version.

Azure exports are read from Azure Blob Storage (:mod:`.azure_blob`), GCP billing exports from
Google Cloud Storage (:mod:`.gcs`), or either from a local path or an ObjectStore-compatible
bucket. GCP billing data in its BigQuery export is ``GCP_BIGQUERY`` (:mod:`.bigquery`).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from stratus.platform.ports import ObjectStore, PortError
from stratus.solutions.costs.providers.azure_blob import (
    LOGIN,
    STORAGE_SCOPE,
    AzureBlobSource,
    service_principal_token,
)
from stratus.solutions.costs.providers.base import (
    SourceContext,
    SourceError,
    SourceFile,
    matches_suffix,
    register,
)
from stratus.solutions.costs.providers.gcs import STORAGE, GcsSource, service_account_token
from stratus.solutions.costs.providers.manifests import offer, plan_versions


class DirectorySource:
    """Files under a local directory (recursively, sorted), or one file."""

    provider = "local"

    def __init__(self, path: Path, suffix: str | None = None, provider: str = "local") -> None:
        self.path = path
        self.suffix = suffix
        self.provider = provider

    def files(self) -> Iterator[SourceFile]:
        if self.path.is_file():
            candidates = [self.path]
        elif self.path.is_dir():
            candidates = sorted(p for p in self.path.rglob("*") if p.is_file())
        else:
            raise SourceError(f"{self.path} does not exist")
        for path in candidates:
            if path != self.path and not matches_suffix(path.name, self.suffix):
                continue
            stat = path.stat()
            yield SourceFile(str(path), f"{stat.st_size}:{stat.st_mtime_ns}", stat.st_size)

    def open(self, file: SourceFile) -> BinaryIO:
        try:
            return Path(file.name).open("rb")
        except OSError as exc:
            raise SourceError(f"cannot read {file.name}: {exc.strerror}") from exc


class BucketSource:
    """Objects of a bucket under a prefix."""

    provider = "bucket"

    def __init__(
        self,
        store: ObjectStore,
        prefix: str = "",
        suffix: str | None = None,
        provider: str = "bucket",
        *,
        manifests: bool = False,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.suffix = suffix
        self.provider = provider
        self.manifests = manifests

    def files(self) -> Iterator[SourceFile]:
        """The data files; with ``manifests`` (AWS, Azure), those of the newest manifest of
        each billing period carry their version (``manifests.plan_versions``), and data files
        the newest manifests leave out are not offered."""
        try:
            infos = list(self.store.list(self.prefix))
            plan = plan_versions(infos, self.store.get) if self.manifests else None
        except PortError as exc:
            raise SourceError(f"cannot list {self.store.name}/{self.prefix}: {exc}") from exc
        yield from offer(infos, plan, self.suffix)

    def open(self, file: SourceFile) -> BinaryIO:
        try:
            return self.store.open(file.name)
        except PortError as exc:
            raise SourceError(f"cannot read {self.store.name}/{file.name}: {exc}") from exc


class HttpSource:
    """One file over HTTP(S)."""

    provider = "http"

    def __init__(self, url: str, token: str | None = None, header: str | None = None) -> None:
        self.url = url
        self.token = token
        self.header = header or "Authorization"

    def _request(self, method: str) -> urllib.request.Request:
        request = urllib.request.Request(self.url, method=method)  # noqa: S310 - http(s) only
        if self.token:
            value = f"Bearer {self.token}" if self.header == "Authorization" else self.token
            request.add_header(self.header, value)
        return request

    def files(self) -> Iterator[SourceFile]:
        try:
            with urllib.request.urlopen(self._request("HEAD"), timeout=30) as response:  # noqa: S310
                etag = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
                length = response.headers.get("Content-Length")
        except urllib.error.HTTPError as exc:
            if exc.code != 405:
                raise SourceError(f"HEAD {self.url}: HTTP {exc.code}") from exc
            etag, length = "", None
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"HEAD {self.url}: {exc}") from exc
        yield SourceFile(self.url, etag, int(length) if length and length.isdigit() else None)

    def open(self, file: SourceFile) -> BinaryIO:
        try:
            response = urllib.request.urlopen(self._request("GET"), timeout=60)  # noqa: S310
        except urllib.error.HTTPError as exc:
            raise SourceError(f"GET {self.url}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"GET {self.url}: {exc}") from exc
        stream: BinaryIO = response
        return stream


def _path_or_bucket(context: SourceContext, provider: str) -> DirectorySource | BucketSource:
    config = context.configuration.config
    suffix = config.get("suffix")
    if config.get("path"):
        return DirectorySource(Path(str(config["path"])), suffix, provider)
    store = context.bucket(str(config["bucket"]))
    prefix = str(config.get("prefix") or "")
    return BucketSource(store, prefix, suffix, provider, manifests=provider == "azure")


@register
class LocalFileSource:
    """``LOCAL_FILE``: a directory or a file on this machine."""

    report_types: ClassVar[tuple[str, ...]] = ("LOCAL_FILE",)

    @classmethod
    def build(cls, context: SourceContext) -> DirectorySource:
        config = context.configuration.config
        return DirectorySource(Path(str(config["path"])), config.get("suffix"), "local")


@register
class HttpFileSource:
    """``HTTP``: one URL."""

    report_types: ClassVar[tuple[str, ...]] = ("HTTP",)

    @classmethod
    def build(cls, context: SourceContext) -> HttpSource:
        return HttpSource(
            str(context.configuration.config["url"]),
            context.secret,
            context.credential.access.get("header"),
        )


@register
class AzureExportSource:
    """``AZURE_EXPORT``: Cost Management export files from Azure Blob Storage
    (``Config.container``), or a path or a bucket of this deployment."""

    report_types: ClassVar[tuple[str, ...]] = ("AZURE_EXPORT",)

    @classmethod
    def build(cls, context: SourceContext) -> DirectorySource | BucketSource | AzureBlobSource:
        config = context.configuration.config
        if not config.get("container"):
            return _path_or_bucket(context, "azure")
        access = context.credential.access
        endpoint = str(
            config.get("endpoint")
            or f"https://{config.get('storage_account')}.blob.core.windows.net"
        )
        token = service_principal_token(
            access["tenant_id"],
            access["client_id"],
            context.secret or "",
            STORAGE_SCOPE,
            access.get("authority") or LOGIN,
        )
        return AzureBlobSource(
            endpoint,
            str(config["container"]),
            token,
            str(config.get("prefix") or ""),
            config.get("suffix"),
        )


@register
class GcpBillingSource:
    """``GCP_BILLING``: billing export files from Google Cloud Storage (``Config.gcs_bucket``),
    or a path or a bucket of this deployment."""

    report_types: ClassVar[tuple[str, ...]] = ("GCP_BILLING",)

    @classmethod
    def build(cls, context: SourceContext) -> DirectorySource | BucketSource | GcsSource:
        config = context.configuration.config
        if not config.get("gcs_bucket"):
            return _path_or_bucket(context, "gcp")
        if not context.secret:
            raise SourceError(
                "reading GCS needs the service account key as the credential's secret"
            )
        return GcsSource(
            str(config["gcs_bucket"]),
            service_account_token(context.secret),
            str(config.get("prefix") or ""),
            config.get("suffix"),
            str(config.get("endpoint") or STORAGE),
        )
