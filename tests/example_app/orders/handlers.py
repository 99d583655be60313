"""Lambda handlers of the example orders application.

Resources come only from ``stratus.platform.connect`` (the same code path on AWS and locally);
their identifiers come from the environment the SAM template declares.

Items of the single table::

    {"PK": "ORDER~<id>", "SK": "ORDER", "Data1": "STATUS~<status>", "status": ..., ...}
    {"PK": "STATS", "SK": "STATS", "new_orders": n, "counted_at": iso-time}
    {"PK": "ORDER~<id>", "SK": "AUDIT~SHIPPED"}          written from the SNS audit topic
    {"PK": "ORDER~<id>", "SK": "RECEIPT", "key": ..., "size": n}   from the bucket's EventBridge
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from typing import Any

from stratus.platform import connect
from stratus.platform.ports import ConditionFailedError, NotExists, TableStore

_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
OUT_OF_STOCK_SKU = "OUT-OF-STOCK"


def _table() -> TableStore:
    return connect.table(os.environ["TABLE_NAME"])


def _response(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, default=str),
    }


def _order_key(order_id: str) -> dict[str, str]:
    return {"PK": f"ORDER~{order_id}", "SK": "ORDER"}


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["PK"].removeprefix("ORDER~"),
        "status": item["status"],
        "items": item.get("items", []),
        "created_at": item.get("created_at"),
    }


# ---- API Gateway --------------------------------------------------------------------------


def authorize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """TOKEN authorizer: ``allow-<user>`` is allowed as <user>; anything else is Unauthorized."""
    token = str(event.get("authorizationToken") or "")
    token = token.removeprefix("Bearer ").strip()
    if not token.startswith("allow-") or len(token) == len("allow-"):
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    user = token.removeprefix("allow-")
    # Allow every method of the stage, not just this one: API Gateway caches the policy per
    # token (ReauthorizeEvery), so a policy for one method would deny the next route.
    api_and_stage = "/".join(str(event["methodArn"]).split("/")[:2])
    return {
        "principalId": user,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": f"{api_and_stage}/*/*",
                }
            ],
        },
        "context": {"user": user},
    }


def _validate(body: Any) -> str | None:
    """The reason the order body is invalid, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    order_id = body.get("id")
    if not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
        return "id must be 1-64 letters, digits, '-' or '_'"
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return "items must be a non-empty list"
    for i, line in enumerate(items):
        if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
            return f"items[{i}].sku must be a string"
        qty = line.get("qty")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            return f"items[{i}].qty must be a positive integer"
    return None


def create_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """POST /orders: 201 with the order; 400 with the reason; 409 when the id exists."""
    try:
        body = json.loads(event.get("body") or "")
    except json.JSONDecodeError as error:
        return _response(400, {"message": f"the body is not JSON: {error.msg}"})
    reason = _validate(body)
    if reason is not None:
        return _response(400, {"message": reason})
    now = connect.clock().now()
    ttl_days = int(os.environ.get("ORDER_TTL_DAYS", "30"))
    item = {
        **_order_key(body["id"]),
        "Data1": "STATUS~NEW",
        "status": "NEW",
        "items": [{"sku": line["sku"], "qty": line["qty"]} for line in body["items"]],
        "created_at": now.isoformat(),
        "ExpiresAt": int((now + timedelta(days=ttl_days)).timestamp()),
    }
    try:
        _table().put(item, condition=NotExists("PK"))
    except ConditionFailedError:
        return _response(409, {"message": f"order {body['id']} already exists"})
    return _response(201, _public(item))


def get_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """GET /orders/{id}: 200 with the order, 404 when there is none."""
    order_id = (event.get("pathParameters") or {}).get("id", "")
    item = _table().get(_order_key(order_id))
    if item is None:
        return _response(404, {"message": f"order {order_id} not found"})
    return _response(200, _public(item))


# ---- DynamoDB stream -> queue -> state machine ---------------------------------------------


def on_order_change(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """For each new order in the stream, ask for fulfilment (one message per order)."""
    queue = connect.queue(os.environ["QUEUE_URL"])
    failures = []
    for record in event.get("Records", []):
        keys = record.get("dynamodb", {}).get("Keys", {})
        pk = keys.get("PK", {}).get("S", "")
        if record.get("eventName") != "INSERT" or keys.get("SK", {}).get("S") != "ORDER":
            continue
        try:
            queue.send(json.dumps({"order_id": pk.removeprefix("ORDER~")}))
        except Exception:  # report the record, the stream retries from it
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
            break
    return {"batchItemFailures": failures}


def start_fulfilment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start one FulfilOrder execution per message, named after the order (idempotent)."""
    workflows = connect.workflows()
    state_machine = os.environ["STATE_MACHINE_ARN"]
    failures = []
    for record in event.get("Records", []):
        try:
            order_id = str(json.loads(record["body"])["order_id"])
            workflows.start(state_machine, {"order_id": order_id}, name=order_id)
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


# ---- state machine tasks ------------------------------------------------------------------


def reserve_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reserve stock for the order: every line can be reserved except the out-of-stock SKU."""
    order_id = str(event["order_id"])
    item = _table().get(_order_key(order_id))
    if item is None:
        raise LookupError(f"order {order_id} not found")
    reserved = all(line.get("sku") != OUT_OF_STOCK_SKU for line in item.get("items", []))
    return {"order_id": order_id, "reserved": reserved}


def mark_shipped(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Mark the order SHIPPED, store a receipt object and announce it on the audit topic."""
    order_id = str(event["order_id"])
    _table().update(_order_key(order_id), set={"status": "SHIPPED", "Data1": "STATUS~SHIPPED"})
    receipt = json.dumps({"order_id": order_id, "status": "SHIPPED"}).encode()
    connect.bucket(os.environ["BUCKET_NAME"]).put(
        f"receipts/{order_id}.json", receipt, content_type="application/json"
    )
    connect.topic(os.environ["TOPIC_ARN"]).publish(
        json.dumps({"order_id": order_id, "status": "SHIPPED"}),
        subject="order shipped",
        attributes={"kind": "order", "status": "SHIPPED"},
    )
    return {"order_id": order_id, "status": "SHIPPED"}


# ---- SNS and EventBridge ------------------------------------------------------------------


def audit(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SNS subscriber: record each announced status change as an AUDIT item."""
    written = 0
    for record in event["Records"]:
        message = json.loads(record["Sns"]["Message"])
        _table().put(
            {
                "PK": f"ORDER~{message['order_id']}",
                "SK": f"AUDIT~{message['status']}",
                "subject": record["Sns"].get("Subject"),
            }
        )
        written += 1
    return {"written": written}


def record_receipt(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Task of the ArchiveReceipt state machine: remember where the receipt object is."""
    key = str(event["key"])
    order_id = key.removeprefix("receipts/").removesuffix(".json")
    _table().put(
        {"PK": f"ORDER~{order_id}", "SK": "RECEIPT", "key": key, "size": int(event["size"])}
    )
    return {"order_id": order_id, "key": key}


# ---- schedule -----------------------------------------------------------------------------


def sweep(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Count NEW orders (GSI1 query on Data1) and store the count in the STATS item."""
    table = _table()
    count = 0
    token: str | None = None
    while True:
        page = table.query("STATUS~NEW", index="GSI1", start=token)
        count += len(page.items)
        token = page.next_token
        if token is None:
            break
    stats = {"PK": "STATS", "SK": "STATS", "new_orders": count}
    table.put({**stats, "counted_at": connect.clock().now().isoformat()})
    return stats
