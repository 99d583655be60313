"""Azure Cost Management exports read from Azure Blob Storage (REST, no SDK).

``AZURE_EXPORT`` with ``Config.container`` (and ``storage_account``, or ``endpoint`` for any
Blob-compatible endpoint): the export files under ``Config.prefix`` are listed with List Blobs
(``?restype=container&comp=list``, ``NextMarker`` pages followed) and downloaded with Get Blob,
as the credential's service principal: a bearer token from the Microsoft identity platform
(client credentials, scope ``https://storage.azure.com/.default``). The fingerprint is the
blob's ETag. ``Access.authority`` overrides ``https://login.microsoftonline.com`` (sovereign
clouds, tests).

Partitioned exports (and exports over the size limit) write a run's data as several blobs with
a ``manifest.json`` next to them: when the listing holds manifests, the blobs of the newest run
of each export period carry ``version`` (the run id), ``parts`` and ``part`` metadata and are
published together by the ETL; blobs of older runs, and blobs of a run's folder its manifest
does not list, are not offered (:mod:`.manifests`). Exports without a manifest are offered
file by file, each a version of its own.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import BinaryIO

from stratus.platform.ports.objects import ObjectInfo
from stratus.solutions.costs.providers.base import SourceError, SourceFile, fetch_access_token
from stratus.solutions.costs.providers.manifests import offer, plan_versions

API_VERSION = "2021-08-06"
LOGIN = "https://login.microsoftonline.com"
STORAGE_SCOPE = "https://storage.azure.com/.default"


def service_principal_token(
    tenant_id: str, client_id: str, client_secret: str, scope: str, authority: str = LOGIN
) -> str:
    """An OAuth access token for the service principal (client credentials flow)."""
    url = f"{authority.rstrip('/')}/{urllib.parse.quote(tenant_id)}/oauth2/v2.0/token"
    fields = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": scope,
    }
    return fetch_access_token(url, fields, "Azure")


class AzureBlobSource:
    """Blobs of one container under a prefix."""

    provider = "azure"

    def __init__(
        self, endpoint: str, container: str, token: str, prefix: str = "", suffix: str | None = None
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.container = container
        self.prefix = prefix
        self.suffix = suffix
        self._token = token

    def _get(self, url: str) -> urllib.request.Request:
        request = urllib.request.Request(url)  # noqa: S310 - the configured storage endpoint
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("x-ms-version", API_VERSION)
        return request

    def _list(self) -> Iterator[ObjectInfo]:
        """Every blob under the prefix (List Blobs, ``NextMarker`` pages followed)."""
        marker = ""
        while True:
            query = {"restype": "container", "comp": "list", "prefix": self.prefix}
            if marker:
                query["marker"] = marker
            container = urllib.parse.quote(self.container)
            url = f"{self.endpoint}/{container}?{urllib.parse.urlencode(query)}"
            try:
                with urllib.request.urlopen(self._get(url), timeout=60) as response:  # noqa: S310
                    root = ET.fromstring(response.read())  # noqa: S314
            except urllib.error.HTTPError as exc:
                raise SourceError(f"List Blobs {self.container}: HTTP {exc.code}") from exc
            except (urllib.error.URLError, OSError, ET.ParseError) as exc:
                raise SourceError(f"List Blobs {self.container}: {exc}") from exc
            for blob in root.iter("Blob"):
                name = blob.findtext("Name") or ""
                props = blob.find("Properties")
                if not name:
                    continue
                etag = props.findtext("Etag", "") if props is not None else ""
                length = props.findtext("Content-Length", "") if props is not None else ""
                modified = props.findtext("Last-Modified", "") if props is not None else ""
                size = int(length) if length.isdigit() else 0
                yield ObjectInfo(name, size, etag, _http_date(modified))
            marker = root.findtext("NextMarker") or ""
            if not marker:
                return

    def files(self) -> Iterator[SourceFile]:
        """The export files; the parts of a partitioned export's newest run carry their
        version (see the module doc)."""
        blobs = list(self._list())
        yield from offer(blobs, plan_versions(blobs, self._read), self.suffix)

    def _read(self, name: str) -> bytes:
        with self.open(SourceFile(name, "")) as stream:
            try:
                return stream.read()
            except OSError as exc:
                raise SourceError(f"Get Blob {name}: {exc}") from exc

    def open(self, file: SourceFile) -> BinaryIO:
        url = (
            f"{self.endpoint}/{urllib.parse.quote(self.container)}/{urllib.parse.quote(file.name)}"
        )
        try:
            response: BinaryIO = urllib.request.urlopen(self._get(url), timeout=60)  # noqa: S310
        except urllib.error.HTTPError as exc:
            raise SourceError(f"Get Blob {file.name}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"Get Blob {file.name}: {exc}") from exc
        return response


def _http_date(text: str) -> datetime:
    """List Blobs' ``Last-Modified`` (RFC 1123); the epoch when absent or unreadable."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return datetime(1970, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
