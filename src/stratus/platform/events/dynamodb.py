"""DynamoDB AttributeValue converters and the Lambda DynamoDB Streams event shape.

Pure functions, no boto3: the local runtime uses :func:`stream_event` to build exactly the
event a Lambda function subscribed to a DynamoDB stream receives; handlers and the DynamoDB
adapter use :func:`stream_record_from_event_record` to turn a record back into a port
:class:`~stratus.platform.ports.table.StreamRecord`.

Value mapping (the port's value types, see ``stratus.platform.ports.table``):

========================  ==================  =========================================
Python                    AttributeValue      back to Python
========================  ==================  =========================================
str                       ``{"S": ...}``      str
bool                      ``{"BOOL": ...}``   bool
int, Decimal, float       ``{"N": "..."}``    int when integral, else Decimal
None                      ``{"NULL": true}``  None
bytes                     ``{"B": ...}``      bytes
list / tuple              ``{"L": [...]}``    list
dict                      ``{"M": {...}}``    dict
(events only) SS/NS/BS    -                   set
========================  ==================  =========================================

``B`` is base64 text in event JSON and on the HTTP wire; the boto3 low-level client wants raw
bytes and does the base64 itself, hence ``serialize(..., bytes_as_base64=False)`` there.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from stratus.platform.ports.errors import InvalidRequestError
from stratus.platform.ports.table import Item, StreamRecord

AttributeValue = dict[str, Any]

#: The identity DynamoDB puts on stream records of deletions made by the TTL process.
TTL_USER_IDENTITY: dict[str, str] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

_EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


def to_number(value: int | float | Decimal) -> int | Decimal:
    """A number as the port returns it: ``int`` when integral, else ``Decimal``.

    Floats become ``Decimal(str(value))`` (what boto3 users do by hand); NaN and infinities are
    refused, as DynamoDB refuses them."""
    if isinstance(value, bool):  # bool is an int subclass; never a number here
        raise InvalidRequestError("a bool is not a number")
    if isinstance(value, int):
        return value
    dec = Decimal(str(value)) if isinstance(value, float) else value
    if not dec.is_finite():
        raise InvalidRequestError(f"DynamoDB numbers must be finite, got {value!r}")
    if dec == dec.to_integral_value():
        return int(dec)
    return dec


def number_text(value: int | float | Decimal) -> str:
    """The ``N`` string of a number."""
    num = to_number(value)
    return str(num)


def serialize(value: Any, *, bytes_as_base64: bool = True) -> AttributeValue:
    """One Python value as a DynamoDB AttributeValue dict."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": number_text(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return {"B": base64.b64encode(raw).decode("ascii") if bytes_as_base64 else raw}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v, bytes_as_base64=bytes_as_base64) for v in value]}
    if isinstance(value, Mapping):
        return {
            "M": {
                _attribute_name(k): serialize(v, bytes_as_base64=bytes_as_base64)
                for k, v in value.items()
            }
        }
    raise InvalidRequestError(f"unsupported attribute value type: {type(value).__name__}")


def _attribute_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidRequestError(f"attribute names must be str, got {type(name).__name__}")
    return name


def _number(text: str) -> int | Decimal:
    try:
        return to_number(Decimal(text))
    except InvalidOperation as exc:
        raise InvalidRequestError(f"not a DynamoDB number: {text!r}") from exc


def _binary(raw: Any) -> bytes:
    # Event JSON carries base64 text; boto3 hands back bytes already decoded.
    if isinstance(raw, str):
        return base64.b64decode(raw)
    return bytes(raw)


def deserialize(av: Mapping[str, Any]) -> Any:
    """One AttributeValue dict as a Python value (the inverse of :func:`serialize`)."""
    if len(av) != 1:
        raise InvalidRequestError(f"an AttributeValue has exactly one type key, got {list(av)}")
    ((tag, raw),) = av.items()
    if tag == "S":
        return raw
    if tag == "N":
        return _number(raw)
    if tag == "BOOL":
        return bool(raw)
    if tag == "NULL":
        return None
    if tag == "B":
        return _binary(raw)
    if tag == "L":
        return [deserialize(v) for v in raw]
    if tag == "M":
        return {k: deserialize(v) for k, v in raw.items()}
    if tag == "SS":
        return set(raw)
    if tag == "NS":
        return {_number(v) for v in raw}
    if tag == "BS":
        return {_binary(v) for v in raw}
    raise InvalidRequestError(f"unknown AttributeValue type {tag!r}")


