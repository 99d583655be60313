"""VerifyTerminated: the DynamoDB stream (TTL removals) and a schedule (prompt check)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from stratus.platform.events.dynamodb import stream_record_from_event_record
from stratus.solutions.amirollout import bootstrap, service

logger = Logger(service="amirollout")
metrics = Metrics(namespace="stratus/amirollout")


@metrics.log_metrics
@logger.inject_lambda_context
def on_stream(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Instance items deleted by TTL (REMOVE by the service): alert when still running."""
    expired = []
    for raw in event.get("Records", []):
        record = stream_record_from_event_record(raw)
        if record.event_name == "REMOVE" and record.by_service and record.old_image:
            expired.append(record.old_image)
    alerted = service.on_expired(expired, bootstrap.deps())
    metrics.add_metric(name="InstancesStillRunning", unit=MetricUnit.Count, value=len(alerted))
    return {"alerted": alerted}


@metrics.log_metrics
@logger.inject_lambda_context
def on_schedule(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Watches past their grace time: alert for instances still running."""
    alerted = service.check_due(bootstrap.deps())
    metrics.add_metric(name="InstancesStillRunning", unit=MetricUnit.Count, value=len(alerted))
    return {"alerted": alerted}
