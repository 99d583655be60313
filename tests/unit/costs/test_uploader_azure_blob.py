"""Azure exports from Blob Storage: sign in as the service principal, list, page, download.

A loopback server plays the Microsoft identity platform and a storage account, answering with
the documented shapes (token JSON; List Blobs XML with NextMarker; Get Blob bytes).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stratus.solutions.costs import accounts, uploader
from tests.unit.costs.test_uploader_service import CSV, ports  # noqa: F401 - fixture

PAGE1 = """<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acme.blob.core.windows.net/" ContainerName="exports">
  <Prefix>costs/</Prefix>
  <Blobs>
    <Blob><Name>costs/202601/part_0_0001.csv</Name>
      <Properties><Etag>0x8DC1</Etag><Content-Length>{size}</Content-Length></Properties></Blob>
    <Blob><Name>costs/202601/_manifest.json</Name>
      <Properties><Etag>0x8DC2</Etag><Content-Length>2</Content-Length></Properties></Blob>
  </Blobs>
  <NextMarker>page2</NextMarker>
</EnumerationResults>"""
PAGE2 = """<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acme.blob.core.windows.net/" ContainerName="exports">
  <Blobs>
    <Blob><Name>costs/202602/part_0_0001.csv</Name>
      <Properties><Etag>0x8DC3</Etag><Content-Length>{size}</Content-Length></Properties></Blob>
  </Blobs>
  <NextMarker />
</EnumerationResults>"""


class FakeAzure(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, str]] = []

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.requests.append(("POST", self.path, form.get("scope", [""])[0]))
        if form.get("client_secret") != ["az-secret"]:
            self._send(401, b'{"error": "invalid_client"}', "application/json")
            return
        self._send(
            200,
            b'{"token_type":"Bearer","expires_in":3599,"access_token":"tok"}',
            "application/json",
        )

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, self.headers.get("Authorization", "")))
        if self.headers.get("Authorization") != "Bearer tok":
            self._send(403, b"", "application/xml")
            return
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if query.get("comp") == ["list"]:
            page = PAGE2 if query.get("marker") == ["page2"] else PAGE1
            self._send(200, page.format(size=len(CSV)).encode(), "application/xml")
        elif url.path.endswith(".csv"):
            self._send(200, CSV, "text/csv")
        else:
            self._send(404, b"", "application/xml")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def azure() -> Iterator[str]:
    FakeAzure.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAzure)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def configure(ports, base: str, secret: str = "az-secret") -> None:  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    access = {"tenant_id": "tenant-1", "client_id": "app-1", "authority": base}
    accounts.create_credential(a, "acme", "azure", access, secret, "az")
    config = {"container": "exports", "endpoint": f"{base}/acme", "prefix": "costs/"}
    accounts.create_configuration(a, "acme", "az", "AZURE_EXPORT", config, configuration_id="c1")


def test_exports_are_listed_page_by_page_and_uploaded_once(ports, azure):  # noqa: F811
    configure(ports, azure)
    first = uploader.upload_configuration(ports, "acme", "c1")
    assert first.errors == []
    assert len(first.uploaded) == 2  # the two CSV parts; the manifest is not a report
    assert ports.reports.head(first.uploaded[0]).metadata["provider"] == "azure"
    assert ports.reports.get(first.uploaded[0]) == CSV
    sign_in = [r for r in FakeAzure.requests if r[0] == "POST"]
    assert sign_in[0][1] == "/tenant-1/oauth2/v2.0/token"
    assert sign_in[0][2] == "https://storage.azure.com/.default"
    again = uploader.upload_configuration(ports, "acme", "c1")
    assert again.uploaded == []
    assert sorted(again.unchanged) == [
        "costs/202601/part_0_0001.csv",
        "costs/202602/part_0_0001.csv",
    ]


def test_a_refused_sign_in_is_reported(ports, azure):  # noqa: F811
    configure(ports, azure, secret="wrong")
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.uploaded == []
    assert "sign-in refused (HTTP 401)" in result.errors[0]


def test_a_container_needs_an_account_or_endpoint(ports):  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    accounts.create_credential(a, "acme", "azure", {"tenant_id": "t", "client_id": "c"}, "s", "az")
    with pytest.raises(accounts.InvalidInputError) as bad:
        accounts.create_configuration(
            a, "acme", "az", "AZURE_EXPORT", {"container": "x", "path": "/p"}
        )
    reasons = " | ".join(bad.value.reasons)
    assert "exactly one of path, bucket or container" in reasons
    assert "storage_account" in reasons
