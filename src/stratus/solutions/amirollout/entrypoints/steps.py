"""The rollout state machine's tasks: thin wrappers over :mod:`service`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from stratus.solutions.amirollout import bootstrap, service
from stratus.solutions.amirollout.service import Target

logger = Logger(service="amirollout")


@logger.inject_lambda_context
def update_ami(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Step 1: point every opted-in ASG at a copy of its launch with the new AMI."""
    targets = service.update_ami(
        str(event["image_arn"]), str(event["ami_id"]), str(event["image_name"]), bootstrap.deps()
    )
    return {"targets": targets, "count": len(targets)}


@logger.inject_lambda_context
def scale_out(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Step 2: record and double capacity (once)."""
    return service.scale_out(Target.from_payload(event), bootstrap.deps())


@logger.inject_lambda_context
def check_health(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Step 3: are the new instances healthy for the bake time?"""
    return service.check_health(Target.from_payload(event), bootstrap.deps())


@logger.inject_lambda_context
def terminate_old(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Step 4: terminate old instances without dropping healthy capacity."""
    return service.terminate_old(Target.from_payload(event), bootstrap.deps())


@logger.inject_lambda_context
def rollback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Rollback of one ASG (after a health timeout, an alarm or a failed step), or, with
    ``scope: update``, of every ASG UpdateAmi recorded before it failed (RevertUpdate)."""
    raw = event.get("error")
    error = raw if isinstance(raw, dict) else None
    if event.get("scope") == "update":
        return service.revert_update(
            str(event["image_arn"]), str(event["ami_id"]), error, bootstrap.deps()
        )
    return service.rollback(Target.from_payload(event), error, bootstrap.deps())


@logger.inject_lambda_context
def send_report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Step 5: email the report."""
    return service.send_report(str(event["image_arn"]), str(event["ami_id"]), bootstrap.deps())
