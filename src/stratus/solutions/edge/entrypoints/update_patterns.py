"""UpdateBotPatternSet: on a schedule, push the bot table into the WAF regex pattern set.

On AWS: GetRegexPatternSet → UpdateRegexPatternSet with the lock token (retried on
WAFOptimisticLockException), at most 10 patterns of 200 characters. Locally the same service
writes the set the running proxy reads.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from stratus.solutions.edge import bootstrap, service

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Refresh the reported-bots pattern set; report what did not fit the quotas."""
    table = bootstrap.bot_table(os.environ["BOT_TABLE"])
    # PATTERN_SET is CloudFormation's Ref of the set: "name|id|scope" (locally the logical id)
    result = service.refresh_pattern_set(
        table, bootstrap.pattern_sets(table), os.environ["PATTERN_SET"]
    )
    if result.left_out:
        logger.warning(
            "user agents left out of the pattern set", extra={"count": len(result.left_out)}
        )
    return {
        "patterns": list(result.patterns),
        "left_out": list(result.left_out),
        "changed": result.changed,
    }
