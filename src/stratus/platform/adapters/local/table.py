"""SqliteTableStore: the TableStore port on one SQLite file (the local stand-in for DynamoDB).

Layout of the file:

* ``_stratus_tables(name, spec)`` — a catalog: one row per table with its spec as JSON, so
  :meth:`SqliteTableStore.open` can reopen a table by name.
* ``"t:<name>"`` — the items: columns for the partition key, the sort key, each index's keys
  and the TTL number, plus the whole item as JSON (``WITHOUT ROWID``, primary key (pk, sk)).
  Each GSI is a *partial* SQLite index ``WHERE "gpk:<index>" IS NOT NULL``: sparse, as on
  DynamoDB, and every Query is an index SEARCH, never a table scan.
* ``"s:<name>"`` — the change stream: one row per write (INSERT/MODIFY/REMOVE, old/new images),
  appended in the same transaction as the write; AUTOINCREMENT keeps sequences increasing.

Concurrency: WAL journal, one connection per thread (and per process after a fork), a busy
timeout, and every write inside ``BEGIN IMMEDIATE`` so a condition is checked and the write made
under the same write lock, as DynamoDB does per item.

Where this departs from DynamoDB (on purpose, for a one-machine store):

* Key attribute types are not declared (TableSpec has no types): a key may be a non-empty str,
  bytes, or a number. Numbers are stored as SQLite INTEGER when they fit 64 bits, else REAL, so
  two key numbers that differ only beyond ~15 significant digits collide (DynamoDB keeps 38).
* Reads are always strongly consistent (GSI queries on DynamoDB are eventually consistent).
* TTL deletions happen when :meth:`expire` is called (the runtime calls it on a schedule);
  DynamoDB does it in the background, typically within a few days.
* The change stream is kept forever (DynamoDB keeps 24 hours).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, cast

from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.events.dynamodb import to_number
from stratus.platform.ports.clock import Clock
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
    Condition,
    ConditionCheck,
    Delete,
    Exists,
    IndexSpec,
    Item,
    Key,
    NotExists,
    Page,
    Put,
    SortKeyCondition,
    StreamRecord,
    TableSpec,
    TableStore,
    WriteOp,
)

__all__ = ["SqliteTableStore", "decode_item", "encode_item"]

P = ParamSpec("P")
R = TypeVar("R")

# DynamoDB's rule for table and index names.
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# DynamoDB's TTL process ignores expiry times more than five years in the past.
_TTL_MAX_AGE_S = 5 * 365 * 24 * 3600
# DynamoDB stops a Query page at 1 MB of items; we count the JSON size of the items.
_PAGE_BYTES = 1024 * 1024
_MAX_TRANSACT = 100
_BUSY_TIMEOUT_S = 30.0
_EXPIRE_BATCH = 500


# ---- item encoding --------------------------------------------------------------------------
#
# Items are stored as JSON. str, int, bool, None, list and dict map to JSON directly; the rest is
# tagged as a one-key object: {"$n": "1.5"} for a non-integral number, {"$b": "<base64>"} for
# bytes. A dict key of the item that starts with "$" is escaped with a second "$", so tags and
# data never collide. Floats are stored as Decimal(str(value)), as the port requires.

_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _enc_number(value: float | Decimal) -> Any:
    num = to_number(value)
    return num if type(num) is int else {"$n": str(num)}


def _enc_key(key: Any) -> str:
    if type(key) is not str:
        if isinstance(key, str):
            key = str(key)
        else:
            raise InvalidRequestError(f"attribute names must be str, got {type(key).__name__}")
    return "$" + cast(str, key) if key[:1] == "$" else cast(str, key)


def _enc(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is dict:
        return {_enc_key(k): _enc(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [_enc(v) for v in value]
    if t is float or t is Decimal:
        return _enc_number(value)
    if t is bytes:
        return {"$b": base64.b64encode(value).decode("ascii")}
    # Subclasses (IntEnum, str enums, OrderedDict, bytearray...) take the slow path.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        return _enc_number(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {_enc_key(k): _enc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_enc(v) for v in value]
    raise InvalidRequestError(f"unsupported attribute value type: {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((k, v),) = obj.items()
        if k == "$n":
            return Decimal(v)
        if k == "$b":
            return base64.b64decode(v)
    if any(k[:1] == "$" for k in obj):
        return {k[1:] if k[:1] == "$" else k: v for k, v in obj.items()}
    return obj


_DECODER = json.JSONDecoder(object_hook=_hook)
_PLAIN_DECODER = json.JSONDecoder()


def encode_item(item: Mapping[str, Any]) -> str:
    """An item as the JSON text stored in the table (round-trips with :func:`decode_item`)."""
    try:
        return _ENCODER.encode(_enc(item))
    except ValueError as exc:  # NaN, circular reference
        raise InvalidRequestError(f"item cannot be stored: {exc}") from exc


def decode_item(text: str) -> Item:
    """The inverse of :func:`encode_item`."""
    if '"$' in text:
        return cast(Item, _DECODER.decode(text))
    return cast(Item, _PLAIN_DECODER.decode(text))


def _canon(value: Any) -> str:
    """A canonical text of a value: equal texts iff DynamoDB considers the values equal."""
    return json.dumps(_enc(value), sort_keys=True, separators=(",", ":"))


# ---- key columns ----------------------------------------------------------------------------

KeyCol = str | int | float | bytes


def _key_col(value: Any, attribute: str, where: str = "key") -> KeyCol:
    """The SQLite column value of a key attribute (str, bytes or number; never empty)."""
    t = type(value)
    if t is str:
        if not value:
            raise InvalidRequestError(f"{where} attribute {attribute!r} cannot be an empty string")
        return cast(str, value)
    if t is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return cast(int, value)
        return float(value)
    if t is bytes:
        if not value:
            raise InvalidRequestError(f"{where} attribute {attribute!r} cannot be empty bytes")
        return cast(bytes, value)
    if t is float or t is Decimal:
        num = to_number(value)
        return _key_col(num, attribute, where) if type(num) is int else float(num)
    if isinstance(value, bool) or value is None:
        raise InvalidRequestError(
            f"{where} attribute {attribute!r} must be a string, number or binary, got {value!r}"
        )
    if isinstance(value, str):
        return _key_col(str(value), attribute, where)
    if isinstance(value, int):
        return _key_col(int(value), attribute, where)
    if isinstance(value, bytes | bytearray | memoryview):
        return _key_col(bytes(value), attribute, where)
    raise InvalidRequestError(
        f"{where} attribute {attribute!r} must be a string, number or binary, "
        f"got {type(value).__name__}"
    )


def _prefix_upper(prefix: str | bytes) -> str | bytes | None:
    """The smallest value greater than every value starting with ``prefix`` (same type).

    SQLite compares TEXT with memcmp on UTF-8, i.e. in code point order, as DynamoDB does."""
    if isinstance(prefix, str):
        chars = list(prefix)
        while chars:
            cp = ord(chars[-1]) + 1
            if cp == 0xD800:  # skip the surrogates, which UTF-8 cannot encode
                cp = 0xE000
            if cp <= 0x10FFFF:
                chars[-1] = chr(cp)
                return "".join(chars)
            chars.pop()
        return b""  # every TEXT value sorts before every BLOB in SQLite
    raw = bytearray(prefix)
    while raw:
        if raw[-1] < 0xFF:
            raw[-1] += 1
            return bytes(raw)
        raw.pop()
    return None


# ---- conditions -----------------------------------------------------------------------------

_MISSING = object()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int | float | Decimal):
        return "N"
    if isinstance(value, str):
        return "S"
    if isinstance(value, bytes | bytearray | memoryview):
        return "B"
    return "other"


def _compare(actual: Any, op: str, expected: Any) -> bool:
    # As DynamoDB: a comparison with a missing attribute is false, except "<>" which is true;
    # values of different types are unequal and never ordered.
    if actual is _MISSING:
        return op == "<>"
    if op in ("=", "<>"):
        same = _kind(actual) == _kind(expected) and _canon(actual) == _canon(expected)
        return same if op == "=" else not same
    kind = _kind(actual)
    if kind != _kind(expected) or kind not in ("N", "S", "B"):
        return False
    a: Any
    b: Any
    if kind == "N":
        a, b = Decimal(str(actual)), Decimal(str(expected))
    elif kind == "B":
        a, b = bytes(actual), bytes(expected)
    else:
        a, b = actual, expected
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise InvalidRequestError(f"unknown comparison operator {op!r}")


def _holds(condition: Condition, item: Item | None) -> bool:
    if isinstance(condition, Exists):
        return item is not None and condition.attribute in item
    if isinstance(condition, NotExists):
        return item is None or condition.attribute not in item
    if isinstance(condition, Compare):
        actual = _MISSING if item is None else item.get(condition.attribute, _MISSING)
        return _compare(actual, condition.op, condition.value)
    if isinstance(condition, AllOf):
        return all(_holds(c, item) for c in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(_holds(c, item) for c in condition.conditions)
    raise InvalidRequestError(f"unknown condition {condition!r}")


def _check(condition: Condition | None, item: Item | None) -> None:
    if condition is not None and not _holds(condition, item):
        raise ConditionFailedError(f"the conditional request failed: {condition}")


# ---- error translation ----------------------------------------------------------------------


def _translate_sqlite(exc: BaseException) -> PortError:
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError | sqlite3.DataError):
        return InvalidRequestError(f"invalid request to the SQLite table: {exc}")
    if isinstance(exc, sqlite3.IntegrityError):
        return InvalidRequestError(f"integrity error in the SQLite table: {exc}")
    if isinstance(exc, OverflowError | UnicodeError):
        return InvalidRequestError(f"value cannot be stored: {exc}")
    return BackendUnavailableError(f"SQLite table unavailable: {exc}")


def _translated(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` and turn sqlite3/OS errors into port errors."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (sqlite3.Error, OSError, OverflowError, UnicodeError) as exc:
            raise _translate_sqlite(exc) from exc

    return wrapper


# ---- spec (de)serialisation -----------------------------------------------------------------


def _spec_to_dict(spec: TableSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "partition_key": spec.partition_key,
        "sort_key": spec.sort_key,
        "indexes": {
            name: {"partition_key": ix.partition_key, "sort_key": ix.sort_key}
            for name, ix in sorted(spec.indexes.items())
        },
        "ttl_attribute": spec.ttl_attribute,
        "stream": spec.stream,
    }


def _spec_from_dict(data: Mapping[str, Any]) -> TableSpec:
    return TableSpec(
        name=data["name"],
        partition_key=data["partition_key"],
        sort_key=data["sort_key"],
        indexes={
            name: IndexSpec(ix["partition_key"], ix["sort_key"])
            for name, ix in data["indexes"].items()
        },
        ttl_attribute=data["ttl_attribute"],
        stream=bool(data["stream"]),
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class _IndexCols:
    name: str
    spec: IndexSpec
    pk_col: str
    sk_col: str


class _Local(threading.local):
    """Per-thread connection, remembering the process that opened it."""

    conn: sqlite3.Connection | None = None
    pid: int = 0


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path), timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: durable across application crashes; a power cut may lose the last commits.
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteTableStore:
    """The TableStore port on a SQLite file: one SQL table per TableSpec, many per file.

    Safe to share between threads (one connection per thread) and between processes (WAL,
    busy timeout, ``BEGIN IMMEDIATE`` writes). ``clock`` drives TTL expiry (default: system).
    """

    def __init__(self, path: Path, spec: TableSpec, *, clock: Clock | None = None) -> None:
        _validate_spec(spec)
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        self._local = _Local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        try:
            self.spec = self._register(spec)
        except BaseException:
            self.close()
            raise
        self._setup_sql()

    # ---- construction -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, name: str, *, clock: Clock | None = None) -> SqliteTableStore:
        """Reopen the table ``name`` of the file at ``path`` with its recorded spec.

        Raises NotFoundError when the file or the table does not exist."""
        path = Path(path)
        if not path.is_file():
            raise NotFoundError(f"no table store file at {path}")
        try:
            conn = _connect(path)
            try:
                row = conn.execute(
                    "SELECT spec FROM _stratus_tables WHERE name = ?", (name,)
                ).fetchone()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    row = None
                else:
                    raise
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise _translate_sqlite(exc) from exc
        if row is None:
            raise NotFoundError(f"table {name!r} does not exist in {path}")
        return cls(path, _spec_from_dict(json.loads(row[0])), clock=clock)

    @_translated
    def _register(self, spec: TableSpec) -> TableSpec:
        conn = self._conn()
        wanted = _spec_to_dict(spec)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _stratus_tables (name TEXT PRIMARY KEY, spec TEXT)"
            )
            row = conn.execute(
                "SELECT spec FROM _stratus_tables WHERE name = ?", (spec.name,)
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO _stratus_tables (name, spec) VALUES (?, ?)",
                    (spec.name, json.dumps(wanted)),
                )
            elif json.loads(row[0]) != wanted:
                raise InvalidRequestError(
                    f"table {spec.name!r} already exists in {self.path} with another spec: {row[0]}"
                )
            for statement in self._ddl(spec):
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return spec

    def _ddl(self, spec: TableSpec) -> list[str]:
        items = _quote(f"t:{spec.name}")
        cols = ["pk NOT NULL", "sk NOT NULL"]
        statements = []
        for name in sorted(spec.indexes):
            pk_col, sk_col = _quote(f"gpk:{name}"), _quote(f"gsk:{name}")
            cols += [pk_col, sk_col]
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {_quote(f'i:{spec.name}:{name}')} ON {items} "
                f"({pk_col}, {sk_col}, pk, sk) WHERE {pk_col} IS NOT NULL"
            )
        cols += ["ttl", "item TEXT NOT NULL", "PRIMARY KEY (pk, sk)"]
        statements.insert(
            0, f"CREATE TABLE IF NOT EXISTS {items} ({', '.join(cols)}) WITHOUT ROWID"
        )
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {_quote(f'x:{spec.name}')} ON {items} (ttl) "
            "WHERE ttl IS NOT NULL"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {_quote(f's:{spec.name}')} ("
            "seq INTEGER PRIMARY KEY AUTOINCREMENT, event_name TEXT NOT NULL, keys TEXT NOT NULL, "
            "new_image TEXT, old_image TEXT, by_service INTEGER NOT NULL, created REAL NOT NULL)"
        )
        return statements

    def _setup_sql(self) -> None:
        spec = self.spec
        self._items = _quote(f"t:{spec.name}")
        self._stream = _quote(f"s:{spec.name}")
        self._indexes = {
            name: _IndexCols(name, ix, _quote(f"gpk:{name}"), _quote(f"gsk:{name}"))
            for name, ix in sorted(spec.indexes.items())
        }
        index_cols = [c for ix in self._indexes.values() for c in (ix.pk_col, ix.sk_col)]
        all_cols = ["pk", "sk", *index_cols, "ttl", "item"]
        self._sql_put = (
            f"INSERT OR REPLACE INTO {self._items} ({', '.join(all_cols)}) "
            f"VALUES ({', '.join('?' for _ in all_cols)})"
        )
        self._sql_get = f"SELECT item FROM {self._items} WHERE pk = ? AND sk = ?"
        self._sql_delete = f"DELETE FROM {self._items} WHERE pk = ? AND sk = ?"
        self._sql_stream_add = (
            f"INSERT INTO {self._stream} "
            "(event_name, keys, new_image, old_image, by_service, created) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._query_sql: dict[tuple[Any, ...], str] = {}

    # ---- connections ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        conn = local.conn
        if conn is None or local.pid != os.getpid():
            # First use in this thread, or first use in a forked child: never share a
            # connection across a fork.
            conn = _connect(self.path)
            local.conn, local.pid = conn, os.getpid()
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened (call when no thread uses it any more)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):  # closing is best effort
                conn.close()
        self._local = _Local()

    # ---- helpers ----------------------------------------------------------------------------

    def _key_cols(self, key: Key) -> tuple[KeyCol, KeyCol]:
        spec = self.spec
        try:
            pk_value = key[spec.partition_key]
        except KeyError:
            raise InvalidRequestError(
                f"the key lacks the partition key attribute {spec.partition_key!r}"
            ) from None
        pk = _key_col(pk_value, spec.partition_key)
        if spec.sort_key is None:
            return pk, ""
        try:
            sk_value = key[spec.sort_key]
        except KeyError:
            raise InvalidRequestError(
                f"the key lacks the sort key attribute {spec.sort_key!r}"
            ) from None
        return pk, _key_col(sk_value, spec.sort_key)

    def _exact_key(self, key: Key) -> tuple[KeyCol, KeyCol]:
        """Key columns of a ``key`` argument: the key attributes and nothing else."""
        names = {self.spec.partition_key}
        if self.spec.sort_key is not None:
            names.add(self.spec.sort_key)
        extra = set(key) - names
        if extra:
            raise InvalidRequestError(
                f"the key has attributes that are not part of the table key: {sorted(extra)}"
            )
        return self._key_cols(key)

    def _row(self, item: Item) -> tuple[tuple[KeyCol, KeyCol], list[Any], str]:
        """(key columns, every column of the row, item JSON) for ``item``."""
        key = self._key_cols(item)
        params: list[Any] = [key[0], key[1]]
        for ix in self._indexes.values():
            value = item.get(ix.spec.partition_key)
            if value is None and ix.spec.partition_key not in item:
                params += [None, None]
                continue
            gpk = _key_col(value, ix.spec.partition_key, f"index {ix.name} key")
            if ix.spec.sort_key is None:
                params += [gpk, None]
                continue
            if ix.spec.sort_key not in item:
                # Sparse: an item lacking either index key attribute is not in the index.
                params += [None, None]
                continue
            gsk = _key_col(item[ix.spec.sort_key], ix.spec.sort_key, f"index {ix.name} key")
            params += [gpk, gsk]
        ttl: Any = None
        if self.spec.ttl_attribute is not None:
            raw = item.get(self.spec.ttl_attribute)
            # DynamoDB ignores a TTL attribute that is not a number.
            if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
                ttl = float(raw)
        text = encode_item(item)
        params += [ttl, text]
        return key, params, text

    def _load(self, conn: sqlite3.Connection, key: tuple[KeyCol, KeyCol]) -> str | None:
        row = conn.execute(self._sql_get, key).fetchone()
        return None if row is None else cast(str, row[0])

    def _keys_of(self, item: Item) -> Item:
        keys = {self.spec.partition_key: item[self.spec.partition_key]}
        if self.spec.sort_key is not None:
            keys[self.spec.sort_key] = item[self.spec.sort_key]
        return keys

    def _record(
        self,
        conn: sqlite3.Connection,
        event: Literal["INSERT", "MODIFY", "REMOVE"],
        new_text: str | None,
        old_text: str | None,
        *,
        by_service: bool = False,
    ) -> None:
        if not self.spec.stream:
            return
        # As DynamoDB: a write that changes nothing writes no stream record.
        if (
            event == "MODIFY"
            and new_text is not None
            and old_text is not None
            and (
                new_text == old_text
                or _canon(decode_item(new_text)) == _canon(decode_item(old_text))
            )
        ):
            return
        image = decode_item(cast(str, new_text if new_text is not None else old_text))
        conn.execute(
            self._sql_stream_add,
            (
                event,
                encode_item(self._keys_of(image)),
                new_text,
                old_text,
                int(by_service),
                self.clock.now().timestamp(),
            ),
        )

    # ---- the port ---------------------------------------------------------------------------

    @_translated
    def put(self, item: Item, *, condition: Condition | None = None) -> None:
        """Create or replace the item with the same key."""
        key, params, text = self._row(item)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if condition is not None or self.spec.stream:
                old_text = self._load(conn, key)
                if condition is not None:
                    _check(condition, None if old_text is None else decode_item(old_text))
                conn.execute(self._sql_put, params)
                self._record(conn, "INSERT" if old_text is None else "MODIFY", text, old_text)
            else:
                conn.execute(self._sql_put, params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @_translated
    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        """The item with this key, or None (always strongly consistent here)."""
        row = self._conn().execute(self._sql_get, self._exact_key(key)).fetchone()
        return None if row is None else decode_item(row[0])

    @_translated
    def update(
        self,
        key: Key,
        *,
        set: Mapping[str, Any] | None = None,  # mirrors UpdateExpression SET
        remove: Sequence[str] = (),
        add: Mapping[str, int | float] | None = None,
        condition: Condition | None = None,
    ) -> Item:
        """Update attributes of the item (creating it when missing); return the new item."""
        cols = self._exact_key(key)
        set_ = dict(set or {})
        add_ = dict(add or {})
        remove_ = list(remove)
        if isinstance(remove, str):
            raise InvalidRequestError("remove takes a sequence of attribute names, not a str")
        key_names = {self.spec.partition_key, self.spec.sort_key}
        touched = [*set_, *remove_, *add_]
        for name in touched:
            if name in key_names:
                raise InvalidRequestError(
                    f"cannot update attribute {name!r}: it is part of the key"
                )
        if len(touched) != len(frozenset(touched)):
            raise InvalidRequestError("two document paths overlap in the update")
        for name, amount in add_.items():
            if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
                raise InvalidRequestError(f"ADD {name!r} needs a number, got {amount!r}")
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            old_text = self._load(conn, cols)
            old = None if old_text is None else decode_item(old_text)
            _check(condition, old)
            new: Item = dict(old) if old is not None else dict(key)
            new.update(set_)
            for name in remove_:
                new.pop(name, None)
            for name, amount in add_.items():
                current = new.get(name, 0)
                if isinstance(current, bool) or not isinstance(current, int | Decimal | float):
                    raise InvalidRequestError(
                        f"an operand in the update expression has an incorrect data type: "
                        f"ADD {name!r} to {current!r}"
                    )
                new[name] = to_number(Decimal(str(current)) + Decimal(str(amount)))
            _, params, text = self._row(new)
            conn.execute(self._sql_put, params)
            self._record(conn, "INSERT" if old_text is None else "MODIFY", text, old_text)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return decode_item(text)

    @_translated
    def delete(self, key: Key, *, condition: Condition | None = None) -> Item | None:
        """Delete the item; return the old item, or None when there was none."""
        cols = self._exact_key(key)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            old_text = self._load(conn, cols)
            old = None if old_text is None else decode_item(old_text)
            _check(condition, old)
            if old_text is not None:
                conn.execute(self._sql_delete, cols)
                self._record(conn, "REMOVE", None, old_text)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return old

    @_translated
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
        """Items with this partition key value (in ``index`` when given), ordered by sort key.

        Pages stop at ``limit`` items or 1 MB, as on DynamoDB; ``next_token`` is None only when
        nothing is left (DynamoDB may also return a token for an empty last page)."""
        if limit is not None and limit < 1:
            raise InvalidRequestError("limit must be at least 1")
        sql, params = self._query_sql_params(partition, index, sort, start, forward)
        items: list[Item] = []
        size = 0
        cursor = self._conn().execute(sql, params)
        try:
            more = False
            for (text,) in cursor:
                if (limit is not None and len(items) >= limit) or size >= _PAGE_BYTES:
                    more = True
                    break
                items.append(decode_item(text))
                size += len(text)
        finally:
            cursor.close()
        token = None
        if more and items:
            token = self._encode_token(items[-1], index)
        return Page(items=items, next_token=token)

    def _query_sql_params(
        self,
        partition: Any,
        index: str | None,
        sort: SortKeyCondition | None,
        start: str | None,
        forward: bool,
    ) -> tuple[str, list[Any]]:
        if index is None:
            pk_attr, sk_attr = self.spec.partition_key, self.spec.sort_key
            pcol, scol = "pk", ("sk" if sk_attr is not None else None)
            order = ["sk"]
        else:
            ix = self._indexes.get(index)
            if ix is None:
                raise InvalidRequestError(f"the table does not have the specified index: {index}")
            pk_attr, sk_attr = ix.spec.partition_key, ix.spec.sort_key
            pcol = ix.pk_col
            scol = ix.sk_col if sk_attr is not None else None
            order = [ix.sk_col, "pk", "sk"] if sk_attr is not None else ["pk", "sk"]
        params: list[Any] = [_key_col(partition, pk_attr, "partition key")]
        sort_sql = ""
        if sort is not None:
            if scol is None or sk_attr is None:
                raise InvalidRequestError("query key condition not supported: no sort key")
            sort_sql, sort_params = _sort_clause(scol, sk_attr, sort)
            params += sort_params
        start_cols: list[KeyCol] = []
        if start is not None:
            start_cols = self._decode_token(start, index)
            params += start_cols
        sql_key = (index, sort_sql, bool(start_cols), forward)
        sql = self._query_sql.get(sql_key)
        if sql is None:
            direction = "ASC" if forward else "DESC"
            where = f"{pcol} = ?{sort_sql}"
            if start_cols:
                where += (
                    f" AND ({', '.join(order)}) {'>' if forward else '<'} "
                    f"({', '.join('?' for _ in order)})"
                )
            order_sql = ", ".join(f"{c} {direction}" for c in order)
            sql = f"SELECT item FROM {self._items} WHERE {where} ORDER BY {order_sql}"
            self._query_sql[sql_key] = sql
        return sql, params

    @_translated
    def query_plan(
        self,
        partition: Any,
        *,
        index: str | None = None,
        sort: SortKeyCondition | None = None,
        start: str | None = None,
        forward: bool = True,
    ) -> str:
        """SQLite's plan for this query (for tests and diagnostics): an index SEARCH."""
        sql, params = self._query_sql_params(partition, index, sort, start, forward)
        rows = self._conn().execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return "\n".join(str(r[-1]) for r in rows)

    def _encode_token(self, item: Item, index: str | None) -> str:
        # Like DynamoDB's LastEvaluatedKey: the table key plus the index key of the last item.
        attrs = set(self._keys_of(item))
        if index is not None:
            ix = self._indexes[index].spec
            attrs |= {ix.partition_key, *([ix.sort_key] if ix.sort_key else [])}
        last = {a: item[a] for a in sorted(attrs)}
        return base64.urlsafe_b64encode(encode_item(last).encode()).decode("ascii")

    def _decode_token(self, token: str, index: str | None) -> list[KeyCol]:
        try:
            last = decode_item(base64.urlsafe_b64decode(token.encode("ascii")).decode())
        except (ValueError, TypeError) as exc:
            raise InvalidRequestError(f"invalid next_token: {token!r}") from exc
        if not isinstance(last, dict):
            raise InvalidRequestError(f"invalid next_token: {token!r}")
        pk, sk = self._key_cols(last)
        if index is None:
            return [sk]
        ix = self._indexes[index].spec
        if ix.sort_key is None:
            return [pk, sk]
        if ix.sort_key not in last:
            raise InvalidRequestError(f"invalid next_token for index {index}: {token!r}")
        return [_key_col(last[ix.sort_key], ix.sort_key), pk, sk]

    @_translated
    def transact_write(self, ops: Sequence[WriteOp]) -> None:
        """Apply every op or none (at most 100, one op per item, as DynamoDB requires)."""
        if len(ops) > _MAX_TRANSACT:
            raise InvalidRequestError(f"a transaction holds at most {_MAX_TRANSACT} operations")
        if not ops:
            return
        prepared: list[tuple[WriteOp, tuple[KeyCol, KeyCol], list[Any] | None, str | None]] = []
        seen: set[tuple[Any, ...]] = set()
        for op in ops:
            if isinstance(op, Put):
                cols, params, text = self._row(op.item)
                prepared.append((op, cols, params, text))
            elif isinstance(op, Delete | ConditionCheck):
                cols = self._exact_key(op.key)
                prepared.append((op, cols, None, None))
            else:
                raise InvalidRequestError(f"unknown transaction operation {op!r}")
            ident = tuple((type(c).__name__, c) for c in cols)
            if ident in seen:
                raise InvalidRequestError(
                    "transaction request cannot include multiple operations on one item"
                )
            seen.add(ident)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            olds: list[str | None] = []
            # Every condition is checked before anything is written, as DynamoDB does.
            for op, cols, _, _ in prepared:
                old_text = self._load(conn, cols)
                olds.append(old_text)
                if op.condition is not None:
                    _check(op.condition, None if old_text is None else decode_item(old_text))
            for (op, cols, put_params, put_text), old_text in zip(prepared, olds, strict=True):
                if isinstance(op, Put) and put_params is not None:
                    conn.execute(self._sql_put, put_params)
                    event: Literal["INSERT", "MODIFY"] = "INSERT" if old_text is None else "MODIFY"
                    self._record(conn, event, put_text, old_text)
                elif isinstance(op, Delete) and old_text is not None:
                    conn.execute(self._sql_delete, cols)
                    self._record(conn, "REMOVE", None, old_text)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @_translated
    def read_stream(self, after: str | None = None, limit: int = 100) -> list[StreamRecord]:
        """Change records after position ``after`` (from the start when None), oldest first."""
        if not self.spec.stream:
            raise InvalidRequestError(f"table {self.spec.name!r} has no stream enabled")
        if limit < 1:
            raise InvalidRequestError("limit must be at least 1")
        try:
            position = int(after) if after is not None else 0
        except ValueError:
            raise InvalidRequestError(f"invalid stream position {after!r}") from None
        rows = (
            self._conn()
            .execute(
                f"SELECT seq, event_name, keys, new_image, old_image, by_service "
                f"FROM {self._stream} WHERE seq > ? ORDER BY seq LIMIT ?",
                (position, limit),
            )
            .fetchall()
        )
        return [
            StreamRecord(
                sequence=f"{seq:021d}",
                event_name=event,
                keys=decode_item(keys),
                new_image=None if new is None else decode_item(new),
                old_image=None if old is None else decode_item(old),
                by_service=bool(by_service),
            )
            for seq, event, keys, new, old, by_service in rows
        ]

    @_translated
    def expire(self) -> int:
        """Delete items whose TTL (epoch seconds) is at or before ``clock.now()``; return how many.

        Each deletion is a REMOVE stream record with ``by_service=True``. As on DynamoDB, items
        whose expiry lies more than five years in the past are left alone."""
        if self.spec.ttl_attribute is None:
            return 0
        now = self.clock.now().timestamp()
        select = (
            f"SELECT pk, sk, item FROM {self._items} "
            f"WHERE ttl IS NOT NULL AND ttl <= ? AND ttl > ? LIMIT {_EXPIRE_BATCH}"
        )
        total = 0
        conn = self._conn()
        while True:
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(select, (now, now - _TTL_MAX_AGE_S)).fetchall()
                for pk, sk, text in rows:
                    conn.execute(self._sql_delete, (pk, sk))
                    self._record(conn, "REMOVE", None, text, by_service=True)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            total += len(rows)
            if len(rows) < _EXPIRE_BATCH:
                return total

    def iter_all(self) -> Iterator[Item]:
        """Every item of the table (a Scan), in key order; for tools and tests."""
        try:
            rows = self._conn().execute(f"SELECT item FROM {self._items} ORDER BY pk, sk")
            for (text,) in rows:
                yield decode_item(text)
        except (sqlite3.Error, OSError) as exc:
            raise _translate_sqlite(exc) from exc


