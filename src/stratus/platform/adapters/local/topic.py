"""An SNS-like topic that delivers in-process, synchronously, inside ``publish``.

Copies SNS: every subscription whose filter policy matches the message attributes gets the
message (:mod:`stratus.platform.filterpolicy`); queue subscriptions behave like SNS->SQS with
``RawMessageDelivery=true``: the queue receives the raw body and the message attributes become
string message attributes (numbers as text, String.Array as JSON). Subscribing the same queue
again returns the same subscription, as SNS does.

Departures from SNS: delivery happens before ``publish`` returns (SNS is asynchronous); a
failing delivery (callback exception, deleted queue) is logged and dropped, not retried, and it
never stops delivery to the other subscriptions.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stratus.platform import filterpolicy
from stratus.platform.adapters import topicrules
from stratus.platform.ports.errors import InvalidRequestError, PortError
from stratus.platform.ports.queue import QueueBroker
from stratus.platform.ports.topic import AttributeValue, TopicMessage

__all__ = ["InProcessTopic"]

log = logging.getLogger(__name__)

Callback = Callable[[TopicMessage], None]


@dataclass(frozen=True)
class _Subscription:
    subscription_id: str
    filter_policy: Mapping[str, Any] | None
    queue_name: str | None = None
    callback: Callback | None = None


class InProcessTopic:
    """A topic whose subscribers are queues of ``broker`` or Python callables.

    ``subscribe`` (callables) is what the local runtime uses for Lambda functions and state
    machines subscribed to a topic. Thread-safe.
    """

    def __init__(self, name: str, broker: QueueBroker) -> None:
        self.name = name
        self._broker = broker
        self._lock = threading.Lock()
        self._subscriptions: dict[str, _Subscription] = {}

    def __repr__(self) -> str:
        return f"InProcessTopic({self.name!r})"

    def _new_id(self) -> str:
        return f"{self.name}:{uuid.uuid4()}"

    @staticmethod
    def _policy(filter_policy: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if filter_policy is None:
            return None
        filterpolicy.validate(filter_policy)
        return copy.deepcopy(dict(filter_policy))

    def subscribe_queue(
        self, queue_name: str, *, filter_policy: Mapping[str, Any] | None = None
    ) -> str:
        """Deliver matching messages (raw body) to the named queue; return a subscription id.

        NotFoundError when the queue does not exist; InvalidRequestError for a bad policy or
        when the queue is already subscribed with another policy (SNS refuses that too)."""
        policy = self._policy(filter_policy)
        self._broker.get(queue_name)
        with self._lock:
            for existing in self._subscriptions.values():
                if existing.queue_name == queue_name:
                    if existing.filter_policy != policy:
                        raise InvalidRequestError(
                            f"queue {queue_name!r} is already subscribed with another policy"
                        )
                    return existing.subscription_id
            subscription = _Subscription(self._new_id(), policy, queue_name=queue_name)
            self._subscriptions[subscription.subscription_id] = subscription
        return subscription.subscription_id

    def subscribe(
        self, callback: Callback, *, filter_policy: Mapping[str, Any] | None = None
    ) -> str:
        """Call ``callback`` with each matching message; return a subscription id."""
        if not callable(callback):
            raise InvalidRequestError("callback must be callable")
        policy = self._policy(filter_policy)
        subscription = _Subscription(self._new_id(), policy, callback=callback)
        with self._lock:
            self._subscriptions[subscription.subscription_id] = subscription
        return subscription.subscription_id

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription; an unknown id is ignored (SNS Unsubscribe is idempotent)."""
        with self._lock:
            self._subscriptions.pop(subscription_id, None)

    def subscription_ids(self) -> list[str]:
        """Ids of the current subscriptions, in subscription order."""
        with self._lock:
            return list(self._subscriptions)

    def publish(
        self,
        body: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> str:
        """Deliver to every matching subscription now; return the message id."""
        topicrules.check_publish(body, subject, attributes)
        message = TopicMessage(
            message_id=str(uuid.uuid4()),
            body=body,
            subject=subject,
            attributes=copy.deepcopy(dict(attributes or {})),
        )
        with self._lock:
            subscriptions = list(self._subscriptions.values())
        for subscription in subscriptions:
            policy = subscription.filter_policy
            if policy is not None and not filterpolicy.matches(policy, message.attributes):
                continue
            self._deliver(subscription, message)
        return message.message_id

    def _deliver(self, subscription: _Subscription, message: TopicMessage) -> None:
        try:
            if subscription.queue_name is not None:
                # SNS raw delivery to SQS: raw body, attributes as SQS message attributes.
                queue_attributes = {
                    name: topicrules.sns_attribute(value)[1]
                    for name, value in message.attributes.items()
                }
                self._broker.get(subscription.queue_name).send(
                    message.body, attributes=queue_attributes or None
                )
            elif subscription.callback is not None:
                subscription.callback(message)
        except PortError:
            log.warning(
                "topic %s: delivery of %s to %s failed",
                self.name,
                message.message_id,
                subscription.subscription_id,
                exc_info=True,
            )
        except Exception:
            log.exception(
                "topic %s: subscriber %s raised on message %s",
                self.name,
                subscription.subscription_id,
                message.message_id,
            )
