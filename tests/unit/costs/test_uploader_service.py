"""The uploader copies new or changed report files into the bucket, once each."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.objects import FilesystemObjectStore
from stratus.platform.adapters.local.secrets import FileSecretStore
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports import IndexSpec, ObjectStore, TableSpec
from stratus.solutions.costs import accounts, uploader
from stratus.solutions.costs.accounts import AccountPorts
from stratus.solutions.costs.providers import registered
from stratus.solutions.costs.uploader import UploaderPorts

CSV = b"BillingPeriodStart,BilledCost\n2026-01-01,1.5\n"


@pytest.fixture
def ports(tmp_path: Path, clock: FakeClock) -> UploaderPorts:
    spec = TableSpec("credentials", indexes={"GSI1": IndexSpec("Data1", "SK")})
    account_ports = AccountPorts(
        table=SqliteTableStore(tmp_path / "tables.sqlite3", spec, clock=clock),
        secrets=FileSecretStore(tmp_path / "secrets.sqlite3", tmp_path / "secrets.key"),
        clock=clock,
    )
    buckets: dict[str, ObjectStore] = {}

    def bucket(name: str) -> ObjectStore:
        if name not in buckets:
            buckets[name] = FilesystemObjectStore(tmp_path / "objects", name)
        return buckets[name]

    return UploaderPorts(account_ports, bucket("reports"), bucket)


def configure(
    ports: UploaderPorts, report_type: str, config: dict[str, str], provider: str = "local"
) -> str:
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    access = {"tenant_id": "t", "client_id": "c"} if provider == "azure" else {}
    secret = "s3cr3t" if provider == "azure" else None
    accounts.create_credential(a, "acme", provider, access, secret, "cred")
    conf = accounts.create_configuration(
        a, "acme", "cred", report_type, config, configuration_id="c1"
    )
    return conf.configuration_id


def test_every_report_type_has_a_source():
    from stratus.solutions.costs.domain.accounts import REPORT_TYPES

    assert set(registered()) == set(REPORT_TYPES)


def test_new_files_land_under_client_type_and_time_with_metadata(ports, tmp_path, clock):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "jan.csv").write_bytes(CSV)
    (exports / "notes.txt").write_text("not a report")
    configure(ports, "LOCAL_FILE", {"path": str(exports), "etl_provider": "focus"})

    result = uploader.upload_configuration(ports, "acme", "c1")

    assert result.errors == []
    assert result.uploaded == ["acme/LOCAL_FILE/20260101T000000.000000Z.csv"]
    info = ports.reports.head(result.uploaded[0])
    assert info.metadata["client"] == "acme"
    assert info.metadata["report-type"] == "LOCAL_FILE"
    assert info.metadata["provider"] == "focus"
    assert len(info.metadata["sha256"]) == 64
    assert ports.reports.get(result.uploaded[0]) == CSV


def test_an_unchanged_file_is_not_uploaded_again_even_when_touched(ports, tmp_path, clock):
    exports = tmp_path / "exports"
    exports.mkdir()
    path = exports / "jan.csv"
    path.write_bytes(CSV)
    configure(ports, "LOCAL_FILE", {"path": str(exports)})
    assert len(uploader.upload_configuration(ports, "acme", "c1").uploaded) == 1

    clock.advance(60)
    again = uploader.upload_configuration(ports, "acme", "c1")
    assert (again.uploaded, again.unchanged) == ([], [str(path)])

    os.utime(path, (1_900_000_000, 1_900_000_000))  # same bytes, new mtime: hash decides
    touched = uploader.upload_configuration(ports, "acme", "c1")
    assert touched.uploaded == []

    path.write_bytes(CSV + b"2026-01-02,2.0\n")
    changed = uploader.upload_configuration(ports, "acme", "c1")
    assert changed.uploaded == ["acme/LOCAL_FILE/20260101T000100.000000Z.csv"]
    assert len(list(ports.reports.list("acme/"))) == 2


def test_gzip_exports_keep_their_extension(ports, tmp_path):
    exports = tmp_path / "azure"
    exports.mkdir()
    (exports / "part-0.csv.gz").write_bytes(gzip.compress(CSV))
    configure(ports, "AZURE_EXPORT", {"path": str(exports)}, provider="azure")
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.uploaded[0].endswith(".csv.gz")
    assert ports.reports.head(result.uploaded[0]).metadata["provider"] == "azure"


def test_exports_in_a_bucket_are_read_with_their_etag(ports):
    landing = ports.bucket("gcp-landing")
    landing.put("billing/2026-01.csv", CSV)
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    accounts.create_credential(a, "acme", "gcp", {"project_id": "p"}, None, "cred")
    accounts.create_configuration(
        a,
        "acme",
        "cred",
        "GCP_BILLING",
        {"bucket": "gcp-landing", "prefix": "billing/"},
        configuration_id="c1",
    )
    first = uploader.upload_configuration(ports, "acme", "c1")
    assert len(first.uploaded) == 1
    assert uploader.upload_configuration(ports, "acme", "c1").unchanged == ["billing/2026-01.csv"]


def test_a_missing_source_is_reported_not_raised(ports, tmp_path):
    configure(ports, "LOCAL_FILE", {"path": str(tmp_path / "nowhere")})
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.uploaded == []
    assert "does not exist" in result.errors[0]


def test_the_plan_names_each_report_of_each_client(ports, tmp_path):
    configure(ports, "LOCAL_FILE", {"path": str(tmp_path)})
    assert uploader.plan(ports.accounts) == {
        "Clients": [
            {
                "ClientId": "acme",
                "Reports": [
                    {"ClientId": "acme", "ConfigurationId": "c1", "ReportType": "LOCAL_FILE"}
                ],
            }
        ]
    }


def test_an_http_source_sends_the_token_and_uses_the_etag(ports):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen_auth: list[str] = []

    class Export(BaseHTTPRequestHandler):
        def _head(self) -> None:
            seen_auth.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()

        def do_HEAD(self) -> None:
            self._head()

        def do_GET(self) -> None:
            self._head()
            self.wfile.write(CSV)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Export)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        a = ports.accounts
        accounts.create_client(a, "Acme", "acme")
        accounts.create_credential(a, "acme", "http", {}, "tok-123", "cred")
        url = f"http://127.0.0.1:{server.server_address[1]}/export.csv"
        accounts.create_configuration(
            a, "acme", "cred", "HTTP", {"url": url}, configuration_id="c1"
        )
        first = uploader.upload_configuration(ports, "acme", "c1")
        assert first.errors == []
        assert ports.reports.get(first.uploaded[0]) == CSV
        assert ports.reports.head(first.uploaded[0]).metadata["source-etag"] == '"v1"'
        assert uploader.upload_configuration(ports, "acme", "c1").unchanged == [url]
        assert set(seen_auth) == {"Bearer tok-123"}
    finally:
        server.shutdown()
        server.server_close()


def test_deleting_a_configuration_forgets_its_files(ports, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "jan.csv").write_bytes(CSV)
    configure(ports, "LOCAL_FILE", {"path": str(exports)})
    assert len(uploader.upload_configuration(ports, "acme", "c1").uploaded) == 1
    accounts.delete_configuration(ports.accounts, "acme", "c1")
    accounts.create_configuration(
        ports.accounts, "acme", "cred", "LOCAL_FILE", {"path": str(exports)}, configuration_id="c1"
    )
    assert len(uploader.upload_configuration(ports, "acme", "c1").uploaded) == 1


def test_files_uploaded_in_the_same_instant_get_their_own_keys(ports, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a.csv").write_bytes(CSV)
    (exports / "b.csv").write_bytes(CSV + b"2026-01-03,1\n")
    configure(ports, "LOCAL_FILE", {"path": str(exports)})
    result = uploader.upload_configuration(ports, "acme", "c1")  # the fake clock stands still
    assert result.uploaded == [
        "acme/LOCAL_FILE/20260101T000000.000000Z.csv",
        "acme/LOCAL_FILE/20260101T000000.000001Z.csv",
    ]
