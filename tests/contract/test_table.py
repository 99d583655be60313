"""The TableStore contract: one suite, every adapter (SQLite on a real file, DynamoDB on moto)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    ConditionFailedError,
    InvalidRequestError,
    NotFoundError,
    PortError,
)
from stratus.platform.ports.table import (
    AllOf,
    AnyOf,
    Compare,
    ConditionCheck,
    Delete,
    Exists,
    IndexSpec,
    NotExists,
    Page,
    Put,
    SortKeyCondition,
    TableSpec,
    TableStore,
)

SPEC = TableSpec(
    name="contract-table",
    indexes={"GSI1": IndexSpec("Data1", "SK"), "GSI2": IndexSpec("Data2", "SK")},
    ttl_attribute="ttl",
    stream=True,
)

EVERY_VALUE_TYPE: dict[str, Any] = {
    "PK": "item#1",
    "SK": "meta",
    "text": "héllo ✓",
    "empty_text": "",
    "integer": 42,
    "negative": -7,
    "big_integer": 12345678901234567890123,
    "decimal": Decimal("3.14159"),
    "integral_decimal": Decimal("10"),
    "float": 0.1,
    "true": True,
    "false": False,
    "nothing": None,
    "raw": b"\x00\xffbytes",
    "list": [1, "two", None, [Decimal("3.5")], {"k": b"v"}],
    "empty_list": [],
    "map": {"nested": {"deeper": [True, 2]}, "$n": "a key with a dollar"},
    "empty_map": {},
}

EXPECTED_BACK: dict[str, Any] = {
    **EVERY_VALUE_TYPE,
    "integral_decimal": 10,
    "float": Decimal("0.1"),
}


def all_pages(table: TableStore, partition: Any, **kwargs: Any) -> tuple[list[Any], int]:
    """Every item of a query, following next_token; also how many pages it took."""
    items: list[Any] = []
    token = None
    pages = 0
    while True:
        page = table.query(partition, start=token, **kwargs)
        pages += 1
        items += page.items
        token = page.next_token
        if token is None:
            return items, pages


def sort_keys(page_or_items: Page | list[Any]) -> list[str]:
    items = page_or_items.items if isinstance(page_or_items, Page) else page_or_items
    return [item["SK"] for item in items]


class TableContract:
    """What every TableStore adapter does. Subclasses provide the ``table`` fixture."""

    @pytest.fixture
    def table(self) -> TableStore:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def call_on_missing_table(self) -> Callable[[], object]:  # pragma: no cover - overridden
        """A callable that makes one call on a table that does not exist."""
        raise NotImplementedError

    @pytest.fixture
    def orders(self, table: TableStore) -> TableStore:
        """GIVEN a customer with five orders, three open and two shipped; only shipped ones
        carry Data2 (the ship date), so GSI2 is sparse."""
        for n, status in enumerate(["open", "shipped", "open", "shipped", "open"], start=1):
            item: dict[str, Any] = {
                "PK": "customer#1",
                "SK": f"order#{n:03d}",
                "Data1": f"status#{status}",
                "total": n * 10,
            }
            if status == "shipped":
                item["Data2"] = f"2026-01-0{n}"
            table.put(item)
        table.put({"PK": "customer#2", "SK": "order#001", "Data1": "status#open"})
        table.put({"PK": "customer#1", "SK": "profile", "name": "Ada"})
        return table

    def test_the_adapter_implements_the_port(self, table: TableStore) -> None:
        assert isinstance(table, TableStore)
        assert table.spec == SPEC

    # ---- items --------------------------------------------------------------------------

    def test_an_item_of_every_value_type_round_trips(self, table: TableStore) -> None:
        table.put(EVERY_VALUE_TYPE)
        got = table.get({"PK": "item#1", "SK": "meta"})
        assert got == EXPECTED_BACK
        assert got is not None
        assert type(got["integral_decimal"]) is int
        assert type(got["float"]) is Decimal
        assert type(got["true"]) is bool
        assert type(got["raw"]) is bytes

    def test_getting_a_missing_item_returns_none(self, table: TableStore) -> None:
        assert table.get({"PK": "nobody", "SK": "nothing"}) is None

    def test_put_replaces_the_whole_item(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "old": 1})
        table.put({"PK": "a", "SK": "b", "new": 2})
        assert table.get({"PK": "a", "SK": "b"}) == {"PK": "a", "SK": "b", "new": 2}

    def test_delete_returns_the_old_item_then_none(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "v": 1})
        assert table.delete({"PK": "a", "SK": "b"}) == {"PK": "a", "SK": "b", "v": 1}
        assert table.get({"PK": "a", "SK": "b"}) is None
        assert table.delete({"PK": "a", "SK": "b"}) is None

    # ---- conditions ---------------------------------------------------------------------

    def test_conditional_put_on_an_existing_key_fails_and_writes_nothing(
        self, table: TableStore
    ) -> None:
        table.put({"PK": "a", "SK": "b", "v": 1}, condition=NotExists("PK"))
        with pytest.raises(ConditionFailedError):
            table.put({"PK": "a", "SK": "b", "v": 2}, condition=NotExists("PK"))
        assert table.get({"PK": "a", "SK": "b"}) == {"PK": "a", "SK": "b", "v": 1}

    def test_conditional_put_succeeds_when_the_comparison_holds(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "version": 1})
        table.put({"PK": "a", "SK": "b", "version": 2}, condition=Compare("version", "=", 1))
        with pytest.raises(ConditionFailedError):
            table.put({"PK": "a", "SK": "b", "version": 3}, condition=Compare("version", "=", 1))
        assert table.get({"PK": "a", "SK": "b"}) == {"PK": "a", "SK": "b", "version": 2}

    def test_comparisons_order_numbers_and_strings(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "n": 5, "s": "m"})
        for ok in [
            Compare("n", "<", 6),
            Compare("n", "<=", 5),
            Compare("n", ">", Decimal("4.5")),
            Compare("n", ">=", 5),
            Compare("n", "<>", 4),
            Compare("s", "<", "n"),
            Compare("missing", "<>", 1),
        ]:
            table.put({"PK": "a", "SK": "b", "n": 5, "s": "m"}, condition=ok)
        for failing in [
            Compare("n", ">", 5),
            Compare("n", "=", "5"),
            Compare("s", ">", "z"),
            Compare("missing", "=", 1),
            Compare("missing", "<", 1),
        ]:
            with pytest.raises(ConditionFailedError):
                table.put({"PK": "a", "SK": "b", "n": 5, "s": "m"}, condition=failing)

    def test_all_of_and_any_of_combine_conditions(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "state": "new", "tries": 0})
        table.update(
            {"PK": "a", "SK": "b"},
            set={"state": "claimed"},
            condition=AllOf((Exists("state"), Compare("state", "=", "new"))),
        )
        with pytest.raises(ConditionFailedError):
            table.update(
                {"PK": "a", "SK": "b"},
                set={"state": "stolen"},
                condition=AnyOf((NotExists("state"), Compare("state", "=", "new"))),
            )
        table.update(
            {"PK": "a", "SK": "b"},
            add={"tries": 1},
            condition=AnyOf((NotExists("state"), Compare("tries", "<", 3))),
        )
        assert table.get({"PK": "a", "SK": "b"}) == {
            "PK": "a",
            "SK": "b",
            "state": "claimed",
            "tries": 1,
        }

    def test_conditional_update_that_fails_writes_nothing(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "state": "done", "n": 1})
        with pytest.raises(ConditionFailedError):
            table.update(
                {"PK": "a", "SK": "b"},
                set={"state": "again"},
                add={"n": 1},
                condition=Compare("state", "=", "pending"),
            )
        assert table.get({"PK": "a", "SK": "b"}) == {"PK": "a", "SK": "b", "state": "done", "n": 1}

    def test_conditional_update_of_a_missing_item_fails_on_exists(self, table: TableStore) -> None:
        with pytest.raises(ConditionFailedError):
            table.update({"PK": "a", "SK": "b"}, set={"x": 1}, condition=Exists("PK"))
        assert table.get({"PK": "a", "SK": "b"}) is None

    def test_conditional_delete_that_fails_keeps_the_item(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "locked": True})
        with pytest.raises(ConditionFailedError):
            table.delete({"PK": "a", "SK": "b"}, condition=NotExists("locked"))
        assert table.get({"PK": "a", "SK": "b"}) == {"PK": "a", "SK": "b", "locked": True}
        assert table.delete({"PK": "a", "SK": "b"}, condition=Exists("locked")) is not None

    # ---- update -------------------------------------------------------------------------

    def test_update_creates_a_missing_item_and_adds_from_zero(self, table: TableStore) -> None:
        new = table.update({"PK": "c", "SK": "counter"}, add={"hits": 1}, set={"name": "home"})
        assert new == {"PK": "c", "SK": "counter", "hits": 1, "name": "home"}
        assert table.get({"PK": "c", "SK": "counter"}) == new

    def test_update_sets_removes_and_adds_and_returns_the_new_item(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "keep": 1, "drop": 2, "n": 10, "f": Decimal("1.5")})
        new = table.update(
            {"PK": "a", "SK": "b"},
            set={"keep": "changed", "added": [1, 2], "gone": None},
            remove=["drop"],
            add={"n": -3, "f": 0.25},
        )
        expected = {
            "PK": "a",
            "SK": "b",
            "keep": "changed",
            "added": [1, 2],
            "gone": None,
            "n": 7,
            "f": Decimal("1.75"),
        }
        assert new == expected
        assert table.get({"PK": "a", "SK": "b"}) == expected

    def test_update_of_a_key_attribute_is_an_invalid_request(self, table: TableStore) -> None:
        with pytest.raises(InvalidRequestError):
            table.update({"PK": "a", "SK": "b"}, set={"SK": "c"})

    def test_adding_to_a_string_is_an_invalid_request(self, table: TableStore) -> None:
        table.put({"PK": "a", "SK": "b", "s": "text"})
        with pytest.raises(InvalidRequestError):
            table.update({"PK": "a", "SK": "b"}, add={"s": 1})
        assert table.get({"PK": "a", "SK": "b"}) == {"PK": "a", "SK": "b", "s": "text"}

    # ---- queries ------------------------------------------------------------------------

    def test_query_returns_the_partition_in_sort_key_order(self, orders: TableStore) -> None:
        page = orders.query("customer#1")
        assert sort_keys(page) == [
            "order#001",
            "order#002",
            "order#003",
            "order#004",
            "order#005",
            "profile",
        ]
        assert page.next_token is None

    def test_query_of_an_empty_partition_is_an_empty_last_page(self, orders: TableStore) -> None:
        assert orders.query("customer#404") == Page(items=[], next_token=None)

    def test_begins_with_selects_by_sort_key_prefix(self, orders: TableStore) -> None:
        page = orders.query("customer#1", sort=SortKeyCondition.begins_with("order#"))
        assert len(page.items) == 5
        assert "profile" not in sort_keys(page)

    def test_between_is_inclusive_at_both_ends(self, orders: TableStore) -> None:
        page = orders.query("customer#1", sort=SortKeyCondition.between("order#002", "order#004"))
        assert sort_keys(page) == ["order#002", "order#003", "order#004"]

    def test_comparisons_on_the_sort_key(self, orders: TableStore) -> None:
        def keys(op: Any, value: str) -> list[str]:
            return sort_keys(orders.query("customer#1", sort=SortKeyCondition(op, value)))

        assert keys("<", "order#002") == ["order#001"]
        assert keys("<=", "order#002") == ["order#001", "order#002"]
        assert keys(">", "order#005") == ["profile"]
        assert keys(">=", "order#005") == ["order#005", "profile"]
        assert keys("=", "order#003") == ["order#003"]

    def test_backward_query_returns_the_highest_sort_keys_first(self, orders: TableStore) -> None:
        page = orders.query(
            "customer#1", sort=SortKeyCondition.begins_with("order#"), forward=False, limit=2
        )
        assert sort_keys(page) == ["order#005", "order#004"]
        rest = orders.query(
            "customer#1",
            sort=SortKeyCondition.begins_with("order#"),
            forward=False,
            start=page.next_token,
        )
        assert sort_keys(rest) == ["order#003", "order#002", "order#001"]

    def test_pagination_returns_every_item_exactly_once(self, orders: TableStore) -> None:
        items, pages = all_pages(orders, "customer#1", limit=2)
        assert sort_keys(items) == sort_keys(orders.query("customer#1"))
        assert pages >= 3

    def test_gsi1_finds_items_by_data1_ordered_by_sort_key(self, orders: TableStore) -> None:
        page = orders.query("status#open", index="GSI1")
        assert {i["PK"] for i in page.items} == {"customer#1", "customer#2"}
        assert sort_keys(page) == ["order#001", "order#001", "order#003", "order#005"]
        assert page.items[-1]["total"] == 50  # GSIs project every attribute

    def test_gsi1_supports_sort_key_conditions(self, orders: TableStore) -> None:
        page = orders.query(
            "status#open", index="GSI1", sort=SortKeyCondition(">", "order#001"), forward=False
        )
        assert sort_keys(page) == ["order#005", "order#003"]

    def test_gsi1_supports_begins_with_and_between(self, orders: TableStore) -> None:
        prefix = orders.query(
            "status#shipped", index="GSI1", sort=SortKeyCondition.begins_with("order#00")
        )
        assert sort_keys(prefix) == ["order#002", "order#004"]
        between = orders.query(
            "status#open", index="GSI1", sort=SortKeyCondition.between("order#002", "order#005")
        )
        assert sort_keys(between) == ["order#003", "order#005"]

    def test_gsi_queries_paginate(self, orders: TableStore) -> None:
        items, pages = all_pages(orders, "status#open", index="GSI1", limit=1)
        assert sorted((i["PK"], i["SK"]) for i in items) == [
            ("customer#1", "order#001"),
            ("customer#1", "order#003"),
            ("customer#1", "order#005"),
            ("customer#2", "order#001"),
        ]
        assert pages >= 4

    def test_gsi2_finds_items_by_data2(self, orders: TableStore) -> None:
        page = orders.query("2026-01-02", index="GSI2")
        assert sort_keys(page) == ["order#002"]

    def test_gsi2_is_sparse(self, orders: TableStore) -> None:
        for day in range(1, 6):
            for item in orders.query(f"2026-01-0{day}", index="GSI2").items:
                assert "Data2" in item
        assert orders.query("2026-01-01", index="GSI2").items == []
        orders.update({"PK": "customer#1", "SK": "order#002"}, remove=["Data2"])
        assert orders.query("2026-01-02", index="GSI2").items == []

    def test_an_index_follows_updates_of_its_key(self, orders: TableStore) -> None:
        orders.update({"PK": "customer#1", "SK": "order#001"}, set={"Data1": "status#shipped"})
        assert "order#001" in sort_keys(orders.query("status#shipped", index="GSI1"))
        assert sort_keys(orders.query("status#open", index="GSI1")).count("order#001") == 1

    def test_querying_an_unknown_index_is_an_invalid_request(self, orders: TableStore) -> None:
        with pytest.raises(InvalidRequestError):
            orders.query("x", index="GSI9")

    def test_a_garbled_next_token_is_an_invalid_request(self, orders: TableStore) -> None:
        with pytest.raises(InvalidRequestError):
            orders.query("customer#1", start="not a token!")

    # ---- transactions -------------------------------------------------------------------

    def test_transact_write_applies_every_op(self, table: TableStore) -> None:
        table.put({"PK": "acct", "SK": "old"})
        table.transact_write(
            [
                Put({"PK": "acct", "SK": "a", "v": 1}, condition=NotExists("PK")),
                Put({"PK": "acct", "SK": "b", "v": 2}),
                Delete({"PK": "acct", "SK": "old"}, condition=Exists("PK")),
            ]
        )
        assert sort_keys(table.query("acct")) == ["a", "b"]

    def test_transact_write_is_all_or_nothing(self, table: TableStore) -> None:
        table.put({"PK": "acct", "SK": "balance", "amount": 5})
        table.put({"PK": "acct", "SK": "doomed"})
        with pytest.raises(ConditionFailedError):
            table.transact_write(
                [
                    Put({"PK": "acct", "SK": "new", "v": 1}),
                    Delete({"PK": "acct", "SK": "doomed"}),
                    ConditionCheck(
                        {"PK": "acct", "SK": "balance"}, condition=Compare("amount", ">=", 10)
                    ),
                ]
            )
        assert sort_keys(table.query("acct")) == ["balance", "doomed"]

    def test_a_transaction_of_more_than_100_ops_is_an_invalid_request(
        self, table: TableStore
    ) -> None:
        ops = [Put({"PK": "bulk", "SK": f"{n:03d}"}) for n in range(101)]
        with pytest.raises(InvalidRequestError):
            table.transact_write(ops)
        assert table.query("bulk").items == []

    # ---- change stream ------------------------------------------------------------------

    def test_the_stream_records_inserts_modifications_and_removals_with_images(
        self, table: TableStore
    ) -> None:
        table.put({"PK": "s", "SK": "1", "v": 1})
        table.update({"PK": "s", "SK": "1"}, set={"v": 2})
        table.delete({"PK": "s", "SK": "1"})
        records = table.read_stream()
        assert [r.event_name for r in records] == ["INSERT", "MODIFY", "REMOVE"]
        insert, modify, remove = records
        assert insert.keys == {"PK": "s", "SK": "1"}
        assert insert.new_image == {"PK": "s", "SK": "1", "v": 1}
        assert insert.old_image is None
        assert modify.old_image == {"PK": "s", "SK": "1", "v": 1}
        assert modify.new_image == {"PK": "s", "SK": "1", "v": 2}
        assert remove.new_image is None
        assert remove.old_image == {"PK": "s", "SK": "1", "v": 2}
        assert not any(r.by_service for r in records)
        assert int(insert.sequence) < int(modify.sequence) < int(remove.sequence)

    def test_reading_the_stream_resumes_after_a_position(self, table: TableStore) -> None:
        for n in range(5):
            table.put({"PK": "s", "SK": str(n)})
        first = table.read_stream(limit=2)
        assert [r.keys["SK"] for r in first] == ["0", "1"]
        rest = table.read_stream(after=first[-1].sequence)
        assert [r.keys["SK"] for r in rest] == ["2", "3", "4"]
        assert table.read_stream(after=rest[-1].sequence) == []

    def test_a_failed_conditional_write_leaves_no_stream_record(self, table: TableStore) -> None:
        table.put({"PK": "s", "SK": "1"})
        with pytest.raises(ConditionFailedError):
            table.put({"PK": "s", "SK": "1", "v": 2}, condition=NotExists("PK"))
        assert [r.event_name for r in table.read_stream()] == ["INSERT"]

    # ---- TTL ----------------------------------------------------------------------------

    def test_expired_items_are_removed_by_the_service(
        self, table: TableStore, clock: FakeClock
    ) -> None:
        now = int(clock.now().timestamp())
        table.put({"PK": "session", "SK": "old", "ttl": now + 60})
        table.put({"PK": "session", "SK": "fresh", "ttl": now + 3600})
        table.put({"PK": "session", "SK": "forever"})
        clock.advance(120)
        assert table.expire() == 1
        assert sort_keys(table.query("session")) == ["forever", "fresh"]
        removal = table.read_stream()[-1]
        assert removal.event_name == "REMOVE"
        assert removal.by_service is True
        assert removal.keys == {"PK": "session", "SK": "old"}
        assert removal.old_image == {"PK": "session", "SK": "old", "ttl": now + 60}

    # ---- errors -------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "key",
        [
            {"PK": "only-partition"},
            {"SK": "only-sort"},
            {"PK": True, "SK": "x"},
            {"PK": ["a"], "SK": "x"},
            {"PK": "", "SK": "x"},
            {"PK": "a", "SK": None},
            {"PK": "a", "SK": "b", "extra": 1},
        ],
    )
    def test_a_bad_key_is_an_invalid_request(self, table: TableStore, key: dict[str, Any]) -> None:
        with pytest.raises(InvalidRequestError):
            table.get(key)

    def test_an_item_without_its_key_is_an_invalid_request(self, table: TableStore) -> None:
        with pytest.raises(InvalidRequestError):
            table.put({"SK": "x", "v": 1})
        with pytest.raises(InvalidRequestError):
            table.put({"PK": "x", "SK": 1.5j})

    @pytest.mark.parametrize("partition", [None, True, "", ["a"]])
    def test_querying_a_bad_partition_value_is_an_invalid_request(
        self, table: TableStore, partition: Any
    ) -> None:
        with pytest.raises(InvalidRequestError):
            table.query(partition)

    def test_a_missing_table_is_not_found(
        self, call_on_missing_table: Callable[[], object]
    ) -> None:
        with pytest.raises(NotFoundError):
            call_on_missing_table()


# ---- SQLite ---------------------------------------------------------------------------------


def _add_in_another_process(path: str, times: int) -> None:
    table = SqliteTableStore.open(Path(path), SPEC.name)
    for _ in range(times):
        table.update({"PK": "counter", "SK": "c"}, add={"n": 1})


class TestSqliteTableStore(TableContract):
    """The contract on a real SQLite file, plus what only a local store can show."""

    @pytest.fixture
    def path(self, tmp_path: Path) -> Path:
        return tmp_path / "tables.sqlite"

    @pytest.fixture
    def table(self, path: Path, clock: FakeClock) -> Iterator[SqliteTableStore]:
        store = SqliteTableStore(path, SPEC, clock=clock)
        yield store
        store.close()

    @pytest.fixture
    def call_on_missing_table(self, path: Path, table: SqliteTableStore) -> Callable[[], object]:
        return lambda: SqliteTableStore.open(path, "no-such-table").get({"PK": "a", "SK": "b"})

    def test_a_table_in_a_missing_file_is_not_found(self, path: Path) -> None:
        with pytest.raises(NotFoundError):
            SqliteTableStore.open(path.with_name("no-such-file.sqlite"), SPEC.name)

    def test_the_table_survives_reopening(self, path: Path, table: SqliteTableStore) -> None:
        table.put(EVERY_VALUE_TYPE)
        table.close()
        reopened = SqliteTableStore.open(path, SPEC.name)
        assert reopened.spec == SPEC
        assert reopened.get({"PK": "item#1", "SK": "meta"}) == EXPECTED_BACK
        assert [r.event_name for r in reopened.read_stream()] == ["INSERT"]
        reopened.close()

    def test_one_file_holds_many_tables(self, path: Path, table: SqliteTableStore) -> None:
        other = SqliteTableStore(path, TableSpec("other", sort_key=None))
        other.put({"PK": "x", "v": 1})
        table.put({"PK": "x", "SK": "y"})
        assert other.get({"PK": "x"}) == {"PK": "x", "v": 1}
        assert other.query("x").items == [{"PK": "x", "v": 1}]
        assert table.query("x").items == [{"PK": "x", "SK": "y"}]
        other.close()

    def test_reopening_a_table_with_another_spec_is_an_invalid_request(
        self, path: Path, table: SqliteTableStore
    ) -> None:
        with pytest.raises(InvalidRequestError):
            SqliteTableStore(path, TableSpec(SPEC.name, sort_key=None))

    @pytest.mark.parametrize(
        ("index", "sort"),
        [
            (None, None),
            (None, SortKeyCondition.begins_with("order#")),
            (None, SortKeyCondition.between("a", "b")),
            ("GSI1", None),
            ("GSI1", SortKeyCondition("<", "z")),
            ("GSI2", SortKeyCondition.begins_with("order#")),
        ],
    )
    def test_queries_search_an_index_and_never_scan_the_table(
        self, orders: SqliteTableStore, index: str | None, sort: SortKeyCondition | None
    ) -> None:
        token = orders.query("customer#1" if index is None else "x", index=index, limit=1)
        start = orders.query("status#open", index="GSI1", limit=1).next_token
        for start_token in (None, token.next_token if index is None else start):
            plan = orders.query_plan("x", index=index, sort=sort, start=start_token)
            assert "SCAN" not in plan
            assert "SEARCH" in plan
            if index is not None:
                assert f"i:{SPEC.name}:{index}" in plan

    def test_expiry_ignores_items_that_have_not_expired_and_non_numeric_ttls(
        self, table: SqliteTableStore, clock: FakeClock
    ) -> None:
        now = int(clock.now().timestamp())
        table.put({"PK": "t", "SK": "text-ttl", "ttl": str(now - 10)})
        table.put({"PK": "t", "SK": "exactly-now", "ttl": now})
        table.put({"PK": "t", "SK": "later", "ttl": Decimal(now) + Decimal("0.5")})
        table.put({"PK": "t", "SK": "ancient", "ttl": now - 6 * 365 * 24 * 3600})
        assert table.expire() == 1
        assert sort_keys(table.query("t")) == ["ancient", "later", "text-ttl"]
        assert table.expire() == 0

    def test_a_write_that_changes_nothing_leaves_no_stream_record(
        self, table: SqliteTableStore
    ) -> None:
        table.put({"PK": "s", "SK": "1", "a": 1, "b": 2})
        table.put({"PK": "s", "SK": "1", "b": 2, "a": 1})
        table.update({"PK": "s", "SK": "1"}, set={"a": 1})
        assert [r.event_name for r in table.read_stream()] == ["INSERT"]

    def test_numbers_and_binary_work_as_keys(self, path: Path) -> None:
        numbers = SqliteTableStore(path, TableSpec("numbers", partition_key="id", sort_key="at"))
        for at in [10, 2, Decimal("2.5"), -1]:
            numbers.put({"id": b"\x01", "at": at})
        assert [i["at"] for i in numbers.query(b"\x01").items] == [-1, 2, Decimal("2.5"), 10]
        between = numbers.query(b"\x01", sort=SortKeyCondition.between(2, 3)).items
        assert [i["at"] for i in between] == [2, Decimal("2.5")]
        numbers.close()

    def test_begins_with_handles_prefixes_at_the_edge_of_unicode(
        self, table: SqliteTableStore
    ) -> None:
        for sk in ["a\U0010ffff", "a\U0010ffffz", "b", "a\ud7ff", "a\ue000"]:
            table.put({"PK": "u", "SK": sk})
        edge = table.query("u", sort=SortKeyCondition.begins_with("a\U0010ffff"))
        assert sort_keys(edge) == ["a\U0010ffff", "a\U0010ffffz"]
        below = table.query("u", sort=SortKeyCondition.begins_with("a\ud7ff"))
        assert sort_keys(below) == ["a\ud7ff"]

    def test_concurrent_threads_never_lose_an_update(self, table: SqliteTableStore) -> None:
        def work() -> None:
            for _ in range(25):
                table.update({"PK": "counter", "SK": "c"}, add={"n": 1})

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert table.get({"PK": "counter", "SK": "c"}) == {"PK": "counter", "SK": "c", "n": 100}

    def test_concurrent_processes_never_lose_an_update(
        self, path: Path, table: SqliteTableStore
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_add_in_another_process, args=(str(path), 20)) for _ in "ab"]
        for p in procs:
            p.start()
        for _ in range(20):
            table.update({"PK": "counter", "SK": "c"}, add={"n": 1})
        for p in procs:
            p.join()
            assert p.exitcode == 0
        assert table.get({"PK": "counter", "SK": "c"}) == {"PK": "counter", "SK": "c", "n": 60}

    def test_a_corrupt_file_raises_a_port_error_not_a_sqlite_error(self, tmp_path: Path) -> None:
        corrupt = tmp_path / "corrupt.sqlite"
        corrupt.write_bytes(b"this is not a database, just some bytes" * 200)
        with pytest.raises(PortError) as caught:
            SqliteTableStore(corrupt, SPEC)
        assert not isinstance(caught.value, sqlite3.Error)
        with pytest.raises(PortError):
            SqliteTableStore.open(corrupt, SPEC.name)

    def test_a_file_that_goes_bad_under_an_open_store_raises_port_errors(
        self, path: Path, table: SqliteTableStore
    ) -> None:
        table.put({"PK": "a", "SK": "b"})
        table.close()
        path.write_bytes(b"garbage" * 4096)
        for wal in path.parent.glob(path.name + "-*"):
            wal.unlink()
        for call in (
            lambda: table.get({"PK": "a", "SK": "b"}),
            lambda: table.put({"PK": "a", "SK": "c"}),
            lambda: table.query("a"),
            table.read_stream,
            table.expire,
        ):
            with pytest.raises(PortError):
                call()

    def test_a_directory_in_place_of_the_file_raises_a_port_error(self, tmp_path: Path) -> None:
        with pytest.raises(PortError):
            SqliteTableStore(tmp_path, SPEC)

    @pytest.mark.skipif(
        hasattr(os, "geteuid") and os.geteuid() == 0,
        reason="running as root: file permissions do not make a file read-only",
    )
    def test_a_read_only_file_raises_a_port_error_on_write(
        self, path: Path, table: SqliteTableStore
    ) -> None:
        table.close()
        path.chmod(0o444)
        try:
            with pytest.raises(PortError):
                SqliteTableStore(path, SPEC).put({"PK": "a", "SK": "b"})
        finally:
            path.chmod(0o644)


# ---- DynamoDB on moto -----------------------------------------------------------------------


class TestDynamoDbTableStore(TableContract):
    """The contract on moto's DynamoDB and DynamoDB Streams."""

    @pytest.fixture
    def table(self, moto_aws: None) -> TableStore:
        import boto3

        from stratus.platform.adapters.aws.table import (
            DynamoDbTableStore,
            dynamodb_create_table_kwargs,
        )

        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**dynamodb_create_table_kwargs(SPEC))
        client.update_time_to_live(
            TableName=SPEC.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
        )
        # botocore routes DescribeStream to the account endpoint taken from the stream ARN
        # (<account>.streams-ddb.<region>.amazonaws.com), which moto does not intercept: point
        # the streams client at the regional endpoint moto serves.
        streams = boto3.client(
            "dynamodbstreams",
            region_name="us-east-1",
            endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com",
        )
        return DynamoDbTableStore(SPEC.name, SPEC, client=client, streams_client=streams)

    @pytest.fixture
    def store_without_table(self, moto_aws: None) -> TableStore:
        import boto3

        from stratus.platform.adapters.aws.table import DynamoDbTableStore

        client = boto3.client("dynamodb", region_name="us-east-1")
        return DynamoDbTableStore("no-such-table", SPEC, client=client)

    @pytest.fixture
    def call_on_missing_table(self, store_without_table: TableStore) -> Callable[[], object]:
        return lambda: store_without_table.get({"PK": "a", "SK": "b"})

    def test_every_call_on_a_missing_table_raises_not_found(
        self, store_without_table: TableStore
    ) -> None:
        for call in (
            lambda: store_without_table.get({"PK": "a", "SK": "b"}),
            lambda: store_without_table.put({"PK": "a", "SK": "b"}),
            lambda: store_without_table.query("a"),
            store_without_table.read_stream,
        ):
            with pytest.raises(NotFoundError) as caught:
                call()
            assert type(caught.value).__module__.startswith("stratus.")

    def test_expired_items_are_removed_by_the_service(
        self, table: TableStore, clock: FakeClock
    ) -> None:
        pytest.skip(
            "moto does not run the DynamoDB TTL process; the TTL REMOVE record shape is covered "
            "by tests/unit/test_dynamodb_events.py on a real-shaped stream event"
        )

    def test_an_unreachable_endpoint_is_backend_unavailable(self, aws_env: None) -> None:
        import boto3
        from botocore.config import Config

        from stratus.platform.adapters.aws.table import DynamoDbTableStore

        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",  # loopback discard port: nothing listens
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2),
        )
        with pytest.raises(BackendUnavailableError):
            DynamoDbTableStore(SPEC.name, SPEC, client=client).get({"PK": "a", "SK": "b"})

    def test_expire_is_left_to_the_service(self, table: TableStore) -> None:
        table.put({"PK": "session", "SK": "old", "ttl": 1})
        assert table.expire() == 0

    def test_create_table_kwargs_declare_indexes_and_stream(self) -> None:
        from stratus.platform.adapters.aws.table import dynamodb_create_table_kwargs

        kwargs = dynamodb_create_table_kwargs(SPEC, attribute_types={"Data2": "N"})
        assert kwargs["BillingMode"] == "PAY_PER_REQUEST"
        assert kwargs["StreamSpecification"] == {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        assert {g["IndexName"] for g in kwargs["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2"}
        assert all(
            g["Projection"] == {"ProjectionType": "ALL"} for g in kwargs["GlobalSecondaryIndexes"]
        )
        assert {"AttributeName": "Data2", "AttributeType": "N"} in kwargs["AttributeDefinitions"]
        assert len(kwargs["AttributeDefinitions"]) == 4
