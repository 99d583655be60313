"""The demo fleet: 3 applications / 5 ASGs (one at MaxSize, one with a protected instance).

Used by ``stratus ami demo`` (a whole run in-process) and by ``stratus up --demo`` (template
Metadata ``stratus.demo``), which builds the fleet in the process's sandbox and publishes the
Image Builder event to the running topic.
"""

from __future__ import annotations

from typing import Any

from stratus.solutions.amirollout.scenario import (
    build_fleet,
    image_builder_message,
    parse_scenario,
    publish,
)

DEMO: dict[str, Any] = {
    "applications": [
        {
            "name": "shop",
            "image": "shop-image",
            "ami": "shop-2026-10",
            "asgs": [
                {"name": "shop-web", "min": 2, "max": 6, "desired": 3},
                {"name": "shop-worker", "min": 1, "max": 2, "desired": 2, "launch": "mixed"},
            ],
        },
        {
            "name": "billing",
            "image": "shop-image",
            "ami": "shop-2026-10",
            "asgs": [
                {"name": "billing-api", "min": 1, "max": 4, "desired": 2, "protected": 1},
                {
                    "name": "billing-legacy",
                    "min": 1,
                    "max": 3,
                    "desired": 1,
                    "launch": "configuration",
                },
            ],
        },
        {
            "name": "analytics",
            "image": "analytics-image",
            "ami": "analytics-2026-10",
            "asgs": [{"name": "analytics-etl", "min": 1, "max": 3, "desired": 2}],
        },
    ],
    "events": [
        {"image": "shop-image", "ami": "shop-2026-11", "regions": ["eu-west-1", "us-east-1"]}
    ],
    "boot_seconds": 60,
    "settings": {"BakeSeconds": 60, "PollSeconds": 15, "HealthTimeoutSeconds": 3600},
}


def load(runtime: Any) -> list[str]:
    """Build the demo fleet in this process's sandbox and publish the demo event."""
    from stratus.platform.adapters.aws.fleet_sandbox import current_sandbox

    scenario = parse_scenario(DEMO, "demo")
    sandbox = current_sandbox(runtime.apps[0].region, clock=runtime.clock)
    lines = []
    if sandbox.groups("ami-rollout:app"):
        lines.append("sandbox fleet already built")
    else:
        build_fleet(sandbox, scenario, runtime.clock)
        lines.append("sandbox fleet: 3 applications, 5 ASGs (moto, in memory)")
    event = scenario.events[0]
    region = runtime.apps[0].region
    ami = sandbox.image(event.ami)
    message = image_builder_message(
        event.image,
        event.version,
        event.status,
        [(r, ami if r == region else "ami-0other") for r in event.regions],
    )
    publish(runtime, message)
    lines.append(f"published Image Builder event for {message['arn']} (AMI {ami})")
    lines.append("the report email lands in <home>/outbox/ when the rollout ends")
    return lines
