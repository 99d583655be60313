"""The SQL shared by the fact-store adapters (DuckDB and PostgreSQL).

Tables::

    cost_facts      one row per accepted cost row, tagged with load_id and chunk_no
    cost_chunks     done-markers: (load_id, chunk_no) written with the chunk's facts
    cost_rejections rejected rows: (load_id, chunk_no, row_number, reason)
    cost_current    the pointer: (client_id, provider, billing_period) -> the load_ids of the
                    current version (one row per load; a multi-file version has several)

Readers join facts to ``cost_current`` on the load id too, so each fact meets one row;
:meth:`SqlFactStore.publish` moves the pointer and deletes the replaced facts in one
transaction (MVCC on both engines keeps readers on one snapshot); :meth:`SqlFactStore.sweep`
removes, load by load, what was never published and never will be. Placeholders are ``?``; an
adapter translates them for its driver.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any

from stratus.solutions.costs.domain.focus import FACT_FIELDS, FocusRow, Rejection
from stratus.solutions.costs.ports import (
    CurrencyTotal,
    FactStoreError,
    LoadRef,
    LoadSummary,
    ReportQuery,
    ReportRow,
    ResourceDetail,
    load_started,
)

#: Stored fact columns: the load's keys, then the FOCUS fields with charge_date after the period.
FACT_COLUMNS = (
    "load_id",
    "chunk_no",
    "client_id",
    "provider",
    FACT_FIELDS[0],  # billing_period
    "charge_date",
    *FACT_FIELDS[1:],
)

MONEY = "DECIMAL(38,12)"
SWEEP_BATCH = 200  # loads removed per transaction by SqlFactStore.sweep


def schema(text_type: str, timestamp_type: str) -> list[str]:
    """CREATE statements (idempotent) for both engines."""
    t, ts = text_type, timestamp_type
    return [
        f"""CREATE TABLE IF NOT EXISTS cost_facts (
            load_id {t} NOT NULL, chunk_no INTEGER NOT NULL, client_id {t} NOT NULL,
            provider {t} NOT NULL, billing_period {t} NOT NULL, charge_date DATE NOT NULL,
            charge_period_start {ts} NOT NULL, charge_period_end {ts},
            billing_account_id {t}, sub_account_id {t}, provider_name {t}, service_name {t},
            service_category {t}, region_id {t}, resource_id {t}, resource_name {t},
            resource_type {t}, sku_id {t}, charge_category {t}, consumed_quantity {MONEY},
            consumed_unit {t}, billed_cost {MONEY} NOT NULL, effective_cost {MONEY} NOT NULL,
            list_cost {MONEY}, billing_currency {t} NOT NULL, tags {t} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS cost_chunks (
            load_id {t} NOT NULL, chunk_no INTEGER NOT NULL, accepted INTEGER NOT NULL,
            rejected INTEGER NOT NULL, PRIMARY KEY (load_id, chunk_no))""",
        f"""CREATE TABLE IF NOT EXISTS cost_rejections (
            load_id {t} NOT NULL, chunk_no INTEGER NOT NULL, row_number BIGINT NOT NULL,
            reason {t} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS cost_current (
            client_id {t} NOT NULL, provider {t} NOT NULL, billing_period {t} NOT NULL,
            load_id {t} NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS cost_facts_load ON cost_facts (load_id)",
        "CREATE INDEX IF NOT EXISTS cost_facts_client ON cost_facts (client_id, billing_period)",
    ]


def fact_values(load: LoadRef, chunk_no: int, row: FocusRow) -> tuple[Any, ...]:
    """One fact row in FACT_COLUMNS order."""
    return (
        load.load_id,
        chunk_no,
        load.client_id,
        load.provider,
        row.billing_period,
        row.charge_date,
        row.charge_period_start,
        row.charge_period_end,
        row.billing_account_id,
        row.sub_account_id,
        row.provider_name,
        row.service_name,
        row.service_category,
        row.region_id,
        row.resource_id,
        row.resource_name,
        row.resource_type,
        row.sku_id,
        row.charge_category,
        row.consumed_quantity,
        row.consumed_unit,
        row.billed_cost,
        row.effective_cost,
        row.list_cost,
        row.billing_currency,
        row.tags,
    )


CURRENT_JOIN = """cost_facts f JOIN cost_current c ON c.load_id = f.load_id
    AND c.client_id = f.client_id AND c.provider = f.provider
    AND c.billing_period = f.billing_period"""

KEY_EXPRESSIONS = {
    "day": "CAST(f.charge_date AS TEXT)",
    "month": "f.billing_period",
    "service": "f.service_name",
    "account": "COALESCE(NULLIF(f.sub_account_id, ''), f.billing_account_id)",
    "region": "f.region_id",
    "resource": "f.resource_id",
    "category": "f.charge_category",
}


class UnknownDimensionError(ValueError):
    """The report dimension is not one of DIMENSIONS or ``tag:KEY``."""


class SqlFactStore(abc.ABC):
    """FactStore on a SQL engine; subclasses supply the connection and bulk insert."""

    # -- engine hooks ------------------------------------------------------------------------

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A context yielding a handle for :meth:`_exec`, committed on exit, rolled back on an
        exception; engine errors leave it as FactStoreError (``conflict`` for write races)."""

    @abc.abstractmethod
    def _exec(self, handle: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; rows when it returns any."""

    @abc.abstractmethod
    def _insert_facts(self, handle: Any, values: list[tuple[Any, ...]]) -> None:
        """Bulk-insert fact tuples (FACT_COLUMNS order)."""

    @abc.abstractmethod
    def _tag_expression(self) -> str:
        """SQL of the tag value, with one ``?`` for the tag key."""

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as handle:
            return self._exec(handle, sql, params)

    # -- the port ----------------------------------------------------------------------------

    def write_chunk(
        self,
        load: LoadRef,
        chunk_no: int,
        rows: Sequence[FocusRow],
        rejections: Sequence[Rejection],
    ) -> bool:
        """Facts, rejections and the done-marker in one transaction; False if done before."""
        marker = "SELECT 1 FROM cost_chunks WHERE load_id = ? AND chunk_no = ?"
        try:
            with self._transaction() as handle:
                if self._exec(handle, marker, (load.load_id, chunk_no)):
                    return False
                self._exec(
                    handle,
                    "INSERT INTO cost_chunks VALUES (?, ?, ?, ?)",
                    (load.load_id, chunk_no, len(rows), len(rejections)),
                )
                if rows:
                    self._insert_facts(handle, [fact_values(load, chunk_no, r) for r in rows])
                for rejection in rejections:
                    self._exec(
                        handle,
                        "INSERT INTO cost_rejections VALUES (?, ?, ?, ?)",
                        (load.load_id, chunk_no, rejection.row_number, rejection.reason[:500]),
                    )
        except FactStoreError as error:
            # A concurrent redelivery of the same chunk won the race: its marker is there.
            if error.conflict and self._read(marker, (load.load_id, chunk_no)):
                return False
            raise
        return True

    def chunks_done(self, load_id: str) -> int:
        """Number of done-markers of the load."""
        rows = self._read("SELECT COUNT(*) FROM cost_chunks WHERE load_id = ?", (load_id,))
        return int(rows[0][0])

    def summary(self, load_id: str, *, max_rejections: int = 100) -> LoadSummary:
        """Counts from the markers, totals from the facts, the first rejections."""
        with self._transaction() as h:
            counts = self._exec(
                h,
                "SELECT COUNT(*), COALESCE(SUM(accepted), 0), COALESCE(SUM(rejected), 0)"
                " FROM cost_chunks WHERE load_id = ?",
                (load_id,),
            )[0]
            totals = self._exec(
                h,
                "SELECT billing_currency, SUM(billed_cost), SUM(effective_cost), COUNT(*)"
                " FROM cost_facts WHERE load_id = ? GROUP BY billing_currency"
                " ORDER BY billing_currency",
                (load_id,),
            )
            periods = self._exec(
                h,
                "SELECT DISTINCT billing_period FROM cost_facts WHERE load_id = ?"
                " ORDER BY billing_period",
                (load_id,),
            )
            rejected = self._exec(
                h,
                "SELECT row_number, reason FROM cost_rejections WHERE load_id = ?"
                f" ORDER BY row_number LIMIT {int(max_rejections)}",
                (load_id,),
            )
        return LoadSummary(
            load_id=load_id,
            chunks=int(counts[0]),
            accepted=int(counts[1]),
            rejected=int(counts[2]),
            totals=[CurrencyTotal(c, Decimal(b), Decimal(e), int(n)) for c, b, e, n in totals],
            periods=[p for (p,) in periods],
            rejections=[Rejection(int(n), str(r)) for n, r in rejected],
        )

    def publish(self, loads: LoadRef | Sequence[LoadRef]) -> list[str]:
        """Make the loads (one report version: one file, or every part of a multi-file
        version) together the current version of every period they cover, and drop the facts
        of the loads they replace there, in one transaction. ``cost_current`` then holds one
        row per (load, period) of the version; a fact joins only its own load's row, so it is
        counted once. Facts of loads that are neither current nor published here (a part of
        another version still waiting) are left alone."""
        refs = [loads] if isinstance(loads, LoadRef) else list(dict.fromkeys(loads))
        if not refs:
            return []
        client_id, provider = refs[0].client_id, refs[0].provider
        if any((r.client_id, r.provider) != (client_id, provider) for r in refs):
            raise ValueError("the loads of one version share their client and provider")
        ids = [r.load_id for r in refs]
        marks = ", ".join("?" for _ in ids)
        with self._transaction() as h:
            pairs = self._exec(
                h,
                "SELECT DISTINCT billing_period, load_id FROM cost_facts"
                f" WHERE load_id IN ({marks}) ORDER BY billing_period, load_id",
                ids,
            )
            periods = sorted({p for p, _ in pairs})
            for period in periods:
                key = (client_id, provider, period)
                replaced = [
                    str(load_id)
                    for (load_id,) in self._exec(
                        h,
                        "SELECT load_id FROM cost_current WHERE client_id = ? AND provider = ?"
                        f" AND billing_period = ? AND load_id NOT IN ({marks})",
                        (*key, *ids),
                    )
                ]
                self._exec(
                    h,
                    "DELETE FROM cost_current WHERE client_id = ? AND provider = ?"
                    " AND billing_period = ?",
                    key,
                )
                for load_id in sorted({str(i) for p, i in pairs if p == period}):
                    self._exec(h, "INSERT INTO cost_current VALUES (?, ?, ?, ?)", (*key, load_id))
                if replaced:
                    old = ", ".join("?" for _ in replaced)
                    self._exec(
                        h,
                        "DELETE FROM cost_facts WHERE client_id = ? AND provider = ?"
                        f" AND billing_period = ? AND load_id IN ({old})",
                        (*key, *replaced),
                    )
        return periods

    def discard(self, load_id: str) -> None:
        """Delete the facts of a load that will never be published."""
        with self._transaction() as h:
            current = self._exec(h, "SELECT 1 FROM cost_current WHERE load_id = ?", (load_id,))
            if not current:
                self._exec(h, "DELETE FROM cost_facts WHERE load_id = ?", (load_id,))

    def sweep(
        self,
        older_than: datetime,
        *,
        client_id: str | None = None,
        provider: str | None = None,
        periods: Sequence[str] | None = None,
    ) -> int:
        """Remove the loads that are current nowhere and started before ``older_than``: facts,
        rejections and done-markers, each batch of loads in one transaction (so a load never
        keeps facts without its markers). Unscoped, the candidates are every load with a
        done-marker (a fact is only ever written with its chunk's marker); scoped to a client,
        provider and periods, the loads with facts there. A load made current meanwhile is
        left alone (checked again inside the deleting transaction); ids without a start time
        are never swept. Returns the number of loads removed."""
        scope = (client_id, provider, periods)
        if any(v is not None for v in scope) and any(v is None for v in scope):
            raise ValueError("a scoped sweep names the client, the provider and the periods")
        if older_than.tzinfo is None:
            raise ValueError("the sweep's cut-off must be tz-aware")
        if periods is not None and not periods:
            return 0
        with self._transaction() as h:
            current = {str(i) for (i,) in self._exec(h, "SELECT load_id FROM cost_current")}
            if periods is None:
                found = self._exec(h, "SELECT DISTINCT load_id FROM cost_chunks")
            else:
                marks = ", ".join("?" for _ in periods)
                found = self._exec(
                    h,
                    "SELECT DISTINCT load_id FROM cost_facts WHERE client_id = ? AND provider = ?"
                    f" AND billing_period IN ({marks})",
                    (client_id, provider, *periods),
                )
        candidates = []
        for load_id in sorted(str(i) for (i,) in found):
            started = load_started(load_id)
            if load_id not in current and started is not None and started < older_than:
                candidates.append(load_id)
        removed = 0
        for start in range(0, len(candidates), SWEEP_BATCH):
            batch = candidates[start : start + SWEEP_BATCH]
            marks = ", ".join("?" for _ in batch)
            with self._transaction() as h:
                now_current = {
                    str(i)
                    for (i,) in self._exec(
                        h, f"SELECT DISTINCT load_id FROM cost_current WHERE load_id IN ({marks})",
                        batch,
                    )
                }  # fmt: skip
                batch = [i for i in batch if i not in now_current]
                if not batch:
                    continue
                marks = ", ".join("?" for _ in batch)
                for table in ("cost_facts", "cost_rejections", "cost_chunks"):
                    self._exec(
                        h,
                        f"DELETE FROM {table} WHERE load_id IN ({marks})"
                        " AND load_id NOT IN (SELECT load_id FROM cost_current)",
                        batch,
                    )
            removed += len(batch)
        return removed

    def report(self, query: ReportQuery) -> list[ReportRow]:
        """Grouped sums of the published facts."""
        params: list[Any] = []
        if query.by.startswith("tag:") and len(query.by) > 4:
            key_sql = self._tag_expression()
            params.append(query.by[4:])
        elif query.by in KEY_EXPRESSIONS:
            key_sql = KEY_EXPRESSIONS[query.by]
        else:
            raise UnknownDimensionError(
                f"cannot group by {query.by!r}: use {', '.join(KEY_EXPRESSIONS)} or tag:KEY"
            )
        where = "f.client_id = ?"
        params.append(query.client_id)
        if query.month:
            where += " AND f.billing_period = ?"
            params.append(query.month)
        cost = "billed" if query.cost == "billed" else "effective"
        order = "1, 2" if query.by in ("day", "month") else f"SUM(f.{cost}_cost) DESC, 1, 2"
        limit = f" LIMIT {int(query.limit)}" if query.limit else ""
        sql = (
            f"SELECT COALESCE(NULLIF({key_sql}, ''), '(none)'), f.billing_currency,"
            " SUM(f.billed_cost), SUM(f.effective_cost), COUNT(*)"
            f" FROM {CURRENT_JOIN} WHERE {where} GROUP BY 1, 2 ORDER BY {order}{limit}"
        )
        return [
            ReportRow(str(k), str(c), Decimal(b), Decimal(e), int(n))
            for k, c, b, e, n in self._read(sql, params)
        ]

    def months(self, client_id: str) -> list[str]:
        """Published billing periods of the client."""
        rows = self._read(
            "SELECT DISTINCT billing_period FROM cost_current WHERE client_id = ?"
            " ORDER BY billing_period",
            (client_id,),
        )
        return [p for (p,) in rows]

    def resource(self, client_id: str, resource_id: str) -> ResourceDetail | None:
        """Attributes from the latest fact of the resource, totals over all of them."""
        with self._transaction() as h:
            latest = self._exec(
                h,
                "SELECT f.resource_name, f.resource_type, f.service_name, f.region_id,"
                " COALESCE(NULLIF(f.sub_account_id, ''), f.billing_account_id), f.tags"
                f" FROM {CURRENT_JOIN} WHERE f.client_id = ? AND f.resource_id = ?"
                " ORDER BY f.charge_period_start DESC LIMIT 1",
                (client_id, resource_id),
            )
            if not latest:
                return None
            span = self._exec(
                h,
                "SELECT CAST(MIN(f.charge_date) AS TEXT), CAST(MAX(f.charge_date) AS TEXT)"
                f" FROM {CURRENT_JOIN} WHERE f.client_id = ? AND f.resource_id = ?",
                (client_id, resource_id),
            )[0]
            totals = self._exec(
                h,
                "SELECT f.billing_currency, SUM(f.billed_cost), SUM(f.effective_cost), COUNT(*)"
                f" FROM {CURRENT_JOIN} WHERE f.client_id = ? AND f.resource_id = ?"
                " GROUP BY 1 ORDER BY 1",
                (client_id, resource_id),
            )
        name, kind, service, region, account, tags = latest[0]
        return ResourceDetail(
            resource_id=resource_id,
            resource_name=str(name or ""),
            resource_type=str(kind or ""),
            service_name=str(service or ""),
            region_id=str(region or ""),
            account_id=str(account or ""),
            first_seen=str(span[0]),
            last_seen=str(span[1]),
            tags=json.dumps(json.loads(tags or "{}"), sort_keys=True),
            totals=[CurrencyTotal(c, Decimal(b), Decimal(e), int(n)) for c, b, e, n in totals],
        )


def chunked(values: list[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Slices of ``values`` of at most ``size``."""
    for i in range(0, len(values), size):
        yield values[i : i + size]
