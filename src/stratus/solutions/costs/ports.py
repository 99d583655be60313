"""The costs solution's own port: the fact store.

Timestamp-series storage on AWS would once have been Amazon Timestream for LiveAnalytics; it is
closed to new customers since June 2025, so facts live in DuckDB (embedded, the local default)
or PostgreSQL (Aurora on AWS). Both adapters pass ``tests/unit/costs/test_facts_contract.py``.

Exactly-once rules the contract pins down:

* A load (one file) writes facts chunk by chunk. :meth:`FactStore.write_chunk` stores a chunk's
  facts, rejections and its done-marker in ONE transaction and returns False, writing nothing,
  when the marker exists: a redelivered chunk never counts twice, a killed writer leaves nothing.
* Facts of a load are invisible until :meth:`FactStore.publish`, which in one transaction points
  every (client, provider, billing period) the load covers at it and removes the facts of the
  versions it replaces: a restated month replaces the old one atomically and a reader sees
  either the old version or the new one, never a mix. A report version split into several
  files (several loads) is published with all its loads in one call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from stratus.solutions.costs.domain.focus import FocusRow, Rejection

CostKind = Literal["billed", "effective"]
DIMENSIONS = ("day", "month", "service", "account", "region", "resource", "category")


#: A load id is ``<UTC start time in this format>-<hex>`` (``etl.mark_started``).
LOAD_ID_TIME_FORMAT = "%Y%m%dT%H%M%S"
_LOAD_ID_TIME = re.compile(r"(\d{8}T\d{6})-")


def load_started(load_id: str) -> datetime | None:
    """When the load started, from its id's UTC time prefix; None when the id has none (a
    load the sweep never removes)."""
    match = _LOAD_ID_TIME.match(load_id)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), LOAD_ID_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


class FactStoreError(Exception):
    """The fact store failed; ``conflict`` when a concurrent transaction won a write race."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict


@dataclass(frozen=True)
class LoadRef:
    """One load: a file's facts for a client, under a provider family (aws, azure, ...)."""

    load_id: str
    client_id: str
    provider: str


@dataclass(frozen=True)
class CurrencyTotal:
    """Sums of one currency."""

    currency: str
    billed_cost: Decimal
    effective_cost: Decimal
    rows: int


@dataclass(frozen=True)
class LoadSummary:
    """What a load holds: chunks done, rows accepted and rejected (with reasons), totals."""

    load_id: str
    chunks: int
    accepted: int
    rejected: int
    totals: list[CurrencyTotal]
    periods: list[str]
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class ReportQuery:
    """A grouped cost report. ``by`` is one of DIMENSIONS or ``tag:KEY``; ``month`` filters on
    the billing period (YYYY-MM); rows are ordered by ``cost`` descending (by key for day and
    month); ``limit`` keeps the first rows."""

    client_id: str
    by: str
    month: str | None = None
    cost: CostKind = "billed"
    limit: int | None = None


@dataclass(frozen=True)
class ReportRow:
    """One group of a report."""

    key: str
    currency: str
    billed_cost: Decimal
    effective_cost: Decimal
    rows: int


@dataclass(frozen=True)
class ResourceDetail:
    """What the facts say about one resource."""

    resource_id: str
    resource_name: str
    resource_type: str
    service_name: str
    region_id: str
    account_id: str
    first_seen: str
    last_seen: str
    tags: str
    totals: list[CurrencyTotal]


@runtime_checkable
class FactStore(Protocol):
    """Cost facts with exactly-once chunk writes and atomic versioned publication."""

    def write_chunk(
        self,
        load: LoadRef,
        chunk_no: int,
        rows: Sequence[FocusRow],
        rejections: Sequence[Rejection],
    ) -> bool:
        """Store one chunk atomically; False (nothing written) when it was stored before."""
        ...

    def write_chunk_csv(
        self, load: LoadRef, chunk_no: int, provider: str, header: Sequence[str], data: bytes
    ) -> bool | None:
        """Normalise raw CSV rows (no header; ``header`` names their columns) in the store
        itself and store them as :meth:`write_chunk` does. None, writing nothing, when the store
        cannot give exactly what the Python normaliser would for every row of this chunk: the
        caller then normalises in Python (which also gives every rejected row its reason)."""
        ...

    def chunks_done(self, load_id: str) -> int:
        """How many chunks of the load are stored."""
        ...

    def summary(self, load_id: str, *, max_rejections: int = 100) -> LoadSummary:
        """Counts, totals per currency and the first rejections of a load."""
        ...

    def publish(self, loads: LoadRef | Sequence[LoadRef]) -> list[str]:
        """Make the load, or every load of a multi-file report version together, the current
        version of every billing period they cover (one transaction: a reader never sees part
        of them, nor a mix with the version replaced); drop the replaced loads' facts of those
        periods; return the periods. The loads share their client and provider."""
        ...

    def discard(self, load_id: str) -> None:
        """Remove an unpublished load's facts (a failed file)."""
        ...

    def sweep(
        self,
        older_than: datetime,
        *,
        client_id: str | None = None,
        provider: str | None = None,
        periods: Sequence[str] | None = None,
    ) -> int:
        """Remove every load that is not current (in no period) and started before
        ``older_than`` (by :func:`load_started`; ids without a time are kept): its facts,
        rejections and done-markers, each load whole in one transaction. With ``client_id``,
        ``provider`` and ``periods``, only the loads with facts there. Readers see no change:
        only current loads are visible. Returns how many loads were removed."""
        ...

    def report(self, query: ReportQuery) -> list[ReportRow]:
        """Published facts of the client grouped by the query's dimension."""
        ...

    def months(self, client_id: str) -> list[str]:
        """Billing periods with published facts, ascending."""
        ...

    def resource(self, client_id: str, resource_id: str) -> ResourceDetail | None:
        """Details of one resource from published facts; None when it has none."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
