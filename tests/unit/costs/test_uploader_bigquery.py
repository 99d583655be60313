"""GCP billing data from the Cloud Billing export to BigQuery: one CSV per invoice month.

A loopback server plays Google's token endpoint (the one of ``test_uploader_gcs``: it checks
the JWT's RS256 signature) and the BigQuery REST API with its documented shapes: ``jobs.query``
(``POST /bigquery/v2/projects/{project}/queries``: ``jobReference``, ``jobComplete``,
``schema``, ``rows`` of ``{"f": [{"v": ...}]}``, ``pageToken``), ``jobs.getQueryResults``
(``GET .../queries/{jobId}``), and Google's JSON error bodies. Its table holds rows of the
standard usage cost export schema (RECORD and REPEATED fields included), encoded as BigQuery
encodes them (``formatOptions.useInt64Timestamp``: TIMESTAMPs as int64 microseconds).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from stratus.solutions.costs import accounts, uploader
from stratus.solutions.costs.domain.normalise import bind, detect
from stratus.solutions.costs.providers.base import SourceError, SourceFile
from stratus.solutions.costs.providers.bigquery import (
    BIGQUERY_READ_ONLY,
    BigQuerySource,
    ServiceAccountToken,
    timestamp_text,
)
from tests.unit.costs.test_uploader_gcs import PEM, FakeGoogle
from tests.unit.costs.test_uploader_service import ports  # noqa: F401 - fixture

PROJECT = "acme-billing"
DATASET = "billing_export"
TABLE = "gcp_billing_export_v1_0123AB_CDEF01_234567"
#: The fake's CURRENT_DATE(): with the default 3 months, 2025-12 to 2026-02 are listed.
TODAY = date(2026, 2, 15)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def col(name: str, kind: str = "STRING", mode: str = "NULLABLE") -> dict[str, Any]:
    return {"name": name, "type": kind, "mode": mode}


def rec(name: str, fields: list[dict[str, Any]], mode: str = "NULLABLE") -> dict[str, Any]:
    return {"name": name, "type": "RECORD", "mode": mode, "fields": fields}


KV = [col("key"), col("value")]
#: The standard usage cost export's schema (gcp_billing_export_v1_<BILLING_ACCOUNT_ID>).
SCHEMA = [
    col("billing_account_id"),
    rec("service", [col("id"), col("description")]),
    rec("sku", [col("id"), col("description")]),
    col("usage_start_time", "TIMESTAMP"),
    col("usage_end_time", "TIMESTAMP"),
    rec(
        "project",
        [
            col("id"),
            col("number"),
            col("name"),
            rec("labels", KV, "REPEATED"),
            col("ancestry_numbers"),
            rec("ancestors", [col("resource_name"), col("display_name")], "REPEATED"),
        ],
    ),
    rec("labels", KV, "REPEATED"),
    rec("system_labels", KV, "REPEATED"),
    rec("location", [col("location"), col("country"), col("region"), col("zone")]),
    rec(
        "tags",
        [col("key"), col("value"), col("inherited", "BOOLEAN"), col("namespace")],
        "REPEATED",
    ),
    col("export_time", "TIMESTAMP"),
    col("cost", "FLOAT"),
    col("currency"),
    col("currency_conversion_rate", "FLOAT"),
    rec(
        "usage",
        [
            col("amount", "FLOAT"),
            col("unit"),
            col("amount_in_pricing_units", "FLOAT"),
            col("pricing_unit"),
        ],
    ),
    rec(
        "credits",
        [col("name"), col("amount", "FLOAT"), col("full_name"), col("id"), col("type")],
        "REPEATED",
    ),
    rec("invoice", [col("month"), col("publisher_type")]),
    col("cost_type"),
    rec("adjustment_info", [col("id"), col("description"), col("mode"), col("type")]),
    col("cost_at_list", "FLOAT"),
]


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def row(month: str, service: str, cost: str, start: str, exported: str, **more: Any) -> dict:
    base: dict[str, Any] = {
        "billing_account_id": "0123AB-CDEF01-234567",
        "service": {"id": f"svc-{service[:3].lower()}", "description": service},
        "sku": {"id": "sku-1", "description": f"{service} usage"},
        "usage_start_time": at(start),
        "usage_end_time": at(start) + timedelta(hours=1),
        "project": {
            "id": "acme-web",
            "number": "123456789012",
            "name": "Acme Web",
            "labels": [{"key": "cost-center", "value": "cc-42"}],
            "ancestry_numbers": "/123/456/",
            "ancestors": [
                {"resource_name": "projects/123456789012", "display_name": "Acme Web"},
                {"resource_name": "organizations/456", "display_name": "acme.example"},
            ],
        },
        "labels": [],
        "system_labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1"},
        "tags": [],
        "export_time": at(exported),
        "cost": cost,
        "currency": "USD",
        "currency_conversion_rate": "1.0",
        "usage": {"amount": "3600.0", "unit": "seconds", "pricing_unit": "hour"},
        "credits": [],
        "invoice": {"month": month},
        "cost_type": "regular",
        "cost_at_list": cost,
    }
    base.update(more)
    return base


def initial_rows() -> list[dict[str, Any]]:
    return [
        row(
            "202601",
            "Compute Engine",
            "10.0",
            "2026-01-01T00:00:00",
            "2026-01-02T03:00:00",
            labels=[{"key": "env", "value": "prod"}, {"key": "team", "value": "web"}],
            system_labels=[{"key": "compute.googleapis.com/machine_spec", "value": "e2-small"}],
            credits=[
                {
                    "name": "Sustained usage discount",
                    "amount": "-2.5",
                    "full_name": "Sustained usage discount",
                    "id": "sud",
                    "type": "SUSTAINED_USAGE_DISCOUNT",
                },
                {"name": "Promo", "amount": "-0.5", "id": "promo-1", "type": "PROMOTION"},
            ],
        ),
        row(
            "202601",
            "Cloud Storage",
            "1.25",
            "2026-01-05T10:00:00.250000",
            "2026-01-06T00:00:00",
            location=None,
            tags=[{"key": "env", "value": "prod", "inherited": True, "namespace": "123"}],
        ),
        row(
            "202601",
            "Invoice",
            "0.8",
            "2026-01-31T00:00:00",
            "2026-02-01T08:30:00",
            cost_type="tax",
            usage=None,
        ),
        row(
            "202602",
            "BigQuery",
            "2.0",
            "2026-02-03T00:00:00",
            "2026-02-04T00:00:00",
            credits=[{"name": "Free tier", "amount": "-5.0", "type": "FREE_TIER"}],
        ),
        row("202510", "Compute Engine", "99.0", "2025-10-01T00:00:00", "2025-10-02T00:00:00"),
    ]


# --- BigQuery's encoding of values (tabledata / query results) ---------------------------------


def encode(fields: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    return {"f": [{"v": encode_value(f, data.get(f["name"]))} for f in fields]}


def encode_value(field: dict[str, Any], value: Any) -> Any:
    if field["mode"] == "REPEATED":
        element = {**field, "mode": "NULLABLE"}
        return [{"v": encode_value(element, item)} for item in value or []]
    if value is None:
        return None
    if field["type"] == "RECORD":
        return encode(field["fields"], value)
    if field["type"] == "TIMESTAMP":
        return str((value - EPOCH) // timedelta(microseconds=1))
    if field["type"] == "BOOLEAN":
        return "true" if value else "false"
    return str(value)


def google_error(code: int, status: str, reason: str, message: str) -> bytes:
    errors = [{"message": message, "domain": "global", "reason": reason}]
    body = {"error": {"code": code, "message": message, "errors": errors, "status": status}}
    return json.dumps(body).encode()


FINGERPRINT_SCHEMA = [
    col("invoice_month"),
    col("row_count", "INTEGER"),
    col("last_export_time", "TIMESTAMP"),
]


class FakeBigQuery(FakeGoogle):
    """Google's token endpoint (inherited) and the BigQuery jobs.query/getQueryResults API."""

    table: list[dict[str, Any]] = []
    jobs: dict[str, dict[str, Any]] = {}
    requests: list[tuple[str, str, dict[str, Any]]] = []
    page_size = 2
    polls_before_complete = 0
    deny = False
    lose_jobs = False  # later pages of a job answer 404, as for a job that expired

    def do_POST(self) -> None:
        if self.path == "/token":
            super().do_POST()
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, body))
        if self.headers.get("Authorization") != "Bearer ya29.tok":
            self._send(401, google_error(401, "UNAUTHENTICATED", "authError", "Invalid token"))
            return
        if self.path != f"/bigquery/v2/projects/{PROJECT}/queries":
            self._send(404, google_error(404, "NOT_FOUND", "notFound", "Not found: Project"))
            return
        if self.deny:
            message = (
                f"Access Denied: Project {PROJECT}: User does not have bigquery.jobs.create "
                f"permission in project {PROJECT}."
            )
            self._send(403, google_error(403, "PERMISSION_DENIED", "accessDenied", message))
            return
        if (
            body.get("useLegacySql") is not False
            or body.get("parameterMode") != "NAMED"
            or body.get("formatOptions") != {"useInt64Timestamp": True}
        ):
            self._send(400, google_error(400, "INVALID_ARGUMENT", "invalid", "bad request"))
            return
        sql = body["query"]
        if f"FROM `{PROJECT}.{DATASET}.{TABLE}`" not in sql:
            message = f"Not found: Table {PROJECT}:{DATASET}.wrong was not found in location US"
            self._send(404, google_error(404, "NOT_FOUND", "notFound", message))
            return
        params = {p["name"]: p["parameterValue"]["value"] for p in body["queryParameters"]}
        schema, rows = self._evaluate(sql, params)
        job_id = f"job_{len(self.jobs) + 1}"
        self.jobs[job_id] = {
            "schema": schema,
            "rows": [encode(schema, r) for r in rows],
            "polls": self.polls_before_complete,
        }
        self._send(200, json.dumps(self._answer(job_id, "", "bigquery#queryResponse")).encode())

    def _evaluate(self, sql: str, params: dict[str, str]) -> tuple[list, list[dict[str, Any]]]:
        if "GROUP BY invoice_month" in sql:
            assert "INTERVAL @back MONTH" in sql
            first = date(TODAY.year, TODAY.month, 1)
            for _ in range(int(params["back"])):
                first = (first - timedelta(days=1)).replace(day=1)
            since = first.strftime("%Y%m")
            months: dict[str, list[dict[str, Any]]] = {}
            for r in self.table:
                if r["invoice"]["month"] >= since:
                    months.setdefault(r["invoice"]["month"], []).append(r)
            summary = [
                {
                    "invoice_month": m,
                    "row_count": len(rs),
                    "last_export_time": max(r["export_time"] for r in rs),
                }
                for m, rs in sorted(months.items())
            ]
            return FINGERPRINT_SCHEMA, summary
        assert sql.endswith("WHERE invoice.month = @month")
        return SCHEMA, [r for r in self.table if r["invoice"]["month"] == params["month"]]

    def _answer(self, job_id: str, page: str, kind: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        answer: dict[str, Any] = {
            "kind": kind,
            "jobReference": {"projectId": PROJECT, "jobId": job_id, "location": "US"},
        }
        if job["polls"] > 0:
            job["polls"] -= 1
            return {**answer, "jobComplete": False}
        start = int(page.removeprefix("offset-") or 0)
        rows = job["rows"][start : start + self.page_size]
        answer.update(
            jobComplete=True,
            schema={"fields": job["schema"]},
            totalRows=str(len(job["rows"])),
            totalBytesProcessed="1048576",
            cacheHit=False,
        )
        if rows:
            answer["rows"] = rows
        if start + self.page_size < len(job["rows"]):
            answer["pageToken"] = f"offset-{start + self.page_size}"
        return answer

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        self.requests.append(("GET", url.path, query))
        if self.headers.get("Authorization") != "Bearer ya29.tok":
            self._send(401, google_error(401, "UNAUTHENTICATED", "authError", "Invalid token"))
            return
        prefix = f"/bigquery/v2/projects/{PROJECT}/queries/"
        job_id = url.path.removeprefix(prefix)
        lost = self.lose_jobs and "pageToken" in query
        if not url.path.startswith(prefix) or job_id not in self.jobs or lost:
            self._send(404, google_error(404, "NOT_FOUND", "notFound", f"Not found: Job {job_id}"))
            return
        if query.get("location") != "US" or query.get("formatOptions.useInt64Timestamp") != "true":
            self._send(400, google_error(400, "INVALID_ARGUMENT", "invalid", "bad request"))
            return
        answer = self._answer(
            job_id, query.get("pageToken", ""), "bigquery#getQueryResultsResponse"
        )
        self._send(200, json.dumps(answer).encode())


@pytest.fixture
def google() -> Iterator[str]:
    FakeBigQuery.claims = []
    FakeBigQuery.table = initial_rows()
    FakeBigQuery.jobs = {}
    FakeBigQuery.requests = []
    FakeBigQuery.page_size = 2
    FakeBigQuery.polls_before_complete = 0
    FakeBigQuery.deny = False
    FakeBigQuery.lose_jobs = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBigQuery)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def key_json(google: str) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "client_email": "costs@acme-billing.iam.gserviceaccount.com",
            "private_key": PEM,
            "token_uri": f"{google}/token",
        }
    )