def item_to_av(item: Mapping[str, Any], *, bytes_as_base64: bool = True) -> dict[str, Any]:
    """An item as a map of attribute name to AttributeValue (DynamoDB's ``Item`` shape)."""
    return {
        _attribute_name(k): serialize(v, bytes_as_base64=bytes_as_base64) for k, v in item.items()
    }


def item_from_av(av: Mapping[str, Any]) -> Item:
    """The inverse of :func:`item_to_av`."""
    return {k: deserialize(v) for k, v in av.items()}


# ---- DynamoDB Streams events --------------------------------------------------------------


def stream_event(
    records: Sequence[StreamRecord],
    *,
    table_arn: str,
    region: str,
    created_at: datetime | None = None,
    stream_label: str | None = None,
) -> dict[str, Any]:
    """The event a Lambda function subscribed to the table's stream receives for ``records``.

    Shape of the real event (StreamViewType NEW_AND_OLD_IMAGES, eventVersion "1.1"). Departures,
    because a port StreamRecord does not carry them: ``ApproximateCreationDateTime`` is
    ``created_at`` (default: now), ``eventID`` is derived from the table and the sequence number
    (stable, unique per record), ``SizeBytes`` is the size of the JSON of keys and images (AWS
    counts its own binary encoding) and the stream label defaults to the creation time.
    """
    when = created_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("created_at must be tz-aware")
    label = stream_label or when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    source_arn = f"{table_arn}/stream/{label}"
    out: list[dict[str, Any]] = []
    for rec in records:
        body: dict[str, Any] = {
            "ApproximateCreationDateTime": int(when.timestamp()),
            "Keys": item_to_av(rec.keys),
        }
        if rec.new_image is not None:
            body["NewImage"] = item_to_av(rec.new_image)
        if rec.old_image is not None:
            body["OldImage"] = item_to_av(rec.old_image)
        body["SequenceNumber"] = rec.sequence
        body["SizeBytes"] = len(json.dumps(body, separators=(",", ":")).encode())
        body["StreamViewType"] = "NEW_AND_OLD_IMAGES"
        event_id = hashlib.md5(  # noqa: S324 - an identifier, not security
            f"{table_arn}|{rec.sequence}".encode()
        ).hexdigest()
        entry: dict[str, Any] = {
            "eventID": event_id,
            "eventName": rec.event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": region,
            "dynamodb": body,
        }
        if rec.by_service:
            entry["userIdentity"] = dict(TTL_USER_IDENTITY)
        entry["eventSourceARN"] = source_arn
        out.append(entry)
    return {"Records": out}


def stream_record_from_event_record(record: Mapping[str, Any]) -> StreamRecord:
    """One entry of ``event["Records"]`` (or of GetRecords' ``Records``) as a StreamRecord."""
    name = record.get("eventName")
    if name not in _EVENT_NAMES:
        raise InvalidRequestError(f"not a DynamoDB stream record: eventName={name!r}")
    body = record.get("dynamodb") or {}
    identity = record.get("userIdentity") or {}
    by_service = (
        identity.get("type") == TTL_USER_IDENTITY["type"]
        and identity.get("principalId") == TTL_USER_IDENTITY["principalId"]
    )
    new_av = body.get("NewImage")
    old_av = body.get("OldImage")
    return StreamRecord(
        sequence=str(body.get("SequenceNumber", "")),
        event_name=cast(Literal["INSERT", "MODIFY", "REMOVE"], name),
        keys=item_from_av(body.get("Keys") or {}),
        new_image=item_from_av(new_av) if new_av is not None else None,
        old_image=item_from_av(old_av) if old_av is not None else None,
        by_service=by_service,
    )
