"""Composition root of the streaming solution: the only place that picks adapters.

Resources come from :mod:`stratus.platform.connect` with the names the SAM template puts in
the environment, so the same handlers run on AWS and locally. Payments use the local test
provider unless ``PAYMENT_PROVIDER`` names another (none other is wired in phase 1).
"""

from __future__ import annotations

import os

from stratus.platform import connect
from stratus.solutions.streaming.service import Ports, TestPaymentProvider
from stratus.solutions.streaming.store import Store


def ports() -> Ports:
    """Ports from the environment the template declares."""
    if os.environ.get("PAYMENT_PROVIDER", "test") != "test":
        raise RuntimeError("only PAYMENT_PROVIDER=test is implemented in phase 1")
    return Ports(
        store=Store(connect.table(os.environ["TABLE_NAME"])),
        recordings=connect.bucket(os.environ["RECORDINGS_BUCKET"]),
        mailer=connect.mailer(),
        clock=connect.clock(),
        secrets=connect.secrets(),
        payments=TestPaymentProvider(),
        sender=os.environ.get("SENDER_EMAIL") or "noreply@streaming.example.com",
        reconnect_window_s=float(os.environ.get("RECONNECT_WINDOW_S") or 10),
        ingest_url=os.environ.get("INGEST_URL", ""),
        site_url=os.environ.get("SITE_URL", ""),
    )
