"""Report uploader tasks of the ``uploader.asl.json`` state machine (thin handlers)."""

from __future__ import annotations

from typing import Any

from stratus.solutions.costs import uploader
from stratus.solutions.costs.bootstrap import account_ports, uploader_ports


def list_clients(event: Any, context: Any) -> dict[str, Any]:
    """First state: every client with its enabled configurations (only ``ClientId`` when the
    execution input names one; a scheduled run's input is the EventBridge event)."""
    only = event.get("ClientId") if isinstance(event, dict) else None
    return uploader.plan(account_ports(), str(only) if only else None)


def upload_report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Per configuration: upload its new or changed files; errors are in the result."""
    client_id = str(event["ClientId"])
    configuration_id = str(event["ConfigurationId"])
    return uploader.upload_configuration(uploader_ports(), client_id, configuration_id).as_dict()
