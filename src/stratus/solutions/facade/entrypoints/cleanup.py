"""Scheduled clean-up (EventBridge rule): archive obsolete rows to S3, then delete them."""

from __future__ import annotations

import os
from typing import Any

from stratus.platform import connect
from stratus.solutions.facade import bootstrap
from stratus.solutions.facade.cleanup import run_cleanup
from stratus.solutions.facade.domain.cleanup import parse_rules


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run every rule of CLEANUP_RULES against the writer; return the counts."""
    rules = parse_rules(os.environ.get("CLEANUP_RULES", "[]"))
    deps = bootstrap.from_env()
    return run_cleanup(
        rules, deps.engines.writer, connect.bucket(os.environ["ARCHIVE_BUCKET"]), deps.clock
    )
