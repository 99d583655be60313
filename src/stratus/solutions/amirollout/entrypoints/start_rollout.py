"""StartRollout: subscribed to the Image Builder SNS topic; starts one rollout per new AMI.

SNS → Lambda → StartExecution is the standard way to have Step Functions "subscribed" to an
SNS topic. Invalid messages are logged and dropped (retrying cannot fix them).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from stratus.solutions.amirollout import bootstrap, service
from stratus.solutions.amirollout.entrypoints.events import ImageBuilderMessage

logger = Logger(service="amirollout")
metrics = Metrics(namespace="stratus/amirollout")


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start a rollout for each valid AVAILABLE image message with an AMI for our region."""
    deps = bootstrap.deps()
    started, ignored = [], 0
    metrics.add_metric(
        name="ImageEventsReceived", unit=MetricUnit.Count, value=len(event.get("Records", []))
    )
    for record in event.get("Records", []):
        raw = record.get("Sns", {}).get("Message", "")
        try:
            message = ImageBuilderMessage.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            logger.warning("not an Image Builder message, dropped", extra={"error": str(exc)})
            ignored += 1
            continue
        arn = service.start_rollout(message.to_domain(), bootstrap.region(), deps)
        if arn is None:
            logger.info("nothing to roll out", extra={"image": message.arn})
            ignored += 1
        else:
            logger.info("rollout started", extra={"execution": arn})
            metrics.add_metric(name="RolloutsStarted", unit=MetricUnit.Count, value=1)
            started.append(arn)
    return {"started": started, "ignored": ignored}
