"""TableStore port: a DynamoDB-shaped table with secondary indexes, TTL and a change stream.

Semantics every adapter honours (pinned down by tests/contract/test_table.py):

* An item is a ``dict[str, Any]`` of JSON-like values: str, int, Decimal, bool, None, bytes,
  list and dict. Numbers come back as ``int`` when integral, else ``Decimal``; a ``float``
  written is stored as ``Decimal(str(value))``.
* The primary key is the spec's partition key plus an optional sort key. Secondary indexes
  (``GSI1`` on ``Data1``, ``GSI2`` on ``Data2`` in our single-table designs) are sparse: an item
  without the index's partition attribute is not in that index.
* ``put``/``update``/``delete`` take an optional :class:`Condition`; when it does not hold the
  write is not made and :class:`~stratus.platform.ports.errors.ConditionFailedError` is raised.
* ``query`` returns one :class:`Page`; ``Page.next_token`` is opaque and is passed back as
  ``start`` to continue. Sort-key conditions: equals, begins_with, between, <, <=, >, >=.
* Items whose TTL attribute (epoch seconds) lies in the past are deleted by the service; each
  such deletion appears in the change stream with ``by_service=True`` (DynamoDB's
  ``userIdentity.principalId == "dynamodb.amazonaws.com"``). DynamoDB may do this up to two
  days late; the local adapter does it when ``expire`` is called (the runtime calls it on a
  schedule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

Item: TypeAlias = dict[str, Any]
Key: TypeAlias = Mapping[str, Any]


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index: its partition key attribute and optional sort key attribute."""

    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """The shape of a table, as declared in the SAM template (AWS::DynamoDB::Table)."""

    name: str
    partition_key: str = "PK"
    sort_key: str | None = "SK"
    indexes: Mapping[str, IndexSpec] = field(default_factory=dict)
    ttl_attribute: str | None = None
    stream: bool = False


# ---- conditions -----------------------------------------------------------------------------

Comparison: TypeAlias = Literal["=", "<>", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Exists:
    """attribute_exists(attribute)"""

    attribute: str


@dataclass(frozen=True)
class NotExists:
    """attribute_not_exists(attribute)"""

    attribute: str


@dataclass(frozen=True)
class Compare:
    """attribute <op> value"""

    attribute: str
    op: Comparison
    value: Any


@dataclass(frozen=True)
class AllOf:
    """Every condition holds."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one condition holds."""

    conditions: tuple[Condition, ...]


Condition: TypeAlias = Exists | NotExists | Compare | AllOf | AnyOf


# ---- key conditions on the sort key ---------------------------------------------------------


@dataclass(frozen=True)
class SortKeyCondition:
    """A condition on the sort key of a query.

    ``op`` is one of ``=``, ``<``, ``<=``, ``>``, ``>=``, ``begins_with``, ``between``
    (inclusive, uses ``upper``)."""

    op: Literal["=", "<", "<=", ">", ">=", "begins_with", "between"]
    value: Any
    upper: Any = None

    @classmethod
    def equals(cls, value: Any) -> SortKeyCondition:
        return cls("=", value)

    @classmethod
    def begins_with(cls, prefix: str) -> SortKeyCondition:
        return cls("begins_with", prefix)

    @classmethod
    def between(cls, lower: Any, upper: Any) -> SortKeyCondition:
        return cls("between", lower, upper)


@dataclass(frozen=True)
class Page:
    """One page of query results; ``next_token`` is None on the last page."""

    items: list[Item]
    next_token: str | None = None


# ---- writes in a transaction ----------------------------------------------------------------


@dataclass(frozen=True)
class Put:
    item: Item
    condition: Condition | None = None


@dataclass(frozen=True)
class Delete:
    key: Key
    condition: Condition | None = None


@dataclass(frozen=True)
class ConditionCheck:
    key: Key
    condition: Condition


WriteOp: TypeAlias = Put | Delete | ConditionCheck


# ---- change stream --------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamRecord:
    """One change, as DynamoDB Streams reports it with NEW_AND_OLD_IMAGES.

    ``by_service`` is True for deletions made by the TTL process rather than by a caller.
    ``sequence`` is an opaque, increasing position used to resume reading.
    """

    sequence: str
    event_name: Literal["INSERT", "MODIFY", "REMOVE"]
    keys: Item
    new_image: Item | None
    old_image: Item | None
    by_service: bool = False


@runtime_checkable
class TableStore(Protocol):
    """One table. See the module docstring for the semantics every adapter keeps."""

    spec: TableSpec

    def put(self, item: Item, *, condition: Condition | None = None) -> None:
        """Create or replace the item with the same key."""
        ...

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        """The item with this key, or None."""
        ...

    def update(
        self,
        key: Key,
        *,
        set: Mapping[str, Any] | None = None,
        remove: Sequence[str] = (),
        add: Mapping[str, int | float] | None = None,
        condition: Condition | None = None,
    ) -> Item:
        """Update attributes of the item (creating it when missing) and return the new item.

        ``add`` increments numbers atomically (a missing attribute counts as 0)."""
        ...

    def delete(self, key: Key, *, condition: Condition | None = None) -> Item | None:
        """Delete the item; return the old item, or None when there was none."""
        ...

    def query(
        self,
        partition: Any,
        *,
        index: str | None = None,
        sort: SortKeyCondition | None = None,
        limit: int | None = None,
        start: str | None = None,
        forward: bool = True,
    ) -> Page:
        """Items with this partition key value (in ``index`` when given), ordered by sort key."""
        ...

    def transact_write(self, ops: Sequence[WriteOp]) -> None:
        """Apply every op or none (at most 100). A failed condition raises ConditionFailedError."""
        ...

    def read_stream(self, after: str | None = None, limit: int = 100) -> list[StreamRecord]:
        """Change records after position ``after`` (from the start when None), oldest first."""
        ...

    def expire(self) -> int:
        """Delete items whose TTL has passed, as the TTL process does; return how many.

        On DynamoDB the service does this itself and the adapter returns 0."""
        ...
