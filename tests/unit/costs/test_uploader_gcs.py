"""GCP billing exports from Cloud Storage: a service-account JWT, listing pages, downloads.

A loopback server plays Google's token endpoint (it verifies the RS256 signature with the
public half of a key generated here) and the GCS JSON API (documented shapes).
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stratus.solutions.costs import accounts, uploader
from tests.unit.costs.test_uploader_service import CSV, ports  # noqa: F401 - fixture

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeGoogle(BaseHTTPRequestHandler):
    claims: list[dict] = []

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        header, claims, signature = form["assertion"][0].split(".")
        try:
            KEY.public_key().verify(
                unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:
            self._send(400, b'{"error": "invalid_grant"}')
            return
        self.claims.append(json.loads(unb64(claims)))
        self._send(200, b'{"access_token": "ya29.tok", "expires_in": 3599, "token_type": "Bearer"}')

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer ya29.tok":
            self._send(401, b"{}")
            return
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/storage/v1/b/acme-billing/o":
            if query.get("pageToken") == ["p2"]:
                items = [{"name": "export/2026-02.csv", "md5Hash": "bbb==", "size": str(len(CSV))}]
                body = {"kind": "storage#objects", "items": items}
            else:
                items = [
                    {"name": "export/2026-01.csv", "md5Hash": "aaa==", "size": str(len(CSV))},
                    {"name": "export/README.txt", "md5Hash": "ccc==", "size": "5"},
                ]
                body = {"kind": "storage#objects", "items": items, "nextPageToken": "p2"}
            self._send(200, json.dumps(body).encode())
        elif url.path.startswith("/storage/v1/b/acme-billing/o/") and query.get("alt") == ["media"]:
            self._send(200, CSV, "text/csv")
        else:
            self._send(404, b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def google() -> Iterator[str]:
    FakeGoogle.claims = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGoogle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_billing_exports_are_listed_and_uploaded_once(ports, google):  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    key_json = json.dumps(
        {
            "type": "service_account",
            "client_email": "costs@acme.iam.gserviceaccount.com",
            "private_key": PEM,
            "token_uri": f"{google}/token",
        }
    )
    accounts.create_credential(a, "acme", "gcp", {"project_id": "acme"}, key_json, "sa")
    config = {"gcs_bucket": "acme-billing", "prefix": "export/", "endpoint": google}
    accounts.create_configuration(a, "acme", "sa", "GCP_BILLING", config, configuration_id="c1")

    first = uploader.upload_configuration(ports, "acme", "c1")
    assert first.errors == []
    assert len(first.uploaded) == 2
    assert ports.reports.head(first.uploaded[0]).metadata["provider"] == "gcp"
    assert ports.reports.get(first.uploaded[1]) == CSV
    claims = FakeGoogle.claims[0]
    assert claims["iss"] == "costs@acme.iam.gserviceaccount.com"
    assert claims["aud"] == f"{google}/token"
    assert claims["scope"].endswith("devstorage.read_only")
    assert uploader.upload_configuration(ports, "acme", "c1").uploaded == []


def test_a_secret_that_is_not_a_key_is_reported(ports, google):  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    accounts.create_credential(a, "acme", "gcp", {"project_id": "acme"}, "not json", "sa")
    config = {"gcs_bucket": "acme-billing", "endpoint": google}
    accounts.create_configuration(a, "acme", "sa", "GCP_BILLING", config, configuration_id="c1")
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert "not a service account key" in result.errors[0]
