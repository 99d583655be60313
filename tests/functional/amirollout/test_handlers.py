"""The handlers with real Lambda event JSON (SNS, DynamoDB Streams) in the local runtime."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.events.dynamodb import stream_event
from stratus.platform.events.sns import sns_event
from stratus.platform.ports import StreamRecord, TopicMessage
from stratus.solutions.amirollout.scenario import (
    image_builder_message,
    sandbox_runtime,
    topic_arn,
    wait_for_rollouts,
)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Any, Any, FakeClock]]:
    clock = FakeClock()
    with sandbox_runtime(tmp_path, clock, parameters={"BakeSeconds": "30"}) as (runtime, sandbox):
        yield runtime, sandbox, clock


def sns(runtime: Any, body: str) -> dict[str, Any]:
    return sns_event(TopicMessage("m-1", body), topic_arn=topic_arn(runtime), region="us-east-1")


def test_a_message_that_is_not_from_image_builder_is_dropped_and_counted(app: Any) -> None:
    runtime, _, _ = app

    result = runtime.invoke("StartRolloutFunction", sns(runtime, '{"hello": "world"}'))
    assert result == {"started": [], "ignored": 1}
    result = runtime.invoke("StartRolloutFunction", sns(runtime, "not json"))
    assert result == {"started": [], "ignored": 1}


def test_the_same_sns_event_delivered_twice_starts_one_execution(app: Any) -> None:
    runtime, sandbox, _ = app
    ami = sandbox.image("web-v2")
    message = image_builder_message("web-image", "1.0.1/1", "AVAILABLE", [("us-east-1", ami)])
    event = sns(runtime, json.dumps(message))

    first = runtime.invoke("StartRolloutFunction", event)
    second = runtime.invoke("StartRolloutFunction", event)

    assert len(first["started"]) == 1
    assert second == {"started": [], "ignored": 1}
    executions = wait_for_rollouts(runtime)
    assert [e.status for e in executions] == ["SUCCEEDED"]
    assert executions[0].output["sent"] is True  # a report even with no opted-in ASG


def test_a_ttl_removal_stream_event_for_a_running_instance_emails_one_alert(app: Any) -> None:
    runtime, sandbox, clock = app
    ami = sandbox.image("web-v1")
    group = sandbox.add_group("web", image_id=ami, min_size=1, max_size=2, desired=1)
    running = group.instances[0].instance_id
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image/web-image/1.0.1/1"
    old = {
        "PK": f"EC2~{running}",
        "SK": f"AMI~{arn}",
        "instance_id": running,
        "asg_name": "web",
        "state": "TERMINATING",
        "ExpiresAt": int((clock.now() - timedelta(seconds=1)).timestamp()),
    }
    record = StreamRecord(
        sequence="100",
        event_name="REMOVE",
        keys={"PK": old["PK"], "SK": old["SK"]},
        new_image=None,
        old_image=old,
        by_service=True,
    )
    event = stream_event(
        [record], table_arn="arn:aws:dynamodb:us-east-1:0:table/t", region="us-east-1"
    )

    assert runtime.invoke("VerifyTerminatedFunction", event) == {"alerted": [running]}
    assert runtime.invoke("VerifyTerminatedFunction", event) == {"alerted": []}
    mails = runtime.resources.mailer().messages()
    assert len(mails) == 1
    assert "still running" in mails[0].read_text()