def _sort_clause(scol: str, attribute: str, sort: SortKeyCondition) -> tuple[str, list[Any]]:
    op = sort.op
    if op in ("=", "<", "<=", ">", ">="):
        return f" AND {scol} {op} ?", [_key_col(sort.value, attribute, "sort key")]
    if op == "between":
        lower = _key_col(sort.value, attribute, "sort key")
        upper = _key_col(sort.upper, attribute, "sort key")
        if type(lower) is type(upper) and lower > upper:  # type: ignore[operator]
            raise InvalidRequestError(
                "invalid KeyConditionExpression: the BETWEEN lower bound is greater than the upper"
            )
        return f" AND {scol} BETWEEN ? AND ?", [lower, upper]
    if op == "begins_with":
        prefix = _key_col(sort.value, attribute, "sort key")
        if not isinstance(prefix, str | bytes):
            raise InvalidRequestError("begins_with needs a string or binary prefix")
        upper_bound = _prefix_upper(prefix)
        if upper_bound is None:
            return f" AND {scol} >= ? AND {scol} IS NOT NULL", [prefix]
        return f" AND {scol} >= ? AND {scol} < ?", [prefix, upper_bound]
    raise InvalidRequestError(f"unknown sort key operator {op!r}")


def _validate_spec(spec: TableSpec) -> None:
    if not _NAME_RE.match(spec.name):
        raise InvalidRequestError(
            f"invalid table name {spec.name!r}: 3-255 characters of a-z, A-Z, 0-9, _ - ."
        )
    for name in spec.indexes:
        if not _NAME_RE.match(name):
            raise InvalidRequestError(f"invalid index name {name!r}")


if TYPE_CHECKING:  # mypy proves the adapter matches the port, signature for signature

    def _implements_port(store: SqliteTableStore) -> TableStore:
        return store
