"""Contract of the Topic port: one suite, every adapter.

TestInProcessTopic delivers to SQLite queues; TestSnsTopic runs SNS -> SQS on moto.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.queue import SqliteQueueBroker
from stratus.platform.adapters.local.topic import InProcessTopic
from stratus.platform.ports.errors import InvalidRequestError, MessageTooLargeError, NotFoundError
from stratus.platform.ports.queue import Message, Queue, QueueBroker
from stratus.platform.ports.topic import AttributeValue, Topic, TopicMessage


def drain(queue: Queue) -> list[Message]:
    """Every message currently in the queue (deleted as they are read)."""
    messages: list[Message] = []
    while batch := queue.receive(10):
        messages += batch
        for message in batch:
            queue.delete(message.receipt)
    return messages


def bodies(queue: Queue) -> list[str]:
    return sorted(m.body for m in drain(queue))


PUBLISHED: list[tuple[str, dict[str, AttributeValue]]] = [
    ("m1", {"kind": "order", "region": "eu-west-1", "amount": 150}),
    ("m2", {"kind": "refund", "region": "us-east-1", "amount": 50}),
    ("m3", {"kind": "order", "region": "us-east-1", "amount": 10}),
    ("m4", {}),
]


class TopicContract:
    """What every Topic adapter guarantees."""

    def test_the_adapter_implements_the_port(self, topic: Topic) -> None:
        assert isinstance(topic, Topic)
        assert topic.name == "events"

    def test_fan_out_delivers_to_each_queue_exactly_the_messages_its_policy_matches(
        self, topic: Topic, broker: QueueBroker
    ) -> None:
        policies: dict[str, dict[str, Any] | None] = {
            "exact": {"kind": ["order"]},
            "prefix": {"region": [{"prefix": "eu-"}]},
            "numeric": {"amount": [{"numeric": [">", 100]}]},
            "anything-but": {"kind": [{"anything-but": "order"}]},
            "everything": None,
        }
        queues = {name: broker.create(f"fan-{name}") for name in policies}
        for name, policy in policies.items():
            topic.subscribe_queue(f"fan-{name}", filter_policy=policy)

        for body, attributes in PUBLISHED:
            topic.publish(body, attributes=attributes)

        assert bodies(queues["exact"]) == ["m1", "m3"]
        assert bodies(queues["prefix"]) == ["m1"]
        assert bodies(queues["numeric"]) == ["m1"]
        assert bodies(queues["anything-but"]) == ["m2"]
        assert bodies(queues["everything"]) == ["m1", "m2", "m3", "m4"]

    def test_a_queue_gets_the_raw_body_and_the_attributes_as_text(
        self, topic: Topic, broker: QueueBroker
    ) -> None:
        queue = broker.create("raw")
        topic.subscribe_queue("raw")
        body = '{"order": 42}'
        topic.publish(body, subject="New order", attributes={"kind": "order", "amount": 150})
        (message,) = drain(queue)
        assert message.body == body
        assert message.attributes["kind"] == "order"
        assert message.attributes["amount"] == "150"

    def test_a_string_array_attribute_matches_when_any_element_matches(
        self, topic: Topic, broker: QueueBroker
    ) -> None:
        queue = broker.create("tagged")
        topic.subscribe_queue("tagged", filter_policy={"tags": ["urgent"]})
        topic.publish("yes", attributes={"tags": ["billing", "urgent"]})
        topic.publish("no", attributes={"tags": ["billing"]})
        assert bodies(queue) == ["yes"]

    def test_publish_returns_a_distinct_message_id_each_time(self, topic: Topic) -> None:
        assert topic.publish("a") != topic.publish("a")

    def test_an_unsubscribed_queue_gets_nothing_more(
        self, topic: Topic, broker: QueueBroker
    ) -> None:
        queue = broker.create("leaving")
        subscription = topic.subscribe_queue("leaving")
        topic.publish("before")
        topic.unsubscribe(subscription)
        topic.publish("after")
        assert bodies(queue) == ["before"]
        topic.unsubscribe(subscription)  # a second time is harmless

    def test_subscribing_the_same_queue_twice_returns_the_same_subscription(
        self, topic: Topic, broker: QueueBroker
    ) -> None:
        queue = broker.create("twice")
        first = topic.subscribe_queue("twice")
        assert topic.subscribe_queue("twice") == first
        topic.publish("once")
        assert bodies(queue) == ["once"]

    def test_subscribing_an_unknown_queue_raises_not_found(self, topic: Topic) -> None:
        with pytest.raises(NotFoundError):
            topic.subscribe_queue("no-such-queue")

    def test_a_malformed_filter_policy_is_refused(self, topic: Topic, broker: QueueBroker) -> None:
        broker.create("picky")
        with pytest.raises(InvalidRequestError):
            topic.subscribe_queue("picky", filter_policy={"kind": "order"})

    def test_a_message_over_256_kib_is_refused(self, topic: Topic) -> None:
        with pytest.raises(MessageTooLargeError):
            topic.publish("x" * 262_145)

    def test_a_subject_over_100_characters_is_refused(self, topic: Topic) -> None:
        with pytest.raises(InvalidRequestError):
            topic.publish("x", subject="s" * 101)

    def test_an_attribute_of_an_unsupported_type_is_refused(self, topic: Topic) -> None:
        with pytest.raises(InvalidRequestError):
            topic.publish("x", attributes={"flag": True})


class TestInProcessTopic(TopicContract):
    """The in-process topic delivering to SQLite queues."""

    @pytest.fixture
    def broker(self, tmp_path: Path, clock: FakeClock) -> Iterator[SqliteQueueBroker]:
        broker = SqliteQueueBroker(tmp_path / "queues.db", clock=clock)
        yield broker
        broker.close()

    @pytest.fixture
    def topic(self, broker: SqliteQueueBroker) -> InProcessTopic:
        return InProcessTopic("events", broker)

    def test_callbacks_get_matching_messages_with_subject_and_attributes(
        self, topic: InProcessTopic
    ) -> None:
        seen: list[TopicMessage] = []
        topic.subscribe(seen.append, filter_policy={"kind": ["order"]})
        message_id = topic.publish("hi", subject="Hello", attributes={"kind": "order"})
        topic.publish("skip", attributes={"kind": "refund"})
        assert seen == [
            TopicMessage(
                message_id=message_id, body="hi", subject="Hello", attributes={"kind": "order"}
            )
        ]

    def test_a_failing_subscriber_does_not_stop_delivery_to_the_others(
        self, topic: InProcessTopic, broker: SqliteQueueBroker, caplog: pytest.LogCaptureFixture
    ) -> None:
        def explode(message: TopicMessage) -> None:
            raise RuntimeError("boom")

        seen: list[str] = []
        queue = broker.create("after-failure")
        topic.subscribe(explode)
        broker.create("deleted-later")
        topic.subscribe_queue("deleted-later")
        broker.delete("deleted-later")
        topic.subscribe_queue("after-failure")
        topic.subscribe(lambda m: seen.append(m.body))
        with caplog.at_level(logging.WARNING):
            topic.publish("survives")
        assert seen == ["survives"]
        assert bodies(queue) == ["survives"]
        assert "boom" in caplog.text
        assert "deleted-later" not in broker.names()

    def test_the_same_queue_with_another_policy_is_refused(
        self, topic: InProcessTopic, broker: SqliteQueueBroker
    ) -> None:
        broker.create("q")
        topic.subscribe_queue("q", filter_policy={"a": ["1"]})
        with pytest.raises(InvalidRequestError):
            topic.subscribe_queue("q", filter_policy={"a": ["2"]})

    def test_unsubscribing_a_callback_stops_its_deliveries(self, topic: InProcessTopic) -> None:
        seen: list[str] = []
        subscription = topic.subscribe(lambda m: seen.append(m.body))
        topic.publish("one")
        topic.unsubscribe(subscription)
        topic.publish("two")
        assert seen == ["one"]
        assert topic.subscription_ids() == []


class TestSnsTopic(TopicContract):
    """SNS -> SQS on moto."""

    @pytest.fixture
    def broker(self, moto_aws: None) -> QueueBroker:
        import boto3

        from stratus.platform.adapters.aws.queue import SqsQueueBroker

        return SqsQueueBroker(client=boto3.client("sqs", region_name="us-east-1"))

    @pytest.fixture
    def topic(self, moto_aws: None) -> Topic:
        import boto3

        from stratus.platform.adapters.aws.topic import SnsTopic

        sns = boto3.client("sns", region_name="us-east-1")
        arn = sns.create_topic(Name="events")["TopicArn"]
        return SnsTopic(arn, client=sns, sqs_client=boto3.client("sqs", region_name="us-east-1"))

    def test_subscribing_lets_the_topic_send_to_the_queue(
        self, topic: Topic, broker: QueueBroker
    ) -> None:
        import json

        import boto3

        broker.create("guarded")
        topic.subscribe_queue("guarded")
        topic.subscribe_queue("guarded")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.get_queue_url(QueueName="guarded")["QueueUrl"]
        policy = json.loads(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"][
                "Policy"
            ]
        )
        (statement,) = policy["Statement"]
        assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":events")

    def test_an_invalid_topic_arn_is_refused(self) -> None:
        from stratus.platform.adapters.aws.topic import SnsTopic

        with pytest.raises(InvalidRequestError):
            SnsTopic("events")
