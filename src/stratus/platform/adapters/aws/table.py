"""DynamoDbTableStore: the TableStore port on a real DynamoDB table (boto3 low-level client).

Every botocore error is translated into a port error:

* ``ConditionalCheckFailedException`` and a ``TransactionCanceledException`` whose reasons
  include ``ConditionalCheckFailed`` → ConditionFailedError
* ``ResourceNotFoundException`` → NotFoundError
* ``ValidationException`` and local parameter validation → InvalidRequestError
* anything else (throttling, network, credentials...) → BackendUnavailableError
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import botocore.exceptions

from stratus.platform.events.dynamodb import (
    deserialize,
    item_from_av,
    item_to_av,
    serialize,
    stream_record_from_event_record,
)
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

__all__ = ["DynamoDbTableStore", "dynamodb_create_table_kwargs"]

# botocore exception classes: allowed in adapters/aws only (ruff bans them elsewhere).
_ClientError = botocore.exceptions.ClientError
_BotoCoreError = botocore.exceptions.BotoCoreError
_ParamValidationError = botocore.exceptions.ParamValidationError

_MAX_TRANSACT = 100


def dynamodb_create_table_kwargs(
    spec: TableSpec,
    *,
    table_name: str | None = None,
    attribute_types: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``create_table`` arguments for ``spec``: on-demand billing, GSIs projecting ALL, and a
    NEW_AND_OLD_IMAGES stream when ``spec.stream``.

    TableSpec carries no attribute types: key attributes are strings (``S``) unless
    ``attribute_types`` says otherwise (e.g. ``{"Data2": "N"}``)."""
    types = dict(attribute_types or {})
    names: list[str] = []

    def use(name: str) -> None:
        if name not in names:
            names.append(name)

    def schema(pk: str, sk: str | None) -> list[dict[str, str]]:
        use(pk)
        out = [{"AttributeName": pk, "KeyType": "HASH"}]
        if sk is not None:
            use(sk)
            out.append({"AttributeName": sk, "KeyType": "RANGE"})
        return out

    kwargs: dict[str, Any] = {
        "TableName": table_name or spec.name,
        "KeySchema": schema(spec.partition_key, spec.sort_key),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "KeySchema": schema(ix.partition_key, ix.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, ix in spec.indexes.items()
        ]
    kwargs["AttributeDefinitions"] = [
        {"AttributeName": n, "AttributeType": types.get(n, "S")} for n in names
    ]
    if spec.stream:
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    return kwargs


class _Expr:
    """Builds ExpressionAttributeNames/Values with generated placeholders."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._by_name: dict[str, str] = {}

    def name(self, attribute: str) -> str:
        ph = self._by_name.get(attribute)
        if ph is None:
            ph = f"#n{len(self._by_name)}"
            self._by_name[attribute] = ph
            self.names[ph] = attribute
        return ph

    def value(self, value: Any) -> str:
        ph = f":v{len(self.values)}"
        self.values[ph] = serialize(value, bytes_as_base64=False)
        return ph

    def condition(self, cond: Condition) -> str:
        if isinstance(cond, Exists):
            return f"attribute_exists({self.name(cond.attribute)})"
        if isinstance(cond, NotExists):
            return f"attribute_not_exists({self.name(cond.attribute)})"
        if isinstance(cond, Compare):
            return f"{self.name(cond.attribute)} {cond.op} {self.value(cond.value)}"
        if isinstance(cond, AllOf | AnyOf):
            if not cond.conditions:
                raise InvalidRequestError("AllOf/AnyOf need at least one condition")
            joiner = " AND " if isinstance(cond, AllOf) else " OR "
            return "(" + joiner.join(self.condition(c) for c in cond.conditions) + ")"
        raise InvalidRequestError(f"unknown condition {cond!r}")

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _translate(exc: BaseException, what: str) -> PortError:
    if isinstance(exc, _ClientError):
        code = _error_code(exc)
        message = f"{what}: {exc}"
        if code == "ConditionalCheckFailedException":
            return ConditionFailedError(message)
        if code == "TransactionCanceledException":
            reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
            codes = {r.get("Code") for r in reasons}
            if "ConditionalCheckFailed" in codes or "ConditionalCheckFailed" in str(exc):
                return ConditionFailedError(message)
            if "ValidationError" in codes:
                return InvalidRequestError(message)
            return BackendUnavailableError(message)
        if code == "ResourceNotFoundException":
            return NotFoundError(message)
        if code == "ValidationException":
            return InvalidRequestError(message)
        return BackendUnavailableError(message)
    if isinstance(exc, _ParamValidationError):
        return InvalidRequestError(f"{what}: {exc}")
    return BackendUnavailableError(f"{what}: {exc}")


class DynamoDbTableStore:
    """The TableStore port on a DynamoDB table, via the boto3 low-level ``dynamodb`` client.

    ``client``/``streams_client`` default to boto3 clients built on first use (the streams
    client in the region of ``client``). ``expire`` returns 0: the service runs TTL itself.
    Queries are eventually consistent (DynamoDB's default; GSIs support nothing else).
    """

    def __init__(
        self,
        table_name: str,
        spec: TableSpec,
        *,
        client: Any = None,
        streams_client: Any = None,
    ) -> None:
        self.table_name = table_name
        self.spec = spec
        self._client = client
        self._streams = streams_client
        self._stream_arn: str | None = None

    # ---- clients ----------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The ``dynamodb`` low-level client."""
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    @property
    def streams_client(self) -> Any:
        """The ``dynamodbstreams`` low-level client."""
        if self._streams is None:
            import boto3

            region = getattr(getattr(self.client, "meta", None), "region_name", None)
            self._streams = boto3.client("dynamodbstreams", region_name=region)
        return self._streams

    def _call(self, what: str, fn: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], fn(**kwargs))
        except (_ClientError, _BotoCoreError) as exc:
            raise _translate(exc, f"{what} on {self.table_name}") from exc

    # ---- keys -------------------------------------------------------------------------------

    def _key_names(self) -> list[str]:
        names = [self.spec.partition_key]
        if self.spec.sort_key is not None:
            names.append(self.spec.sort_key)
        return names

    def _key_av(self, key: Key, *, exact: bool = True) -> dict[str, Any]:
        names = self._key_names()
        if exact:
            extra = set(key) - set(names)
            if extra:
                raise InvalidRequestError(
                    f"the key has attributes that are not part of the table key: {sorted(extra)}"
                )
        out: dict[str, Any] = {}
        for name in names:
            if name not in key:
                raise InvalidRequestError(f"the key lacks the key attribute {name!r}")
            out[name] = serialize(_key_value(key[name], name), bytes_as_base64=False)
        return out

    # ---- the port ---------------------------------------------------------------------------

    def put(self, item: Item, *, condition: Condition | None = None) -> None:
        """Create or replace the item with the same key."""
        self._key_av(item, exact=False)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": item_to_av(item, bytes_as_base64=False),
        }
        if condition is not None:
            expr = _Expr()
            request["ConditionExpression"] = expr.condition(condition)
            expr.apply(request)
        self._call("PutItem", self.client.put_item, **request)

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        """The item with this key, or None."""
        response = self._call(
            "GetItem",
            self.client.get_item,
            TableName=self.table_name,
            Key=self._key_av(key),
            ConsistentRead=consistent,
        )
        av = response.get("Item")
        return None if av is None else item_from_av(av)

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
        if isinstance(remove, str):
            raise InvalidRequestError("remove takes a sequence of attribute names, not a str")
        key_av = self._key_av(key)
        key_names = frozenset(self._key_names())  # `set` is the SET argument here
        touched = [*(set or {}), *remove, *(add or {})]
        for name in touched:
            if name in key_names:
                raise InvalidRequestError(
                    f"cannot update attribute {name!r}: it is part of the key"
                )
        expr = _Expr()
        clauses: list[str] = []
        if set:
            clauses.append(
                "SET " + ", ".join(f"{expr.name(k)} = {expr.value(v)}" for k, v in set.items())
            )
        if remove:
            clauses.append("REMOVE " + ", ".join(expr.name(k) for k in remove))
        if add:
            for name, amount in add.items():
                if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
                    raise InvalidRequestError(f"ADD {name!r} needs a number, got {amount!r}")
            clauses.append(
                "ADD " + ", ".join(f"{expr.name(k)} {expr.value(v)}" for k, v in add.items())
            )
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": key_av,
            "ReturnValues": "ALL_NEW",
        }
        if clauses:
            request["UpdateExpression"] = " ".join(clauses)
        if condition is not None:
            request["ConditionExpression"] = expr.condition(condition)
        expr.apply(request)
        response = self._call("UpdateItem", self.client.update_item, **request)
        attributes = response.get("Attributes")
        if attributes is None:  # UpdateItem without an expression returns nothing
            return self.get(key) or dict(key)
        return item_from_av(attributes)

    def delete(self, key: Key, *, condition: Condition | None = None) -> Item | None:
        """Delete the item; return the old item, or None when there was none."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key_av(key),
            "ReturnValues": "ALL_OLD",
        }
        if condition is not None:
            expr = _Expr()
            request["ConditionExpression"] = expr.condition(condition)
            expr.apply(request)
        response = self._call("DeleteItem", self.client.delete_item, **request)
        av = response.get("Attributes")
        return None if av is None else item_from_av(av)

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
        if limit is not None and limit < 1:
            raise InvalidRequestError("limit must be at least 1")
        if index is None:
            pk_attr, sk_attr = self.spec.partition_key, self.spec.sort_key
        else:
            ix = self.spec.indexes.get(index)
            if ix is None:
                raise InvalidRequestError(f"the table does not have the specified index: {index}")
            pk_attr, sk_attr = ix.partition_key, ix.sort_key
        expr = _Expr()
        key_cond = f"{expr.name(pk_attr)} = {expr.value(_key_value(partition, pk_attr))}"
        if sort is not None:
            if sk_attr is None:
                raise InvalidRequestError("query key condition not supported: no sort key")
            sk = expr.name(sk_attr)
            if sort.op == "begins_with":
                key_cond += f" AND begins_with({sk}, {expr.value(sort.value)})"
            elif sort.op == "between":
                lower, upper = expr.value(sort.value), expr.value(sort.upper)
                key_cond += f" AND {sk} BETWEEN {lower} AND {upper}"
            elif sort.op in ("=", "<", "<=", ">", ">="):
                key_cond += f" AND {sk} {sort.op} {expr.value(sort.value)}"
            else:
                raise InvalidRequestError(f"unknown sort key operator {sort.op!r}")
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": key_cond,
            "ScanIndexForward": forward,
        }
        if index is not None:
            request["IndexName"] = index
        if limit is not None:
            request["Limit"] = limit
        if start is not None:
            request["ExclusiveStartKey"] = _decode_token(start)
        expr.apply(request)
        response = self._call("Query", self.client.query, **request)
        items = [item_from_av(av) for av in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(items=items, next_token=None if not last else _encode_token(last))

    def transact_write(self, ops: Sequence[WriteOp]) -> None:
        """Apply every op or none (at most 100). A failed condition raises ConditionFailedError."""
        if len(ops) > _MAX_TRANSACT:
            raise InvalidRequestError(f"a transaction holds at most {_MAX_TRANSACT} operations")
        if not ops:
            return  # DynamoDB refuses an empty transaction; nothing to do is not an error here
        items: list[dict[str, Any]] = []
        for op in ops:
            entry: dict[str, Any] = {"TableName": self.table_name}
            expr = _Expr()
            if isinstance(op, Put):
                self._key_av(op.item, exact=False)
                entry["Item"] = item_to_av(op.item, bytes_as_base64=False)
                kind = "Put"
            elif isinstance(op, Delete):
                entry["Key"] = self._key_av(op.key)
                kind = "Delete"
            elif isinstance(op, ConditionCheck):
                entry["Key"] = self._key_av(op.key)
                kind = "ConditionCheck"
            else:
                raise InvalidRequestError(f"unknown transaction operation {op!r}")
            if op.condition is not None:
                entry["ConditionExpression"] = expr.condition(op.condition)
            expr.apply(entry)
            items.append({kind: entry})
        self._call("TransactWriteItems", self.client.transact_write_items, TransactItems=items)

    def _latest_stream_arn(self) -> str:
        if self._stream_arn is None:
            table = self._call(
                "DescribeTable", self.client.describe_table, TableName=self.table_name
            )["Table"]
            arn = table.get("LatestStreamArn")
            if not arn:
                raise InvalidRequestError(f"table {self.table_name!r} has no stream enabled")
            self._stream_arn = cast(str, arn)
        return self._stream_arn

    def read_stream(self, after: str | None = None, limit: int = 100) -> list[StreamRecord]:
        """Change records after position ``after`` (from the start when None), oldest first.

        Reads every shard of the latest stream: from TRIM_HORIZON, or AFTER_SEQUENCE_NUMBER in
        the shard whose range holds ``after``. Sequence numbers increase across the shards of
        one stream in practice (AWS only promises it per item), so records are merged by number.
        """
        if limit < 1:
            raise InvalidRequestError("limit must be at least 1")
        position: int | None = None
        if after is not None:
            try:
                position = int(after)
            except ValueError:
                raise InvalidRequestError(f"invalid stream position {after!r}") from None
        arn = self._latest_stream_arn()
        streams = self.streams_client
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": arn}
        while True:
            description = self._call("DescribeStream", streams.describe_stream, **request)
            desc = description["StreamDescription"]
            shards += desc.get("Shards", [])
            last_shard = desc.get("LastEvaluatedShardId")
            if not last_shard:
                break
            request["ExclusiveStartShardId"] = last_shard
        records: list[StreamRecord] = []
        for shard in shards:
            rng = shard.get("SequenceNumberRange", {})
            first = int(rng.get("StartingSequenceNumber", "0"))
            end = rng.get("EndingSequenceNumber")
            if position is not None and end is not None and int(end) <= position:
                continue  # a closed shard read entirely before
            iterator_request: dict[str, Any] = {"StreamArn": arn, "ShardId": shard["ShardId"]}
            if position is None or position < first:
                iterator_request["ShardIteratorType"] = "TRIM_HORIZON"
            else:
                iterator_request["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
                iterator_request["SequenceNumber"] = str(position)
            iterator = self._call(
                "GetShardIterator", streams.get_shard_iterator, **iterator_request
            ).get("ShardIterator")
            got = 0
            while iterator and got < limit:
                page = self._call(
                    "GetRecords", streams.get_records, ShardIterator=iterator, Limit=limit
                )
                batch = page.get("Records", [])
                if not batch:
                    break  # an open shard always hands back a next iterator; stop when dry
                records += [stream_record_from_event_record(r) for r in batch]
                got += len(batch)
                iterator = page.get("NextShardIterator")
        records.sort(key=lambda r: int(r.sequence))
        return records[:limit]

    def expire(self) -> int:
        """The DynamoDB TTL process deletes expired items itself: nothing to do, returns 0."""
        return 0


def _key_value(value: Any, attribute: str) -> Any:
    """Check a key attribute value (a non-empty str or bytes, or a number) and return it."""
    if isinstance(value, bool) or value is None:
        raise InvalidRequestError(
            f"key attribute {attribute!r} must be a string, number or binary, got {value!r}"
        )
    if not isinstance(value, str | int | float | Decimal | bytes | bytearray):
        raise InvalidRequestError(
            f"key attribute {attribute!r} must be a string, number or binary, "
            f"got {type(value).__name__}"
        )
    if isinstance(value, str | bytes | bytearray) and len(value) == 0:
        raise InvalidRequestError(f"key attribute {attribute!r} cannot be empty")
    return value


def _encode_token(last_evaluated_key: Mapping[str, Any]) -> str:
    # urlsafe base64 of the JSON of LastEvaluatedKey (AttributeValues; B as base64 text).
    plain = {k: serialize(deserialize(v)) for k, v in last_evaluated_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode("ascii")


def _decode_token(token: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if not isinstance(plain, dict):
            raise TypeError("not an object")
        return {k: serialize(deserialize(v), bytes_as_base64=False) for k, v in plain.items()}
    except (ValueError, TypeError, AttributeError, binascii.Error, PortError) as exc:
        raise InvalidRequestError(f"invalid next_token: {token!r}") from exc


if TYPE_CHECKING:  # mypy proves the adapter matches the port, signature for signature

    def _implements_port(store: DynamoDbTableStore) -> TableStore:
        return store
