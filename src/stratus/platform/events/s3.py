"""S3 object-created events, as AWS delivers them (pure: no I/O).

Two shapes exist on AWS and both are needed locally:

* the S3 *event notification* a Lambda function (or an SQS queue / SNS topic) receives,
  ``{"Records": [...]}`` with ``eventVersion`` 2.1 (AWS docs: "Event message structure");
* the *EventBridge* ``Object Created`` event, which is what a Step Functions state machine
  with an ``EventBridgeRule`` trigger receives (AWS docs: "Amazon S3 events delivered to
  EventBridge").

Like S3, the notification URL-encodes the key (``quote_plus``: a space becomes ``+``) while
the EventBridge event carries it verbatim. Fields that only identify a real request
(request ids, principal ids, source IP) get fixed placeholders; the event ``id`` and the
``sequencer`` are derived from the object so the functions stay deterministic.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from stratus.platform.ports.objects import ObjectInfo

_LOCAL_PRINCIPAL = "STRATUSLOCAL"
_LOCAL_REQUEST_ID = "STRATUSLOCALREQ0"


def _etag(info: ObjectInfo) -> str:
    # S3 writes the eTag without the quotes that HEAD returns.
    return info.etag.strip('"')


def _sequencer(info: ObjectInfo) -> str:
    # S3's sequencer is an opaque upper-case hex string that orders events of one key;
    # nanoseconds since the epoch have the same property.
    moment = info.last_modified.astimezone(UTC)
    nanos = int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
    return f"{nanos:018X}"


def _event_id(bucket: str, info: ObjectInfo) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{bucket}/{info.key}#{_sequencer(info)}"))


def _iso(moment: datetime, *, millis: bool) -> str:
    moment = moment.astimezone(UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def object_created_event(
    info: ObjectInfo,
    *,
    bucket: str,
    region: str,
    event_name: str = "ObjectCreated:Put",
    configuration_id: str = "stratus-local",
) -> dict[str, Any]:
    """The S3 event notification (``Records[]``) a Lambda function receives for ``info``."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _iso(info.last_modified, millis=True),
                "eventName": event_name,
                "userIdentity": {"principalId": _LOCAL_PRINCIPAL},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": _LOCAL_REQUEST_ID,
                    "x-amz-id-2": _LOCAL_REQUEST_ID,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": _LOCAL_PRINCIPAL},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(info.key, safe="/"),
                        "size": info.size,
                        "eTag": _etag(info),
                        "sequencer": _sequencer(info),
                    },
                },
            }
        ]
    }


def eventbridge_object_created(
    info: ObjectInfo, *, bucket: str, region: str, account: str
) -> dict[str, Any]:
    """The EventBridge ``Object Created`` event (what an EventBridgeRule trigger receives)."""
    return {
        "version": "0",
        "id": _event_id(bucket, info),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": _iso(info.last_modified, millis=False),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": info.key,
                "size": info.size,
                "etag": _etag(info),
                "sequencer": _sequencer(info),
            },
            "request-id": _LOCAL_REQUEST_ID,
            "requester": account,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }
