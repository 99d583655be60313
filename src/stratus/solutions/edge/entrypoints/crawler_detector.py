"""CrawlerDetector: an access-log file landed in the log bucket; score its clients.

S3 object-created event → read the (gzip) CloudFront log file → :func:`service.detect_crawlers`
→ bot user agents recorded in the bot table.
"""

from __future__ import annotations

import gzip
import os
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from stratus.platform import connect
from stratus.solutions.edge import bootstrap, service

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process every log object of the event; returns counts per file."""
    table = bootstrap.bot_table(os.environ["BOT_TABLE"])
    clock = connect.clock()
    results = []
    for record in event.get("Records", []):
        s3 = record.get("s3", {})
        bucket = s3.get("bucket", {}).get("name", "")
        key = unquote_plus(s3.get("object", {}).get("key", ""))
        data = connect.bucket(bucket).get(key)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        lines = data.decode("utf-8", "replace").splitlines()
        found = service.detect_crawlers(lines, table, clock)
        logger.info(
            "log scored", extra={"key": key, "clients": found.clients, "bots": len(found.bots)}
        )
        results.append(
            {"key": key, "clients": found.clients, "bots": [b.user_agent for b in found.bots]}
        )
    return {"files": results}