def source(google: str, **options: Any) -> BigQuerySource:
    token = ServiceAccountToken(key_json(google), BIGQUERY_READ_ONLY)
    return BigQuerySource(PROJECT, DATASET, TABLE, token, endpoint=google, **options)


def read_month(src: BigQuerySource, month: str) -> list[dict[str, str]]:
    name = f"{PROJECT}.{DATASET}.{TABLE}/{month}.csv"
    with src.open(SourceFile(name, "")) as stream:
        return list(csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8", newline="")))


def configure(ports, google: str, config: dict[str, str]) -> None:  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    access = {"project_id": PROJECT}
    accounts.create_credential(a, "acme", "gcp", access, key_json(google), "sa")
    full = {"dataset": DATASET, "table": TABLE, "endpoint": google, **config}
    accounts.create_configuration(a, "acme", "sa", "GCP_BIGQUERY", full, configuration_id="c1")


def data_queries() -> list[str]:
    """The invoice months whose rows were queried (``SELECT *``), in order."""
    return [
        body["queryParameters"][0]["parameterValue"]["value"]
        for method, _, body in FakeBigQuery.requests
        if method == "POST" and body["query"].startswith("SELECT *")
    ]


# --- through the uploader ---------------------------------------------------------------------


def test_each_month_is_uploaded_once_and_again_only_when_it_changed(ports, google):  # noqa: F811
    configure(ports, google, {})  # the project comes from the credential's project_id

    first = uploader.upload_configuration(ports, "acme", "c1")
    assert first.errors == []
    assert len(first.uploaded) == 2  # 2026-01 and 2026-02; 2025-10 is older than 3 months
    assert data_queries() == ["202601", "202602"]
    head = ports.reports.head(first.uploaded[0])
    assert head.metadata["provider"] == "gcp"
    assert head.metadata["report-type"] == "GCP_BIGQUERY"
    assert head.metadata["source"] == f"{PROJECT}.{DATASET}.{TABLE}/202601.csv"
    assert head.metadata["source-etag"] == "rows=3;export_time=2026-02-01T08:30:00Z"
    assert first.uploaded[0].endswith(".csv")
    january = ports.reports.get(first.uploaded[0]).decode()
    assert january.count("\n") == 4  # the header and three rows, over two result pages
    claims = FakeBigQuery.claims[0]
    assert claims["scope"] == BIGQUERY_READ_ONLY
    assert claims["iss"] == "costs@acme-billing.iam.gserviceaccount.com"
    months_asked = [
        body["queryParameters"]
        for method, _, body in FakeBigQuery.requests
        if method == "POST" and "GROUP BY" in body["query"]
    ]
    assert months_asked == [
        [{"name": "back", "parameterType": {"type": "INT64"}, "parameterValue": {"value": "2"}}]
    ]

    second = uploader.upload_configuration(ports, "acme", "c1")
    assert second.uploaded == []
    assert second.errors == []
    assert len(second.unchanged) == 2
    assert data_queries() == ["202601", "202602"]  # unchanged months were not read again

    FakeBigQuery.table.append(
        row("202602", "Cloud Run", "0.4", "2026-02-10T00:00:00", "2026-02-11T00:00:00")
    )
    third = uploader.upload_configuration(ports, "acme", "c1")
    assert third.errors == []
    assert len(third.uploaded) == 1
    assert third.unchanged == [f"{PROJECT}.{DATASET}.{TABLE}/202601.csv"]
    assert data_queries() == ["202601", "202602", "202602"]
    assert b"Cloud Run" in ports.reports.get(third.uploaded[0])


def test_months_widens_the_window(ports, google):  # noqa: F811
    configure(ports, google, {"project": PROJECT, "months": "6"})
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.errors == []
    assert data_queries() == ["202510", "202601", "202602"]


# --- result pages, polling, nested and repeated fields ------------------------------------------


def test_a_job_not_complete_at_first_is_polled_then_every_page_is_read(google):
    FakeBigQuery.polls_before_complete = 2
    src = source(google, poll_seconds=0)
    rows = read_month(src, "202601")
    assert [r["service.description"] for r in rows] == [
        "Compute Engine",
        "Cloud Storage",
        "Invoice",
    ]
    gets = [(path, query) for method, path, query in FakeBigQuery.requests if method == "GET"]
    polls = [query for _, query in gets if "pageToken" not in query]
    pages = [query["pageToken"] for _, query in gets if "pageToken" in query]
    assert len(polls) == 2  # jobComplete false on jobs.query, then once more on getQueryResults
    assert pages == ["offset-2"]
    assert all(path == f"/bigquery/v2/projects/{PROJECT}/queries/job_1" for path, _ in gets)
    assert all(query["location"] == "US" for _, query in gets)


def test_a_job_that_never_completes_is_a_clear_error(google):
    FakeBigQuery.polls_before_complete = 10_000
    src = source(google, poll_seconds=0, wait_seconds=0.2)
    with pytest.raises(SourceError, match="not complete after"):
        read_month(src, "202601")


def test_records_become_dotted_columns_and_repeated_fields_json(google):
    rows = read_month(source(google), "202601")
    compute, storage, tax = rows
    header = list(compute)
    for column in (
        "service.description",
        "sku.id",
        "project.id",
        "project.labels",
        "project.ancestors",
        "location.region",
        "usage.amount",
        "invoice.month",
        "adjustment_info.mode",
        "labels",
        "system_labels",
        "credits",
        "tags",
    ):
        assert column in header
    assert "project" not in header
    assert "service" not in header
    assert compute["usage_start_time"] == "2026-01-01T00:00:00Z"
    assert storage["usage_start_time"] == "2026-01-05T10:00:00.250000Z"
    assert compute["invoice.month"] == "202601"
    assert json.loads(compute["labels"]) == [
        {"key": "env", "value": "prod"},
        {"key": "team", "value": "web"},
    ]
    assert json.loads(compute["system_labels"]) == [
        {"key": "compute.googleapis.com/machine_spec", "value": "e2-small"}
    ]
    assert json.loads(compute["project.labels"]) == [{"key": "cost-center", "value": "cc-42"}]
    assert json.loads(compute["project.ancestors"])[1] == {
        "resource_name": "organizations/456",
        "display_name": "acme.example",
    }
    credits = json.loads(compute["credits"])
    assert [c["amount"] for c in credits] == [-2.5, -0.5]
    assert credits[1] == {
        "name": "Promo",
        "amount": -0.5,
        "full_name": None,
        "id": "promo-1",
        "type": "PROMOTION",
    }
    assert json.loads(storage["tags"]) == [
        {"key": "env", "value": "prod", "inherited": True, "namespace": "123"}
    ]
    assert json.loads(storage["labels"]) == []
    assert json.loads(storage["credits"]) == []
    assert storage["location.region"] == ""
    assert storage["location.country"] == ""
    assert tax["usage.amount"] == ""
    assert tax["cost_type"] == "tax"


def test_timestamps_in_float_seconds_are_read_too():
    assert timestamp_text("1.7356896E9") == "2025-01-01T00:00:00Z"
    assert timestamp_text("1767225600250000") == "2026-01-01T00:00:00.250000Z"
    with pytest.raises(SourceError, match="not a number"):
        timestamp_text("yesterday")


# --- end to end: the CSV through the GCP normaliser -------------------------------------------


def normalise(rows_csv: bytes) -> list[Any]:
    reader = csv.reader(io.StringIO(rows_csv.decode("utf-8"), newline=""))
    header = next(reader)
    assert detect(header) == "gcp"
    normaliser = bind("gcp", header)
    return [normaliser(cells) for cells in reader]


def test_the_uploaded_csv_normalises_to_the_costs_its_rows_imply(ports, google):  # noqa: F811
    configure(ports, google, {})
    result = uploader.upload_configuration(ports, "acme", "c1")
    january, february = (normalise(ports.reports.get(key)) for key in result.uploaded)

    assert [r.billing_period for r in january] == ["2026-01"] * 3
    assert sum(r.billed_cost for r in january) == Decimal("12.05")
    # credits reduce effective cost: 10.0 - 2.5 - 0.5 = 7.0, plus 1.25 and the 0.8 tax
    assert sum(r.effective_cost for r in january) == Decimal("9.05")
    compute, storage, tax = january
    assert compute.billed_cost == Decimal("10.0")
    assert compute.effective_cost == Decimal("7.0")
    assert json.loads(compute.tags) == {"env": "prod", "team": "web"}
    assert compute.sub_account_id == "acme-web"
    assert compute.region_id == "us-central1"
    assert compute.service_name == "Compute Engine"
    assert compute.consumed_quantity == Decimal(3600)
    assert compute.consumed_unit == "seconds"
    assert compute.charge_period_start == at("2026-01-01T00:00:00")
    assert compute.billing_account_id == "0123AB-CDEF01-234567"
    assert storage.region_id == ""
    assert storage.tags == "{}"
    assert tax.charge_category == "Tax"

    (bq,) = february
    assert bq.billing_period == "2026-02"
    assert bq.billed_cost == Decimal("2.0")
    assert bq.effective_cost == Decimal(0)  # a 5.00 free tier credit on 2.00: floored at 0


# --- errors -----------------------------------------------------------------------------------


def test_no_permission_says_which_roles_are_needed(ports, google):  # noqa: F811
    configure(ports, google, {})
    FakeBigQuery.deny = True
    result = uploader.upload_configuration(ports, "acme", "c1")
    assert result.uploaded == []
    (error,) = result.errors
    assert error.startswith("source: BigQuery query on acme-billing.billing_export.")
    assert "permission denied (HTTP 403: Access Denied: Project acme-billing" in error
    assert "roles/bigquery.jobUser" in error
    assert "roles/bigquery.dataViewer" in error


def test_a_missing_table_is_named(google):
    token = ServiceAccountToken(key_json(google), BIGQUERY_READ_ONLY)
    src = BigQuerySource(PROJECT, DATASET, "wrong", token, endpoint=google)
    with pytest.raises(SourceError) as missing:
        list(src.files())
    assert "not found (HTTP 404: Not found: Table acme-billing:billing_export.wrong" in str(
        missing.value
    )
    assert "Config.table" in str(missing.value)


def test_a_failure_while_reading_a_month_is_that_month_s_error(ports, google):  # noqa: F811
    configure(ports, google, {})
    FakeBigQuery.lose_jobs = True
    result = uploader.upload_configuration(ports, "acme", "c1")
    # the first page came with jobs.query; the second one (January has 3 rows) is missing
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"{PROJECT}.{DATASET}.{TABLE}/202601.csv: BigQuery")
    assert "getQueryResults" in result.errors[0]
    assert "HTTP 404" in result.errors[0]
    assert len(result.uploaded) == 1  # February fits in one page
    assert len(list(ports.reports.list("acme/"))) == 1  # nothing half-read was uploaded
    FakeBigQuery.lose_jobs = False
    again = uploader.upload_configuration(ports, "acme", "c1")
    assert len(again.uploaded) == 1
    assert again.errors == []
    assert again.unchanged == [f"{PROJECT}.{DATASET}.{TABLE}/202602.csv"]


