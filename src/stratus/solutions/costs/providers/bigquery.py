"""GCP billing data from its real home: the Cloud Billing export to BigQuery (REST, no SDK).

``GCP_BIGQUERY`` with ``Config.dataset`` and ``Config.table`` (the standard usage cost table
``gcp_billing_export_v1_<BILLING_ACCOUNT_ID>``, or the detailed ``..._resource_v1_...`` one) in
``Config.project`` (default: the credential's ``project_id``). The credential's secret is the
service account key JSON; the access token comes from :func:`.gcs.service_account_token` with
the ``bigquery.readonly`` scope (fetched again before its hour runs out).

One "file" per invoice month: :meth:`BigQuerySource.files` runs one small query (``jobs.query``,
standard SQL, named parameters)::

    SELECT invoice.month, COUNT(*), MAX(export_time) ... GROUP BY 1

over the last ``Config.months`` invoice months (default 3: this month and the two before), and
the fingerprint of a month is its row count and latest ``export_time``. The export only appends
rows, so a month whose fingerprint is unchanged is not queried again (the uploader compares it
with what it stored). :meth:`BigQuerySource.open` runs ``SELECT * ... WHERE invoice.month =
@month`` and streams the result as CSV, page by page (``jobs.getQueryResults`` with
``pageToken``; ``jobComplete: false`` is polled), never holding more than one page: the columns
the GCP normaliser reads, RECORD fields flattened to dotted names (``service.description``,
``invoice.month``), REPEATED fields (``labels``, ``credits``, ``project.labels``,
``system_labels``) as JSON lists, TIMESTAMPs as ISO 8601 UTC.

``Config.endpoint`` overrides ``https://bigquery.googleapis.com`` (tests, emulators).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, ClassVar

from stratus.solutions.costs.domain.accounts import (
    BIGQUERY_DATASET,
    BIGQUERY_MAX_MONTHS,
    BIGQUERY_PROJECT,
    BIGQUERY_TABLE,
)
from stratus.solutions.costs.providers.base import (
    SourceContext,
    SourceError,
    SourceFile,
    register,
)
from stratus.solutions.costs.providers.gcs import service_account_token

BIGQUERY = "https://bigquery.googleapis.com"
BIGQUERY_READ_ONLY = "https://www.googleapis.com/auth/bigquery.readonly"
DEFAULT_MONTHS = 3

#: A field of a BigQuery schema (``TableFieldSchema``: name, type, mode, fields).
Field = Mapping[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RECORD = ("RECORD", "STRUCT")
_TOKEN_LIFETIME = 45 * 60  # Google's tokens last an hour; sign in again well before


class ServiceAccountToken:
    """A bearer token for one scope, fetched on first use and again before it expires."""

    def __init__(
        self,
        key_json: str,
        scope: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key_json = key_json
        self._scope = scope
        self._clock = clock
        self._token = ""
        self._at = 0.0

    def __call__(self) -> str:
        now = self._clock()
        if not self._token or now - self._at > _TOKEN_LIFETIME:
            self._token = service_account_token(self._key_json, self._scope)
            self._at = now
        return self._token


# --- BigQuery values -> CSV cells -------------------------------------------------------------


def timestamp_text(value: str) -> str:
    """A TIMESTAMP as BigQuery's REST API gives it (int64 microseconds with
    ``useInt64Timestamp``, else float seconds such as ``1.7356896E9``) as ISO 8601 UTC."""
    try:
        micros = int(value) if value.lstrip("-").isdigit() else int(Decimal(value) * 1_000_000)
    except (InvalidOperation, ValueError):
        raise SourceError(
            f"BigQuery gave a TIMESTAMP that is not a number: {value[:40]!r}"
        ) from None
    moment = _EPOCH + timedelta(microseconds=micros)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"


def _json_value(field: Field, value: Any) -> Any:
    """One value (``v``) as plain JSON: records as objects, repeated fields as lists, numbers
    as numbers (NUMERIC stays text: it may hold more digits than a float)."""
    if field.get("mode") == "REPEATED":
        element = {**field, "mode": "NULLABLE"}
        return [_json_value(element, item.get("v")) for item in value or []]
    if value is None:
        return None
    kind = str(field.get("type", "STRING")).upper()
    if kind in _RECORD:
        cells = value.get("f") or []
        return {
            str(sub["name"]): _json_value(sub, cell.get("v") if cell else None)
            for sub, cell in zip(field.get("fields") or [], cells, strict=False)
        }
    if kind in ("INTEGER", "INT64"):
        return int(value)
    if kind in ("FLOAT", "FLOAT64"):
        number = float(value)
        return number if math.isfinite(number) else str(value)
    if kind in ("BOOLEAN", "BOOL"):
        return str(value).lower() == "true"
    if kind == "TIMESTAMP":
        return timestamp_text(str(value))
    return str(value)


def _json_cell(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class RowFormat:
    """A result schema compiled into CSV columns: nested (non-repeated) records become dotted
    columns, repeated fields one JSON column, scalars their text."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = list(fields)
        self.header: list[str] = []
        self._flatten(self.fields, "")

    def _flatten(self, fields: Sequence[Field], prefix: str) -> None:
        for field in fields:
            name = f"{prefix}{field['name']}"
            kind = str(field.get("type", "STRING")).upper()
            if kind in _RECORD and field.get("mode") != "REPEATED":
                self._flatten(field.get("fields") or [], f"{name}.")
            else:
                self.header.append(name)

    def cells(self, row: Mapping[str, Any]) -> list[str]:
        """The CSV cells of one result row (``{"f": [{"v": ...}, ...]}``)."""
        out: list[str] = []
        self._cells(self.fields, row.get("f") or [], out)
        return out

    def _cells(self, fields: Sequence[Field], values: Sequence[Any], out: list[str]) -> None:
        for i, field in enumerate(fields):
            cell = values[i] if i < len(values) else None
            value = cell.get("v") if isinstance(cell, Mapping) else None
            kind = str(field.get("type", "STRING")).upper()
            if field.get("mode") == "REPEATED":
                out.append(_json_cell(_json_value(field, value)))
            elif kind in _RECORD:
                self._cells(field.get("fields") or [], (value or {}).get("f") or [], out)
            elif value is None:
                out.append("")
            elif kind == "TIMESTAMP":
                out.append(timestamp_text(str(value)))
            else:
                out.append(str(value))

    def values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One result row as ``{column name: plain value}`` (top-level fields)."""
        cells = row.get("f") or []
        return {
            str(field["name"]): _json_value(field, cell.get("v") if cell else None)
            for field, cell in zip(self.fields, cells, strict=False)
        }


# --- the stream handed to the uploader ----------------------------------------------------------


class _ChunkStream(io.RawIOBase):
    """A readable stream over an iterator of byte chunks, pulled only as it is read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        target = memoryview(buffer).cast("B")
        n = min(len(target), len(self._pending))
        target[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


# --- the source ------------------------------------------------------------------------------


class BigQuerySource:
    """Invoice months of one billing export table, each offered as one CSV file."""

    provider = "gcp"

    def __init__(
        self,
        project: str,
        dataset: str,
        table: str,
        token: Callable[[], str],
        months: int = DEFAULT_MONTHS,
        endpoint: str = BIGQUERY,
        *,
        page_rows: int = 10_000,
        wait_seconds: float = 600.0,
        poll_seconds: float = 1.0,
    ) -> None:
        if not BIGQUERY_PROJECT.match(project):
            raise SourceError(f"bad config: {project!r} is not a GCP project id")
        if not BIGQUERY_DATASET.match(dataset):
            raise SourceError(f"bad config: {dataset!r} is not a BigQuery dataset id")
        if not BIGQUERY_TABLE.match(table):
            raise SourceError(f"bad config: {table!r} is not a BigQuery table id")
        if not 1 <= months <= BIGQUERY_MAX_MONTHS:
            raise SourceError(f"bad config: months must be 1 to {BIGQUERY_MAX_MONTHS}")
        self.project = project
        self.dataset = dataset
        self.table = table
        self.months = months
        self.endpoint = endpoint.rstrip("/")
        self.page_rows = page_rows
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._token = token

    @property
    def table_ref(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    def files(self) -> Iterator[SourceFile]:
        sql = (
            "SELECT invoice.month AS invoice_month, COUNT(*) AS row_count,"
            " MAX(export_time) AS last_export_time"
            f" FROM `{self.table_ref}`"
            " WHERE invoice.month >= FORMAT_DATE('%Y%m',"
            " DATE_SUB(DATE_TRUNC(CURRENT_DATE(), MONTH), INTERVAL @back MONTH))"
            " GROUP BY invoice_month ORDER BY invoice_month"
        )
        fmt, rows = self._query(sql, [_parameter("back", "INT64", str(self.months - 1))])
        for row in rows:
            values = fmt.values(row)
            month = str(values.get("invoice_month") or "")
            if len(month) != 6 or not month.isdigit():
                continue
            fingerprint = (
                f"rows={values.get('row_count')};export_time={values.get('last_export_time')}"
            )
            yield SourceFile(f"{self.table_ref}/{month}.csv", fingerprint)

    def open(self, file: SourceFile) -> BinaryIO:
        month = file.name.rsplit("/", 1)[-1].removesuffix(".csv")
        if len(month) != 6 or not month.isdigit():
            raise SourceError(f"{file.name} is not an invoice month of {self.table_ref}")
        sql = f"SELECT * FROM `{self.table_ref}` WHERE invoice.month = @month"
        fmt, rows = self._query(sql, [_parameter("month", "STRING", month)])
        return io.BufferedReader(_ChunkStream(_csv_chunks(fmt, rows)), buffer_size=1024 * 1024)

    # --- REST --------------------------------------------------------------------------------

    def _query(
        self, sql: str, parameters: list[dict[str, Any]]
    ) -> tuple[RowFormat, Iterator[Mapping[str, Any]]]:
        """Run ``sql`` (``jobs.query``), wait until the job completes, and return the result's
        format and an iterator over its rows, fetching later pages as it is consumed."""
        body = {
            "query": sql,
            "useLegacySql": False,
            "parameterMode": "NAMED",
            "queryParameters": parameters,
            "maxResults": self.page_rows,
            "timeoutMs": 10_000,
            "formatOptions": {"useInt64Timestamp": True},
        }
        url = f"{self.endpoint}/bigquery/v2/projects/{urllib.parse.quote(self.project)}/queries"
        answer = self._call("query", url, body)
        job = answer.get("jobReference") or {}
        deadline = time.monotonic() + self.wait_seconds
        while not answer.get("jobComplete"):
            if time.monotonic() > deadline:
                raise SourceError(
                    f"BigQuery query on {self.table_ref} not complete after "
                    f"{self.wait_seconds:.0f} s (job {job.get('jobId', '?')})"
                )
            time.sleep(self.poll_seconds)
            answer = self._results(job, "")
        fmt = RowFormat((answer.get("schema") or {}).get("fields") or [])
        return fmt, self._rows(job, answer)

    def _rows(
        self, job: Mapping[str, Any], answer: Mapping[str, Any]
    ) -> Iterator[Mapping[str, Any]]:
        while True:
            yield from answer.get("rows") or []
            page = str(answer.get("pageToken") or "")
            if not page:
                return
            answer = self._results(job, page)

    def _results(self, job: Mapping[str, Any], page: str) -> dict[str, Any]:
        """``jobs.getQueryResults``: the first page (``page`` empty) or the page ``page``."""
        if not job.get("jobId"):
            raise SourceError("BigQuery answered without a job reference: cannot read further")
        query = {
            "maxResults": str(self.page_rows),
            "timeoutMs": "10000",
            "formatOptions.useInt64Timestamp": "true",
        }
        if job.get("location"):
            query["location"] = str(job["location"])
        if page:
            query["pageToken"] = page
        project = urllib.parse.quote(str(job.get("projectId") or self.project))
        url = (
            f"{self.endpoint}/bigquery/v2/projects/{project}/queries/"
            f"{urllib.parse.quote(str(job['jobId']))}?{urllib.parse.urlencode(query)}"
        )
        return self._call("getQueryResults", url, None)

    def _call(self, what: str, url: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        method = "GET" if body is None else "POST"
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - endpoint
        request.add_header("Authorization", f"Bearer {self._token()}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SourceError(self._refusal(what, exc)) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SourceError(f"BigQuery {what} on {self.table_ref}: {exc}") from exc
        if not isinstance(answer, dict):
            raise SourceError(f"BigQuery {what} on {self.table_ref}: not a JSON object")
        return answer

    def _refusal(self, what: str, exc: urllib.error.HTTPError) -> str:
        """What an error answer (``{"error": {"code", "message", "errors": [...]}}``) means."""
        try:
            detail = json.loads(exc.read()).get("error") or {}
            message = str(detail.get("message") or "")[:300]
        except (ValueError, AttributeError, OSError):
            message = ""
        said = f"HTTP {exc.code}" + (f": {message}" if message else "")
        where = f"BigQuery {what} on {self.table_ref}"
        if exc.code == 401:
            return f"{where}: the access token was refused ({said})"
        if exc.code == 403:
            return (
                f"{where}: permission denied ({said}); the service account needs "
                f"roles/bigquery.jobUser on project {self.project} and roles/bigquery.dataViewer "
                f"on dataset {self.dataset}"
            )
        if exc.code == 404:
            return (
                f"{where}: not found ({said}); check Config.project, Config.dataset and "
                "Config.table (gcp_billing_export_v1_<BILLING_ACCOUNT_ID>)"
            )
        if exc.code == 400:
            return (
                f"{where}: query refused ({said}); is it a Cloud Billing export table "
                "(with invoice.month and export_time)?"
            )
        return f"{where}: {said}"


def _parameter(name: str, kind: str, value: str) -> dict[str, Any]:
    """A named query parameter (``QueryParameter``)."""
    return {"name": name, "parameterType": {"type": kind}, "parameterValue": {"value": value}}


def _csv_chunks(fmt: RowFormat, rows: Iterator[Mapping[str, Any]]) -> Iterator[bytes]:
    """The header, then the CSV text of the rows, one chunk per 1000 rows or so."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(fmt.header)
    for count, row in enumerate(rows, 1):
        writer.writerow(fmt.cells(row))
        if count % 1000 == 0:
            yield text.getvalue().encode("utf-8")
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode("utf-8")


@register
class GcpBigQueryExportSource:
    """``GCP_BIGQUERY``: the Cloud Billing export table in BigQuery, one file per month."""

    report_types: ClassVar[tuple[str, ...]] = ("GCP_BIGQUERY",)

    @classmethod
    def build(cls, context: SourceContext) -> BigQuerySource:
        config = context.configuration.config
        if not context.secret:
            raise SourceError(
                "querying BigQuery needs the service account key JSON as the credential's secret"
            )
        project = str(config.get("project") or context.credential.access.get("project_id") or "")
        months = str(config.get("months") or DEFAULT_MONTHS)
        if not months.isdigit():
            raise SourceError(f"bad config: months must be a whole number, not {months!r}")
        token = ServiceAccountToken(context.secret, BIGQUERY_READ_ONLY)
        token()  # sign in now: a key that does not work is one clear error, before any query
        return BigQuerySource(
            project,
            str(config.get("dataset") or ""),
            str(config.get("table") or ""),
            token,
            int(months),
            str(config.get("endpoint") or BIGQUERY),
        )
