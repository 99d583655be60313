"""Lambda handlers of the ETL state machine: translate the payload, call :mod:`..etl`.

Each handler receives the whole job document the state machine carries (see ``etl.py``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from stratus.solutions.costs import etl
from stratus.solutions.costs.bootstrap import etl_ports

logger = Logger(service="costs")


def mark_started(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge "Object Created" event (the execution input) → job document."""
    detail = event.get("detail") or {}
    bucket = str((detail.get("bucket") or {}).get("name", ""))
    key = str((detail.get("object") or {}).get("key", ""))
    if not bucket or not key:
        return {"skip": True, "reason": "the event names no bucket and key"}
    job = etl.mark_started(bucket, key, etl_ports())
    logger.debug("file started", extra={"key": key, "skip": job.get("skip")})
    return job


def create_queue(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Create the load's temporary queue."""
    return etl.create_queue(event, etl_ports())


def read_chunks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Send the next chunks to the temporary queue; return the cursor."""
    return etl.read_chunks(event, etl_ports())


def process_chunks(event: dict[str, Any], context: Any) -> dict[str, int]:
    """A chunk worker: drain the temporary queue."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        return etl.process_chunks(event, etl_ports(), remaining_ms=remaining)
    return etl.process_chunks(event, etl_ports())


def check_chunks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Are all chunks stored?"""
    return etl.check_chunks(event, etl_ports())


def build_reports(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publish the load and store the period reports; return the load summary."""
    return etl.build_reports(event, etl_ports())


def delete_queue(event: dict[str, Any], context: Any) -> dict[str, bool]:
    """Delete the temporary queue."""
    etl.delete_queue(event, etl_ports())
    return {"deleted": True}


def mark_processed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Record PROCESSED (or FAILED when the job carries an error)."""
    return etl.mark_processed(event, etl_ports())
