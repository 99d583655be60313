"""Azure exports from Blob Storage: sign in as the service principal, list, page, download.

A loopback server plays the Microsoft identity platform and a storage account, answering with
the documented shapes (token JSON; List Blobs XML with NextMarker; Get Blob bytes). Partitioned
exports: the container holds the blobs of ``FakeAzure.blobs`` (listed two per page), with the
``manifest.json`` Cost Management writes next to each run's partitions.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

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
    #: name -> (bytes, Last-Modified); None: the fixed PAGE1/PAGE2 listing above.
    blobs: dict[str, tuple[bytes, datetime]] | None = None

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
        if self.blobs is not None:
            self._container(url.path, query)
        elif query.get("comp") == ["list"]:
            page = PAGE2 if query.get("marker") == ["page2"] else PAGE1
            self._send(200, page.format(size=len(CSV)).encode(), "application/xml")
        elif url.path.endswith(".csv"):
            self._send(200, CSV, "text/csv")
        else:
            self._send(404, b"", "application/xml")

    def _container(self, path: str, query: dict[str, list[str]]) -> None:
        assert self.blobs is not None
        if query.get("comp") != ["list"]:
            name = urllib.parse.unquote(path.split("/", 3)[3])  # /<account>/<container>/<blob>
            if name not in self.blobs:
                self._send(404, b"", "application/xml")
                return
            self._send(200, self.blobs[name][0], "application/octet-stream")
            return
        prefix = query.get("prefix", [""])[0]
        names = sorted(n for n in self.blobs if n.startswith(prefix))
        start = int(query.get("marker", ["0"])[0])
        page, more = names[start : start + 2], start + 2 < len(names)
        items = "".join(
            f"<Blob><Name>{escape(n)}</Name><Properties>"
            f"<Last-Modified>{format_datetime(self.blobs[n][1], usegmt=True)}</Last-Modified>"
            f"<Etag>0x{hashlib.sha256(self.blobs[n][0]).hexdigest()[:16]}</Etag>"
            f"<Content-Length>{len(self.blobs[n][0])}</Content-Length></Properties></Blob>"
            for n in page
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="exports">'
            f"<Blobs>{items}</Blobs><NextMarker>{start + 2 if more else ''}</NextMarker>"
            "</EnumerationResults>"
        )
        self._send(200, body.encode(), "application/xml")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def azure() -> Iterator[str]:
    FakeAzure.requests = []
    FakeAzure.blobs = None
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


# ---- partitioned exports: several blobs and a manifest.json per run ---------------------------

EXPORT = "costs/acme-actual/20240501-20240531"
AZURE_HEADER = (
    "Date,Cost,BillingCurrency,MeterCategory,SubscriptionId,Tags,MeterId,ResourceLocation"
)


def azure_csv(*rows: tuple[str, str]) -> bytes:
    """A gzip-compressed partition of an Azure (EA) cost export: (MM/DD/YYYY, cost) rows."""
    lines = [AZURE_HEADER] + [
        f'{day},{cost},USD,Virtual Machines,sub-1,"""team"": ""data""",m-1,UKSouth'
        for day, cost in rows
    ]
    return gzip.compress(("\r\n".join(lines) + "\r\n").encode())


def manifest(run_id: str, submitted: str, blobs: dict[str, bytes], **extra: object) -> bytes:
    """The manifest.json of one export run, in the shape Cost Management writes."""
    body = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(len(b) for b in blobs.values()),
        "blobCount": len(blobs),
        "dataRowCount": 0,
        "exportConfig": {
            "exportName": "acme-actual",
            "resourceId": "/subscriptions/sub-1/providers/Microsoft.CostManagement/exports/"
            "acme-actual",
            "dataVersion": "2021-10-01",
            "apiVersion": "2023-07-01-preview",
            "type": "ActualCost",
            "timeFrame": "MonthToDate",
            "granularity": "Daily",
        },
        "deliveryConfig": {
            "partitionData": True,
            "dataOverwriteBehavior": "CreateNewReport",
            "fileFormat": "Csv",
            "compressionMode": "gzip",
            "containerUri": "/subscriptions/sub-1/resourceGroups/rg/providers/"
            "Microsoft.Storage/storageAccounts/acme",
            "rootFolderPath": "costs",
        },
        "runInfo": {
            "executionType": "Scheduled",
            "submittedTime": submitted,
            "runId": run_id,
            "startDate": "2024-05-01T00:00:00",
            "endDate": "2024-05-31T00:00:00",
        },
        "blobs": [
            {"blobName": name, "byteCount": len(data), "dataRowCount": 1}
            for name, data in blobs.items()
        ],
        **extra,
    }
    return json.dumps(body).encode()


#: The older run: two partitions, 50 in all. Its manifest blob was written *later* than the
#: newer run's (a copy, a restore): the run's submittedTime decides which run is newest.
RUN1 = {
    f"{EXPORT}/run-1/part_0_0001.csv.gz": azure_csv(("05/01/2024", "20")),
    f"{EXPORT}/run-1/part_1_0001.csv.gz": azure_csv(("05/02/2024", "30")),
}
#: The newer run: three partitions, 1.1 + 2.2 + (3.3 + 0.4 + 0.0001) = 7.0001.
RUN2 = {
    f"{EXPORT}/run-2/part_0_0001.csv.gz": azure_csv(("05/01/2024", "1.1")),
    f"{EXPORT}/run-2/part_1_0001.csv.gz": azure_csv(("05/02/2024", "2.2")),
    f"{EXPORT}/run-2/part_2_0001.csv.gz": azure_csv(
        ("05/03/2024", "3.3"), ("05/04/2024", "0.4"), ("05/05/2024", "0.0001")
    ),
}
EARLY, LATE = datetime(2024, 6, 2, 6, 5, tzinfo=UTC), datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def run1_blobs() -> dict[str, tuple[bytes, datetime]]:
    blobs = {name: (data, EARLY) for name, data in RUN1.items()}
    blobs[f"{EXPORT}/run-1/manifest.json"] = (
        manifest("run-1", "2024-06-01T06:00:00.1234567Z", RUN1),
        LATE,
    )
    return blobs


def both_runs() -> dict[str, tuple[bytes, datetime]]:
    blobs = run1_blobs()
    blobs.update({name: (data, EARLY) for name, data in RUN2.items()})
    blobs[f"{EXPORT}/run-2/manifest.json"] = (
        manifest("run-2", "2024-06-02T06:00:00.7654321Z", RUN2),
        EARLY,
    )
    # A blob in run-2's folder its manifest does not list (a leftover of a failed attempt).
    blobs[f"{EXPORT}/run-2/part_9_0001.csv.gz"] = (azure_csv(("05/09/2024", "999")), EARLY)
    return blobs


def uploaded_parts(ports, keys: list[str]) -> dict[str, dict[str, str]]:  # noqa: F811
    """part (source blob) -> the metadata the upload carries."""
    metas = [ports.reports.head(key).metadata for key in keys]
    return {m["source"]: m for m in metas}


def test_a_partitioned_export_uploads_the_newest_runs_blobs_as_one_version(ports, azure):  # noqa: F811
    FakeAzure.blobs = both_runs()
    configure(ports, azure)
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.errors == []
    parts = uploaded_parts(ports, result.uploaded)
    assert sorted(parts) == sorted(RUN2)  # only run-2's three listed partitions
    for name, meta in parts.items():
        assert (meta["version"], meta["parts"], meta["part"]) == ("run-2", "3", name)
        assert meta["provider"] == "azure"
    key_of = {ports.reports.head(k).metadata["source"]: k for k in result.uploaded}
    for name, data in RUN2.items():
        assert key_of[name].endswith(".csv.gz")  # compression kept: the ETL reads gzip
        assert ports.reports.get(key_of[name]) == data
    # Nothing changed: nothing uploaded again, the manifests are not offered as files.
    again = uploader.upload_configuration(ports, "acme", "c1")
    assert (again.uploaded, sorted(again.unchanged)) == ([], sorted(RUN2))


def test_the_blobs_of_an_older_run_and_unlisted_blobs_are_skipped(ports, azure):  # noqa: F811
    FakeAzure.blobs = both_runs()
    configure(ports, azure)
    result = uploader.upload_configuration(ports, "acme", "c1")
    sources = set(uploaded_parts(ports, result.uploaded))
    assert sources == set(RUN2)
    assert not sources & set(RUN1)  # the older run, though its manifest blob is newer
    assert f"{EXPORT}/run-2/part_9_0001.csv.gz" not in sources  # not in run-2's manifest


def test_a_new_run_of_the_period_is_uploaded_as_a_new_version(ports, azure):  # noqa: F811
    FakeAzure.blobs = run1_blobs()
    configure(ports, azure)
    first = uploader.upload_configuration(ports, "acme", "c1")
    assert {m["version"] for m in uploaded_parts(ports, first.uploaded).values()} == {"run-1"}
    assert {m["parts"] for m in uploaded_parts(ports, first.uploaded).values()} == {"2"}
    FakeAzure.blobs = both_runs()
    second = uploader.upload_configuration(ports, "acme", "c1")
    assert sorted(uploaded_parts(ports, second.uploaded)) == sorted(RUN2)
    assert second.unchanged == []  # run-1's blobs are no longer offered at all


def test_blob_names_relative_to_the_manifest_and_blob_count_are_read(ports, azure):  # noqa: F811
    relative = {name.rsplit("/", 1)[1]: data for name, data in RUN2.items()}
    FakeAzure.blobs = {name: (data, EARLY) for name, data in RUN2.items()}
    FakeAzure.blobs[f"{EXPORT}/run-2/manifest.json"] = (
        manifest("run-2", "2024-06-02T06:00:00Z", relative, blobCount=4),
        EARLY,
    )
    configure(ports, azure)
    result = uploader.upload_configuration(ports, "acme", "c1")
    parts = uploaded_parts(ports, result.uploaded)
    assert sorted(parts) == sorted(RUN2)
    # blobCount says how many parts the version has: the ETL waits for the fourth.
    assert {(m["version"], m["parts"]) for m in parts.values()} == {("run-2", "4")}


def test_an_export_without_a_manifest_is_uploaded_file_by_file(ports, azure):  # noqa: F811
    FakeAzure.blobs = both_runs()
    FakeAzure.blobs["costs/acme-legacy/202404/acme-legacy_0001.csv"] = (CSV, EARLY)
    configure(ports, azure)
    result = uploader.upload_configuration(ports, "acme", "c1")
    parts = uploaded_parts(ports, result.uploaded)
    legacy = parts["costs/acme-legacy/202404/acme-legacy_0001.csv"]
    assert "version" not in legacy  # a version of its own, as before
    assert "parts" not in legacy
    assert len(parts) == 4


def test_an_unreadable_manifest_fails_the_listing_rather_than_publish_per_file(ports, azure):  # noqa: F811
    FakeAzure.blobs = both_runs()
    configure(ports, azure)

    class Gone(dict):  # the manifest is listed but answers 404 (deleted in between)
        def __contains__(self, name: object) -> bool:
            return name != f"{EXPORT}/run-2/manifest.json" and super().__contains__(name)

    FakeAzure.blobs = Gone(FakeAzure.blobs)
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.uploaded == []
    assert result.errors == [f"source: Get Blob {EXPORT}/run-2/manifest.json: HTTP 404"]


def test_a_partitioned_export_copied_to_a_bucket_is_read_the_same_way(ports):  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    accounts.create_credential(a, "acme", "azure", {"tenant_id": "t", "client_id": "c"}, "s", "az")
    config = {"bucket": "azure-copy", "prefix": "costs/"}
    accounts.create_configuration(a, "acme", "az", "AZURE_EXPORT", config, configuration_id="c1")
    for name, (data, _) in both_runs().items():
        ports.bucket("azure-copy").put(name, data)
    result = uploader.upload_configuration(ports, "acme", "c1")
    parts = uploaded_parts(ports, result.uploaded)
    assert sorted(parts) == sorted(RUN2)
    assert {(m["version"], m["parts"]) for m in parts.values()} == {("run-2", "3")}


# ---- end to end: the uploaded parts through the ETL ------------------------------------------


def test_the_parts_of_a_run_publish_together_with_exact_totals(ports, azure, tmp_path, clock):  # noqa: F811
    from stratus.platform.adapters.local.queue import SqliteQueueBroker
    from stratus.platform.adapters.local.table import SqliteTableStore
    from stratus.platform.ports import TableSpec
    from stratus.solutions.costs import etl
    from stratus.solutions.costs.adapters.duckdb_facts import DuckDbFactStore
    from stratus.solutions.costs.bootstrap import EtlPorts
    from tests.unit.costs.test_etl_service import billed, finish

    etl_ports = EtlPorts(
        files=SqliteTableStore(
            tmp_path / "etl.sqlite3", TableSpec("files", ttl_attribute="ExpiresAt"),
            clock=clock,
        ),
        objects=ports.reports,  # the bucket the uploader puts into
        queues=SqliteQueueBroker(tmp_path / "queues.sqlite3", clock=clock),
        facts=DuckDbFactStore(tmp_path / "facts.duckdb"),
        clock=clock,
        queue_prefix="test-etl-",
        chunk_rows=2,
        files_ttl_days=30,
    )  # fmt: skip

    def load(key: str) -> dict[str, Any]:
        job = etl.mark_started("reports", key, etl_ports)
        assert not job["skip"], job
        job["queue"] = etl.create_queue(job, etl_ports)
        while not job["cursor"]["done"]:
            job["cursor"] = etl.read_chunks(job, etl_ports)
        return finish(etl_ports, job)

    configure(ports, azure)
    FakeAzure.blobs = run1_blobs()
    run1_keys = uploader.upload_configuration(ports, "acme", "c1").uploaded
    statuses = [load(key)["version"]["status"] for key in run1_keys]
    assert statuses == ["waiting", "published"]
    assert billed(etl_ports) == {"2024-05": "50"}

    FakeAzure.blobs = both_runs()
    keys = uploader.upload_configuration(ports, "acme", "c1").uploaded
    assert len(keys) == 3
    first, second = load(keys[0]), load(keys[1])
    assert first["version"] == {"id": "run-2", "parts": 3, "loaded": 1, "status": "waiting"}
    assert second["version"]["status"] == "waiting"
    assert billed(etl_ports) == {"2024-05": "50"}  # readers keep run-1 until run-2 is whole
    last = load(keys[2])
    assert last["version"] == {"id": "run-2", "parts": 3, "loaded": 3, "status": "published"}
    assert billed(etl_ports) == {"2024-05": "7.0001"}  # all of run-2, none of run-1
    counts = [(s["accepted"], s["rejected"]) for s in (first, second, last)]
    assert counts == [(1, 0), (1, 0), (3, 0)]