def test_a_secret_that_is_not_a_key_or_no_secret_is_reported(ports, google):  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    accounts.create_credential(a, "acme", "gcp", {"project_id": PROJECT}, "not json", "bad")
    accounts.create_credential(a, "acme", "gcp", {"project_id": PROJECT}, None, "none")
    config = {"dataset": DATASET, "table": TABLE, "endpoint": google}
    accounts.create_configuration(a, "acme", "bad", "GCP_BIGQUERY", config, configuration_id="c1")
    accounts.create_configuration(a, "acme", "none", "GCP_BIGQUERY", config, configuration_id="c2")
    (not_a_key,) = uploader.upload_configuration(ports, "acme", "c1").errors
    assert "not a service account key" in not_a_key
    (no_key,) = uploader.upload_configuration(ports, "acme", "c2").errors
    assert "needs the service account key JSON" in no_key
    assert FakeBigQuery.requests == []


def test_bad_config_is_refused_when_stored(ports):  # noqa: F811
    a = ports.accounts
    accounts.create_client(a, "Acme", "acme")
    accounts.create_credential(a, "acme", "gcp", {"project_id": PROJECT}, "{}", "sa")
    with pytest.raises(accounts.InvalidInputError) as bad:
        accounts.create_configuration(
            a,
            "acme",
            "sa",
            "GCP_BIGQUERY",
            {
                "project": "Acme Billing",
                "dataset": "billing-export",
                "table": "t`; DROP TABLE x; --",
                "months": "0",
                "suffix": ".csv",
            },
        )
    reasons = " | ".join(bad.value.reasons)
    for expected in (
        "Config.project: must be a GCP project id",
        "Config.dataset: must be a BigQuery dataset id",
        "Config.table: must be a BigQuery table id",
        "Config.months: must be a whole number from 1 to 120",
        "Config.suffix: not a setting of GCP_BIGQUERY",
    ):
        assert expected in reasons
    with pytest.raises(accounts.InvalidInputError) as missing:
        accounts.create_configuration(a, "acme", "sa", "GCP_BIGQUERY", {"table": TABLE})
    assert "Config.dataset: required for GCP_BIGQUERY" in missing.value.reasons


def test_the_source_refuses_names_it_would_put_into_sql():
    def token() -> str:
        return "unused"

    with pytest.raises(SourceError, match="bad config"):
        BigQuerySource(PROJECT, DATASET, "t` UNION ALL SELECT 1 --", token)
    with pytest.raises(SourceError, match="bad config"):
        BigQuerySource(PROJECT, DATASET, TABLE, token, months=0)
