"""Contract of the Queue and QueueBroker ports: one suite, every adapter.

TestSqliteQueue runs it on a real SQLite file with a FakeClock; TestSqsQueue on moto, where
``advance`` really sleeps (at most ~1.2 s per call) because moto measures visibility on the
wall clock.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.queue import SqliteQueueBroker
from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    MessageTooLargeError,
    NotFoundError,
)
from stratus.platform.ports.queue import MAX_MESSAGE_BYTES, Message, Queue, QueueBroker

Advance = Callable[[float], None]


def receive_all(queue: Queue, expected: int, **kwargs: int) -> list[Message]:
    """Receive until ``expected`` messages came back (SQS may return fewer per call)."""
    received: list[Message] = []
    for _ in range(20):
        received += queue.receive(10, **kwargs)
        if len(received) >= expected:
            break
    return received


class QueueContract:
    """What every Queue/QueueBroker adapter guarantees."""

    @pytest.fixture
    def queue(self, broker: QueueBroker) -> Queue:
        return broker.create("jobs", visibility_s=30)

    def test_the_adapter_implements_the_ports(self, broker: QueueBroker, queue: Queue) -> None:
        assert isinstance(broker, QueueBroker)
        assert isinstance(queue, Queue)
        assert queue.name == "jobs"

    # -- send / receive / delete ----------------------------------------------------------

    def test_a_sent_message_is_received_with_its_body_and_attributes(self, queue: Queue) -> None:
        message_id = queue.send("hello", attributes={"kind": "greeting"})
        (message,) = queue.receive()
        assert message.message_id == message_id
        assert message.body == "hello"
        assert message.receive_count == 1
        assert dict(message.attributes) == {"kind": "greeting"}
        assert message.sent_at is not None
        assert message.sent_at.tzinfo is not None

    def test_an_empty_queue_returns_no_messages(self, queue: Queue) -> None:
        assert queue.receive(10) == []

    def test_a_deleted_message_never_comes_back(self, queue: Queue, advance: Advance) -> None:
        queue.send("once")
        (message,) = queue.receive(visibility_s=1)
        queue.delete(message.receipt)
        advance(1.2)
        assert queue.receive(10) == []

    def test_a_batch_of_received_messages_is_deleted_in_one_call(
        self, queue: Queue, advance: Advance
    ) -> None:
        queue.send_batch([f"m{i}" for i in range(10)])
        received = queue.receive(10, visibility_s=1)
        assert len(received) == 10
        queue.delete_batch([m.receipt for m in received[:9]])
        queue.delete_batch([])
        advance(1.2)
        assert [m.body for m in queue.receive(10)] == [received[9].body]

    def test_delete_batch_refuses_more_than_ten_receipts(self, queue: Queue) -> None:
        with pytest.raises(InvalidRequestError):
            queue.delete_batch([f"r{i}" for i in range(11)])

    def test_a_received_message_is_hidden_from_other_consumers(self, queue: Queue) -> None:
        queue.send("mine")
        assert len(queue.receive()) == 1
        assert queue.receive(10) == []

    def test_an_undeleted_message_comes_back_after_the_visibility_timeout_with_count_plus_one(
        self, queue: Queue, advance: Advance
    ) -> None:
        message_id = queue.send("retry me")
        (first,) = queue.receive(visibility_s=1)
        assert queue.receive() == []
        advance(1.2)
        (second,) = queue.receive(visibility_s=1)
        assert second.message_id == message_id
        assert second.receive_count == first.receive_count + 1 == 2
        assert second.receipt != first.receipt

    def test_the_queue_default_visibility_timeout_applies_when_none_is_given(
        self, broker: QueueBroker, advance: Advance
    ) -> None:
        queue = broker.create("short", visibility_s=1)
        queue.send("x")
        assert len(queue.receive()) == 1
        assert queue.receive() == []
        advance(1.2)
        assert len(queue.receive()) == 1

    def test_a_stale_receipt_is_ignored_and_the_current_receipt_deletes(
        self, queue: Queue, advance: Advance
    ) -> None:
        queue.send("x")
        (first,) = queue.receive(visibility_s=1)
        advance(1.2)
        (second,) = queue.receive(visibility_s=1)
        queue.delete(first.receipt)  # no error
        queue.delete(second.receipt)
        advance(1.2)
        assert queue.receive(10) == []

    def test_an_unknown_receipt_is_ignored(self, queue: Queue) -> None:
        queue.delete("not-a-receipt")
        queue.change_visibility("not-a-receipt", 10)

    def test_change_visibility_to_zero_makes_a_message_visible_at_once(self, queue: Queue) -> None:
        queue.send("x")
        (message,) = queue.receive(visibility_s=300)
        queue.change_visibility(message.receipt, 0)
        (again,) = queue.receive()
        assert again.message_id == message.message_id
        assert again.receive_count == 2

    def test_a_delayed_message_stays_hidden_until_its_delay_passes(
        self, queue: Queue, advance: Advance
    ) -> None:
        queue.send("later", delay_s=1)
        assert queue.receive() == []
        assert queue.counts().delayed == 1
        advance(1.2)
        (message,) = queue.receive()
        assert message.body == "later"

    def test_counts_report_visible_and_in_flight_messages(self, queue: Queue) -> None:
        queue.send_batch(["a", "b", "c"])
        receive_all(queue, 1)  # may take 1..3
        counts = queue.counts()
        assert counts.visible + counts.in_flight == 3
        assert counts.in_flight >= 1
        assert counts.delayed == 0

    def test_purge_deletes_every_message(self, queue: Queue) -> None:
        queue.send_batch(["a", "b"])
        queue.purge()
        assert queue.receive(10) == []
        assert queue.counts().visible == 0

    # -- dead-letter queue -----------------------------------------------------------------

    def test_a_message_moves_to_the_dead_letter_queue_after_max_receives(
        self, broker: QueueBroker
    ) -> None:
        dlq = broker.create("jobs-dlq")
        queue = broker.create("jobs-with-dlq", dead_letter="jobs-dlq", max_receives=2)
        message_id = queue.send("poison")
        counts = [m.receive_count for _ in range(2) for m in queue.receive(visibility_s=0)]
        assert counts == [1, 2]
        assert queue.receive(visibility_s=0) == []  # the third receive would exceed 2
        (dead,) = receive_all(dlq, 1)
        assert dead.message_id == message_id
        assert dead.body == "poison"

    def test_a_dead_letter_queue_must_exist(self, broker: QueueBroker) -> None:
        with pytest.raises(NotFoundError):
            broker.create("orphan", dead_letter="no-such-dlq", max_receives=3)
        assert broker.create("orphan").name == "orphan"  # the failed create left nothing behind

    def test_a_dead_letter_queue_needs_max_receives(self, broker: QueueBroker) -> None:
        broker.create("some-dlq")
        with pytest.raises(InvalidRequestError):
            broker.create("half", dead_letter="some-dlq")

    # -- batches and size limits -----------------------------------------------------------

    def test_a_batch_of_ten_is_sent_and_received(self, queue: Queue) -> None:
        bodies = [f"m{i}" for i in range(10)]
        ids = queue.send_batch(bodies)
        assert len(set(ids)) == 10
        received = receive_all(queue, 10)
        assert sorted(m.body for m in received) == sorted(bodies)
        assert {m.message_id for m in received} == set(ids)

    def test_a_batch_of_eleven_is_refused_and_nothing_is_sent(self, queue: Queue) -> None:
        with pytest.raises(InvalidRequestError):
            queue.send_batch([f"m{i}" for i in range(11)])
        assert queue.receive(10) == []

    def test_an_empty_batch_is_refused(self, queue: Queue) -> None:
        with pytest.raises(InvalidRequestError):
            queue.send_batch([])

    def test_a_batch_over_256_kib_is_refused_and_nothing_is_sent(self, queue: Queue) -> None:
        body = "x" * (MAX_MESSAGE_BYTES // 4 + 1)
        with pytest.raises(MessageTooLargeError):
            queue.send_batch([body] * 4)
        assert queue.receive(10) == []

    def test_a_message_of_exactly_256_kib_is_accepted(self, queue: Queue) -> None:
        queue.send("x" * MAX_MESSAGE_BYTES)
        (message,) = queue.receive()
        assert len(message.body) == MAX_MESSAGE_BYTES

    def test_a_single_message_over_256_kib_is_refused(self, queue: Queue) -> None:
        with pytest.raises(MessageTooLargeError):
            queue.send("x" * (MAX_MESSAGE_BYTES + 1))
        assert queue.receive(10) == []

    def test_the_size_limit_counts_utf8_bytes_not_characters(self, queue: Queue) -> None:
        with pytest.raises(MessageTooLargeError):
            queue.send("é" * (MAX_MESSAGE_BYTES // 2 + 1))

    def test_an_empty_body_is_refused(self, queue: Queue) -> None:
        with pytest.raises(InvalidRequestError):
            queue.send("")

    @pytest.mark.parametrize("max_messages", [0, 11])
    def test_receiving_outside_1_to_10_messages_is_refused(
        self, queue: Queue, max_messages: int
    ) -> None:
        with pytest.raises(InvalidRequestError):
            queue.receive(max_messages)

    # -- broker ----------------------------------------------------------------------------

    def test_create_is_idempotent_for_the_same_settings(self, broker: QueueBroker) -> None:
        first = broker.create("same", visibility_s=45)
        first.send("kept")
        second = broker.create("same", visibility_s=45)
        assert second.name == "same"
        assert [m.body for m in second.receive()] == ["kept"]

    def test_create_with_other_settings_is_refused(self, broker: QueueBroker) -> None:
        broker.create("same", visibility_s=45)
        with pytest.raises(InvalidRequestError):
            broker.create("same", visibility_s=60)

    def test_an_invalid_queue_name_is_refused(self, broker: QueueBroker) -> None:
        with pytest.raises(InvalidRequestError):
            broker.create("no spaces allowed")

    def test_a_temporary_queue_is_created_listed_and_deleted(self, broker: QueueBroker) -> None:
        broker.create("run-42-b")
        broker.create("run-42-a")
        broker.create("other")
        assert broker.names("run-42-") == ["run-42-a", "run-42-b"]
        assert broker.get("run-42-a").name == "run-42-a"
        broker.delete("run-42-a")
        assert broker.names("run-42-") == ["run-42-b"]
        assert "other" in broker.names()
        with pytest.raises(NotFoundError):
            broker.get("run-42-a")
        with pytest.raises(NotFoundError):
            broker.delete("run-42-a")

    def test_a_handle_on_a_deleted_queue_raises_not_found(self, broker: QueueBroker) -> None:
        queue = broker.create("gone")
        broker.delete("gone")
        with pytest.raises(NotFoundError):
            queue.send("x")
        with pytest.raises(NotFoundError):
            queue.receive()

    def test_an_unknown_queue_raises_not_found(self, broker: QueueBroker) -> None:
        with pytest.raises(NotFoundError):
            broker.get("never-created")
        with pytest.raises(NotFoundError):
            broker.delete("never-created")


# ---------------------------------------------------------------------------------- SQLite


def _consume_in_process(path: str, out: multiprocessing.Queue[list[str]]) -> None:
    broker = SqliteQueueBroker(Path(path))
    queue = broker.get("shared")
    ids: list[str] = []
    while batch := queue.receive(10, visibility_s=600):
        ids += [m.message_id for m in batch]
    out.put(ids)


class TestSqliteQueue(QueueContract):
    """The SQLite adapter on a real file; time moves only with the FakeClock."""

    @pytest.fixture
    def broker(self, tmp_path: Path, clock: FakeClock) -> Iterator[SqliteQueueBroker]:
        broker = SqliteQueueBroker(tmp_path / "queues.db", clock=clock)
        yield broker
        broker.close()

    @pytest.fixture
    def advance(self, clock: FakeClock) -> Advance:
        return clock.advance

    def test_a_stale_receipt_does_not_delete_the_message(
        self, queue: Queue, advance: Advance
    ) -> None:
        # SQS only says the message "might not be deleted"; moto deletes it. Locally, never.
        queue.send("x")
        (first,) = queue.receive(visibility_s=1)
        advance(2)
        queue.receive(visibility_s=1)
        queue.delete(first.receipt)
        advance(2)
        assert [m.receive_count for m in queue.receive()] == [3]

    def test_messages_survive_a_new_broker_on_the_same_file(
        self, tmp_path: Path, clock: FakeClock
    ) -> None:
        SqliteQueueBroker(tmp_path / "q.db", clock=clock).create("durable").send("kept")
        reopened = SqliteQueueBroker(tmp_path / "q.db", clock=clock)
        assert [m.body for m in reopened.get("durable").receive()] == ["kept"]

    def test_concurrent_consumers_in_threads_never_get_the_same_message(
        self, broker: SqliteQueueBroker
    ) -> None:
        queue = broker.create("shared")
        sent = {i for _ in range(20) for i in queue.send_batch([f"m{j}" for j in range(10)])}
        received: list[str] = []
        lock = threading.Lock()

        def consume() -> None:
            while batch := queue.receive(3, visibility_s=600):
                with lock:
                    received.extend(m.message_id for m in batch)

        threads = [threading.Thread(target=consume) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(received) == len(sent) == 200
        assert set(received) == sent

    def test_concurrent_consumers_in_processes_never_get_the_same_message(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "shared.db"
        queue = SqliteQueueBroker(path).create("shared")
        sent = {i for _ in range(20) for i in queue.send_batch([f"m{j}" for j in range(10)])}
        context = multiprocessing.get_context("fork")
        out: multiprocessing.Queue[list[str]] = context.Queue()
        workers = [
            context.Process(target=_consume_in_process, args=(str(path), out)) for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        received = [i for _ in workers for i in out.get(timeout=60)]
        for worker in workers:
            worker.join()
        assert len(received) == 200
        assert set(received) == sent

    def test_a_long_poll_returns_a_message_sent_while_it_waits(
        self, broker: SqliteQueueBroker
    ) -> None:
        queue = broker.create("polled")
        sender = threading.Timer(0.05, lambda: queue.send("late"))
        sender.start()
        messages = queue.receive(wait_s=10)
        sender.join()
        assert [m.body for m in messages] == ["late"]

    def test_a_long_poll_on_an_empty_queue_returns_nothing(self, broker: SqliteQueueBroker) -> None:
        assert broker.create("quiet").receive(wait_s=0.05) == []

    def test_first_received_at_stays_at_the_first_receive(
        self, queue: Queue, advance: Advance, clock: FakeClock
    ) -> None:
        queue.send("x")
        (first,) = queue.receive(visibility_s=1)
        advance(5)
        (second,) = queue.receive()
        assert first.first_received_at == second.first_received_at != clock.now()

    def test_an_unusable_database_path_raises_backend_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "dir.db").mkdir()
        with pytest.raises(BackendUnavailableError):
            SqliteQueueBroker(tmp_path / "dir.db")


# ------------------------------------------------------------------------------------- SQS


class FailingClient:
    """A fake boto3 SQS client whose every call fails with one error code (or, with None, an
    unreachable endpoint)."""

    def __init__(self, code: str | None) -> None:
        self.code = code

    def __getattr__(self, operation: str) -> Callable[..., None]:
        def fail(**_: object) -> None:
            from botocore.exceptions import (
                ClientError,  # noqa: TID251 - the fake plays the aws side
                EndpointConnectionError,
            )

            if self.code is None:
                raise EndpointConnectionError(endpoint_url="https://sqs.example")
            raise ClientError({"Error": {"Code": self.code, "Message": "m"}}, operation)

        return fail


class TestSqsQueue(QueueContract):
    """The SQS adapter against moto (real short sleeps for visibility timeouts)."""

    @pytest.fixture
    def broker(self, moto_aws: None) -> QueueBroker:
        import boto3

        from stratus.platform.adapters.aws.queue import SqsQueueBroker

        return SqsQueueBroker(client=boto3.client("sqs", region_name="us-east-1"))

    @pytest.fixture
    def advance(self) -> Advance:
        def sleep(seconds: float) -> None:
            time.sleep(min(seconds, 1.5))

        return sleep

    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            ("AWS.SimpleQueueService.NonExistentQueue", NotFoundError),
            ("QueueDoesNotExist", NotFoundError),
            ("BatchRequestTooLong", MessageTooLargeError),
            ("TooManyEntriesInBatchRequest", InvalidRequestError),
            ("Throttling", BackendUnavailableError),
            ("AccessDenied", BackendUnavailableError),
        ],
    )
    def test_sqs_error_codes_become_port_exceptions(
        self, code: str, expected: type[Exception]
    ) -> None:
        from stratus.platform.adapters.aws.queue import SqsQueue

        queue = SqsQueue("q", "https://sqs.example/1/q", client=FailingClient(code))
        with pytest.raises(expected) as raised:
            queue.send("x")
        assert type(raised.value) is expected
        assert code in str(raised.value)

    def test_an_unreachable_endpoint_raises_backend_unavailable(self) -> None:
        from stratus.platform.adapters.aws.queue import SqsQueue

        queue = SqsQueue("q", "https://sqs.example/1/q", client=FailingClient(None))
        with pytest.raises(BackendUnavailableError):
            queue.receive()

    def test_the_broker_builds_its_client_lazily(self, moto_aws: None) -> None:
        from stratus.platform.adapters.aws.queue import SqsQueueBroker

        broker = SqsQueueBroker()
        broker.create("lazy")
        assert broker.names() == ["lazy"]
