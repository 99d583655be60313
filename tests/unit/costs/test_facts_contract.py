"""The FactStore contract: one suite, every adapter (DuckDB always, PostgreSQL when
STRATUS_TEST_POSTGRES_URL is set, in a schema of its own that is dropped afterwards)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from stratus.solutions.costs.adapters.duckdb_facts import DuckDbFactStore
from stratus.solutions.costs.domain.focus import FocusRow, Rejection
from stratus.solutions.costs.ports import FactStore, LoadRef, ReportQuery


def fact(cost: str, *, day: int = 1, period: str = "2024-05", service: str = "EC2",
         resource: str = "r-1", tags: str = '{"team":"data"}', currency: str = "USD",
         effective: str | None = None) -> FocusRow:  # fmt: skip
    start = datetime(int(period[:4]), int(period[5:]), day, tzinfo=UTC)
    return FocusRow(
        billing_period=period,
        charge_period_start=start,
        charge_period_end=None,
        billing_account_id="payer",
        sub_account_id="acct-1",
        provider_name="AWS",
        service_name=service,
        service_category="Compute",
        region_id="us-east-1",
        resource_id=resource,
        resource_name="web",
        resource_type="vm",
        sku_id="sku",
        charge_category="Usage",
        consumed_quantity=Decimal("1"),
        consumed_unit="Hours",
        billed_cost=Decimal(cost),
        effective_cost=Decimal(effective if effective is not None else cost),
        list_cost=None,
        billing_currency=currency,
        tags=tags,
    )


def load(client: str = "acme", provider: str = "aws") -> LoadRef:
    return LoadRef(uuid.uuid4().hex, client, provider)


#: The sweep tests' "now" and cut-off (a 30-day TTL and a day of grace).
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=31)


def dated(age: timedelta, client: str = "acme", provider: str = "aws") -> LoadRef:
    """A load whose id says it started ``age`` before NOW (as etl.mark_started names them)."""
    return LoadRef(f"{NOW - age:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}", client, provider)


def billed(store: FactStore, client: str = "acme", by: str = "month") -> dict[str, Decimal]:
    return {r.key: r.billed_cost for r in store.report(ReportQuery(client, by))}


class FactStoreContract:
    def test_a_load_is_invisible_until_published(self, store: FactStore) -> None:
        ref = load()
        assert store.write_chunk(ref, 0, [fact("1.5")], [])
        assert billed(store) == {}
        assert store.publish(ref) == ["2024-05"]
        assert billed(store) == {"2024-05": Decimal("1.5")}

    def test_a_redelivered_chunk_is_not_counted_twice(self, store: FactStore) -> None:
        ref = load()
        assert store.write_chunk(ref, 0, [fact("2")], [])
        assert not store.write_chunk(ref, 0, [fact("2")], [])
        store.publish(ref)
        assert billed(store) == {"2024-05": Decimal("2")}
        assert store.chunks_done(ref.load_id) == 1

    def test_concurrent_redeliveries_store_the_chunk_once(self, store: FactStore) -> None:
        ref = load()
        results: list[bool] = []

        def write() -> None:
            results.append(store.write_chunk(ref, 7, [fact("1")] * 50, []))

        threads = [threading.Thread(target=write) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False, False, False, True]
        store.publish(ref)
        assert billed(store) == {"2024-05": Decimal("50")}

    def test_a_restated_month_replaces_the_old_version_whole(self, store: FactStore) -> None:
        first, second = load(), load()
        store.write_chunk(first, 0, [fact("10"), fact("5", period="2024-04")], [])
        store.publish(first)
        store.write_chunk(second, 0, [fact("7"), fact("1")], [])
        assert billed(store) == {"2024-04": Decimal("5"), "2024-05": Decimal("10")}
        store.publish(second)
        assert billed(store) == {"2024-04": Decimal("5"), "2024-05": Decimal("8")}

    def test_clients_and_providers_do_not_replace_each_other(self, store: FactStore) -> None:
        a, b, c = load("acme", "aws"), load("acme", "azure"), load("other", "aws")
        for ref, cost in ((a, "1"), (b, "2"), (c, "4")):
            store.write_chunk(ref, 0, [fact(cost)], [])
            store.publish(ref)
        assert billed(store, "acme") == {"2024-05": Decimal("3")}
        assert billed(store, "other") == {"2024-05": Decimal("4")}

    def test_rejections_are_counted_and_kept_with_their_reasons(self, store: FactStore) -> None:
        ref = load()
        store.write_chunk(ref, 0, [fact("1")], [Rejection(2, "BilledCost is empty")])
        store.write_chunk(ref, 1, [], [Rejection(3, "has 2 cells, the header 5")])
        summary = store.summary(ref.load_id)
        assert (summary.chunks, summary.accepted, summary.rejected) == (2, 1, 2)
        assert [r.row_number for r in summary.rejections] == [2, 3]
        assert summary.totals[0].billed_cost == Decimal("1")

    def test_a_discarded_load_leaves_nothing_behind(self, store: FactStore) -> None:
        ref = load()
        store.write_chunk(ref, 0, [fact("1")], [])
        store.discard(ref.load_id)
        assert store.summary(ref.load_id).totals == []

    def test_reports_group_by_every_dimension_and_by_tag(self, store: FactStore) -> None:
        ref = load()
        rows = [
            fact("1", day=1, service="EC2", tags='{"team":"data"}'),
            fact("2", day=2, service="S3", resource="b-1", tags='{"team":"web"}'),
            fact("4", day=2, service="S3", resource="b-2", tags="{}"),
        ]
        store.write_chunk(ref, 0, rows, [])
        store.publish(ref)
        assert billed(store, by="day") == {"2024-05-01": Decimal("1"), "2024-05-02": Decimal("6")}
        assert billed(store, by="service") == {"S3": Decimal("6"), "EC2": Decimal("1")}
        assert billed(store, by="tag:team") == {
            "(none)": Decimal("4"),
            "web": Decimal("2"),
            "data": Decimal("1"),
        }
        top = store.report(ReportQuery("acme", "resource", limit=1))
        assert [(r.key, r.billed_cost) for r in top] == [("b-2", Decimal("4"))]

    def test_currencies_are_never_summed_together(self, store: FactStore) -> None:
        ref = load()
        store.write_chunk(ref, 0, [fact("1"), fact("2", currency="EUR")], [])
        store.publish(ref)
        rows = store.report(ReportQuery("acme", "service"))
        assert sorted((r.currency, r.billed_cost) for r in rows) == [
            ("EUR", Decimal("2")),
            ("USD", Decimal("1")),
        ]

    def test_billed_and_effective_costs_are_both_kept(self, store: FactStore) -> None:
        ref = load()
        store.write_chunk(ref, 0, [fact("3", effective="1.25")], [])
        store.publish(ref)
        (row,) = store.report(ReportQuery("acme", "service", cost="effective"))
        assert (row.billed_cost, row.effective_cost) == (Decimal("3"), Decimal("1.25"))

    def test_money_keeps_twelve_decimal_places_exactly(self, store: FactStore) -> None:
        ref = load()
        store.write_chunk(ref, 0, [fact("0.000000000001")] * 3, [])
        store.publish(ref)
        assert billed(store) == {"2024-05": Decimal("0.000000000003")}

    def test_resource_details_come_from_published_facts(self, store: FactStore) -> None:
        ref = load()
        store.write_chunk(ref, 0, [fact("1", day=3), fact("2", day=9)], [])
        assert store.resource("acme", "r-1") is None
        store.publish(ref)
        detail = store.resource("acme", "r-1")
        assert detail is not None
        assert (detail.first_seen, detail.last_seen) == ("2024-05-03", "2024-05-09")
        assert detail.totals[0].billed_cost == Decimal("3")
        assert store.months("acme") == ["2024-05"]

    def test_a_reader_sees_one_version_while_another_is_published(self, store: FactStore) -> None:
        first = load()
        store.write_chunk(first, 0, [fact("1")] * 100, [])
        store.publish(first)
        seen: set[Decimal] = set()
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                seen.update(billed(store).values())

        reader = threading.Thread(target=read)
        reader.start()
        for n in range(5):
            ref = load()
            store.write_chunk(ref, 0, [replace(fact("2"), sku_id=str(n))] * 100, [])
            store.publish(ref)
        stop.set()
        reader.join()
        assert seen <= {Decimal("100"), Decimal("200")}

    # -- report versions of several files (several loads published together) --------------

    def test_a_version_of_several_loads_is_invisible_until_all_are_published(
        self, store: FactStore
    ) -> None:
        old = load()
        store.write_chunk(old, 0, [fact("7")], [])
        store.publish(old)
        parts = [load() for _ in range(3)]
        for n, ref in enumerate(parts):
            store.write_chunk(ref, 0, [fact(str(n + 1))] * 2, [])
        assert billed(store) == {"2024-05": Decimal("7")}  # the parts are loaded, not current
        assert sorted(store.publish(parts)) == ["2024-05"]
        assert billed(store) == {"2024-05": Decimal("12")}  # 2 x (1 + 2 + 3), each fact once
        assert store.summary(old.load_id).accepted == 1  # its marker stays,
        assert store.summary(old.load_id).totals == []  # its facts are gone

    def test_every_query_counts_each_fact_of_a_multi_load_version_once(
        self, store: FactStore
    ) -> None:
        parts = [load() for _ in range(3)]
        for n, ref in enumerate(parts):
            store.write_chunk(ref, 0, [fact("1", day=n + 1, resource="r-9")], [])
        store.write_chunk(parts[2], 1, [fact("5", period="2024-06", resource="r-9")], [])
        store.publish(parts)
        assert billed(store) == {"2024-05": Decimal("3"), "2024-06": Decimal("5")}
        assert {r.key: r.rows for r in store.report(ReportQuery("acme", "tag:team"))} == {"data": 4}
        assert store.months("acme") == ["2024-05", "2024-06"]
        detail = store.resource("acme", "r-9")
        assert detail is not None
        assert detail.totals[0].billed_cost == Decimal("8")
        assert detail.totals[0].rows == 4

    def test_a_second_version_replaces_every_load_of_the_first(self, store: FactStore) -> None:
        first = [load() for _ in range(2)]
        for ref in first:
            store.write_chunk(ref, 0, [fact("10")], [])
        store.publish(first)
        second = [load() for _ in range(3)]
        for ref in second:
            store.write_chunk(ref, 0, [fact("1")], [])
        store.publish(second)
        assert billed(store) == {"2024-05": Decimal("3")}
        assert all(store.summary(ref.load_id).totals == [] for ref in first)
        # A version of one file replaces a version of several, too.
        single = load()
        store.write_chunk(single, 0, [fact("4")], [])
        store.publish(single)
        assert billed(store) == {"2024-05": Decimal("4")}

    def test_publishing_a_version_again_changes_nothing(self, store: FactStore) -> None:
        parts = [load() for _ in range(2)]
        for ref in parts:
            store.write_chunk(ref, 0, [fact("2")], [])
        store.publish(parts)
        assert store.publish([parts[1], parts[0], parts[1]]) == ["2024-05"]
        assert billed(store) == {"2024-05": Decimal("4")}

    def test_a_waiting_part_of_another_version_keeps_its_facts(self, store: FactStore) -> None:
        waiting = load()  # part 1 of a newer version, loaded while an older one publishes
        store.write_chunk(waiting, 0, [fact("100")], [])
        older = [load(), load()]
        for ref in older:
            store.write_chunk(ref, 0, [fact("1")], [])
        store.publish(older)
        assert billed(store) == {"2024-05": Decimal("2")}
        newer_rest = load()
        store.write_chunk(newer_rest, 0, [fact("200")], [])
        store.publish([waiting, newer_rest])
        assert billed(store) == {"2024-05": Decimal("300")}

    def test_loads_of_one_version_share_client_and_provider(self, store: FactStore) -> None:
        with pytest.raises(ValueError, match="share"):
            store.publish([load(), load(client="other")])

    def test_readers_never_see_a_mix_of_two_multi_load_versions(self, store: FactStore) -> None:
        def version(cost: str, tag: int) -> list[LoadRef]:
            refs = [load() for _ in range(3)]
            for ref in refs:
                store.write_chunk(ref, 0, [replace(fact(cost), sku_id=str(tag))] * 50, [])
            return refs

        store.publish(version("1", 0))
        seen: set[Decimal] = set()
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                seen.update(billed(store).values())

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for n in range(4):
                store.publish(version("2" if n % 2 == 0 else "1", n + 1))
        finally:
            stop.set()
            reader.join()
        assert seen <= {Decimal("150"), Decimal("300")}
        assert billed(store) == {"2024-05": Decimal("150")}

    # -- sweeping loads that will never be published -----------------------------------------

    def test_the_sweep_removes_old_orphans_only(self, store: FactStore) -> None:
        current = dated(timedelta(days=90))  # old, but current: kept
        store.write_chunk(current, 0, [fact("10")], [])
        store.publish(current)
        orphan = dated(timedelta(days=40))  # a part whose version never completed
        store.write_chunk(orphan, 0, [fact("100")], [Rejection(2, "BilledCost is empty")])
        store.write_chunk(orphan, 1, [fact("1", period="2024-06")], [])
        elsewhere = dated(timedelta(days=31, seconds=1), client="other", provider="azure")
        store.write_chunk(elsewhere, 0, [fact("5")], [])
        young = dated(timedelta(days=30, hours=23))  # a waiting part inside the TTL
        store.write_chunk(young, 0, [fact("3")], [])
        undated = load()  # no start time in its id: its age is unknown
        store.write_chunk(undated, 0, [fact("4")], [])

        assert store.sweep(CUTOFF) == 2
        gone = [store.summary(ref.load_id) for ref in (orphan, elsewhere)]
        assert [(s.chunks, s.accepted, s.rejected, s.totals, s.rejections) for s in gone] == [
            (0, 0, 0, [], [])
        ] * 2
        assert store.summary(current.load_id).totals[0].billed_cost == Decimal("10")
        assert store.summary(young.load_id).accepted == 1
        assert store.summary(undated.load_id).accepted == 1
        assert billed(store) == {"2024-05": Decimal("10")}
        assert store.sweep(CUTOFF) == 0  # nothing left to sweep
        store.publish(young)  # the kept part publishes whole later
        assert billed(store) == {"2024-05": Decimal("3")}

    def test_a_replaced_load_leaves_its_markers_to_the_sweep(self, store: FactStore) -> None:
        first, second = dated(timedelta(days=60)), dated(timedelta(days=50))
        store.write_chunk(first, 0, [fact("1")], [Rejection(3, "has 2 cells, the header 5")])
        store.publish(first)
        store.write_chunk(second, 0, [fact("2")], [])
        store.publish(second)  # first's facts go now, its marker and rejection stay
        assert store.summary(first.load_id).rejected == 1
        assert store.sweep(CUTOFF) == 1
        assert (store.summary(first.load_id).chunks, store.summary(first.load_id).rejections) == (
            0,
            [],
        )
        assert store.summary(second.load_id).accepted == 1
        assert billed(store) == {"2024-05": Decimal("2")}

    def test_a_scoped_sweep_touches_its_client_provider_and_periods(self, store: FactStore) -> None:
        old = timedelta(days=45)
        inside = dated(old)  # May and June: removed whole, June too
        store.write_chunk(inside, 0, [fact("1"), fact("1", period="2024-06")], [])
        other_period, other_provider, other_client = (
            dated(old), dated(old, provider="azure"), dated(old, client="other"),
        )  # fmt: skip
        store.write_chunk(other_period, 0, [fact("1", period="2024-04")], [])
        store.write_chunk(other_provider, 0, [fact("1")], [])
        store.write_chunk(other_client, 0, [fact("1")], [])
        assert store.sweep(CUTOFF, client_id="acme", provider="aws", periods=["2024-05"]) == 1
        assert store.summary(inside.load_id).chunks == 0
        for ref in (other_period, other_provider, other_client):
            assert store.summary(ref.load_id).accepted == 1
        assert store.sweep(CUTOFF, client_id="acme", provider="aws", periods=[]) == 0
        with pytest.raises(ValueError, match="scoped"):
            store.sweep(CUTOFF, client_id="acme")
        with pytest.raises(ValueError, match="tz-aware"):
            store.sweep(CUTOFF.replace(tzinfo=None))

    def test_a_reader_never_sees_a_sweep(self, store: FactStore) -> None:
        current = dated(timedelta(days=60))
        store.write_chunk(current, 0, [fact("1")] * 100, [])
        store.publish(current)
        seen: list[dict[str, Decimal]] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                seen.append(billed(store))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for n in range(5):
                orphans = [dated(timedelta(days=40 + n)) for _ in range(3)]
                for ref in orphans:
                    store.write_chunk(ref, 0, [replace(fact("7"), sku_id=str(n))] * 50, [])
                assert store.sweep(CUTOFF) == 3
        finally:
            stop.set()
            reader.join()
        assert seen
        assert all(totals == {"2024-05": Decimal("100")} for totals in seen)


class TestDuckDbFactStore(FactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FactStore:
        return DuckDbFactStore(tmp_path / "facts.duckdb")


@pytest.mark.postgres
class TestPostgresFactStore(FactStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[FactStore]:
        from sqlalchemy import create_engine, text

        from stratus.platform.relational import normalise_url
        from stratus.solutions.costs.adapters.postgres_facts import PostgresFactStore

        schema = f"costs_{uuid.uuid4().hex[:10]}"
        admin = create_engine(normalise_url(postgres_url))
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine(
            normalise_url(postgres_url), connect_args={"options": f"-csearch_path={schema}"}
        )
        store = PostgresFactStore(engine=engine)
        try:
            yield store
        finally:
            store.close()
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
