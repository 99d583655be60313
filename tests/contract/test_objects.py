"""ObjectStore contract: one suite, every adapter (filesystem on tmp_path, S3 on moto)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from stratus.platform.ports.objects import ObjectInfo, ObjectStore

MiB = 1024 * 1024
DIGITS = b"0123456789"  # byte i of the object is DIGITS[i % 10]: ranges are easy to check


class PatternStream:
    """A non-seekable binary stream of ``size`` bytes that never holds them all."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self.position
        n = min(n, self.size - self.position)
        start = self.position
        self.position += n
        return (DIGITS * (n // 10 + 2))[start % 10 : start % 10 + n]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def pattern(size: int) -> bytes:
    return (DIGITS * (size // 10 + 1))[:size]


class ObjectStoreContract:
    """What every ObjectStore adapter must do. Subclasses provide the two fixtures:

    ``store`` — an empty bucket; ``created_keys`` — a callable returning the keys of the
    object-created notifications delivered so far."""

    # -- round trips -----------------------------------------------------------------

    def test_an_object_put_comes_back_with_its_content_type_and_metadata(
        self, store: ObjectStore
    ) -> None:
        info = store.put(
            "reports/2026/01.csv",
            b"a,b\n1,2\n",
            content_type="text/csv",
            metadata={"Source": "uploader", "rows": "1"},
        )

        assert store.get("reports/2026/01.csv") == b"a,b\n1,2\n"
        head = store.head("reports/2026/01.csv")
        assert head.size == info.size == 8
        assert head.content_type == "text/csv"
        assert dict(head.metadata) == {"source": "uploader", "rows": "1"}
        assert head.etag == info.etag
        assert head.last_modified.tzinfo is not None

    def test_the_etag_is_the_quoted_md5_of_the_bytes_like_s3(self, store: ObjectStore) -> None:
        info = store.put("k", b"hello")

        assert info.etag == '"' + hashlib.md5(b"hello").hexdigest() + '"'

    def test_a_second_put_replaces_the_object(self, store: ObjectStore) -> None:
        store.put("k", b"first", metadata={"v": "1"})
        store.put("k", b"second")

        assert store.get("k") == b"second"
        assert dict(store.head("k").metadata) == {}

    def test_an_empty_object_round_trips(self, store: ObjectStore) -> None:
        store.put("empty", b"")

        assert store.get("empty") == b""
        assert store.head("empty").size == 0

    @pytest.mark.parametrize(
        "key",
        [
            "a/../b",
            "../escape",
            "folder/",
            "ünïcødé/файл 名前.txt",
            "spaces and+plus%20signs",
            "x" * 1024,
            "é" * 512,
        ],
    )
    def test_any_valid_s3_key_round_trips(self, store: ObjectStore, key: str) -> None:
        store.put(key, b"data")

        assert store.get(key) == b"data"
        assert [o.key for o in store.list()] == [key]

    @pytest.mark.parametrize("key", ["", "x" * 1025, "é" * 513])
    def test_an_empty_or_too_long_key_is_an_invalid_request(
        self, store: ObjectStore, key: str
    ) -> None:
        with pytest.raises(InvalidRequestError):
            store.put(key, b"data")

    @pytest.mark.parametrize(
        "metadata",
        [{"name": "ünïcode"}, {"ünï": "x"}, {"big": "x" * 2100}],
        ids=["non-ascii-value", "non-ascii-name", "over-2kb"],
    )
    def test_metadata_s3_would_refuse_is_an_invalid_request(
        self, store: ObjectStore, metadata: dict[str, str]
    ) -> None:
        with pytest.raises(InvalidRequestError):
            store.put("k", b"x", metadata=metadata)

    # -- missing objects -------------------------------------------------------------

    def test_a_missing_object_is_not_found_on_get_head_and_open(self, store: ObjectStore) -> None:
        with pytest.raises(NotFoundError):
            store.get("nope")
        with pytest.raises(NotFoundError):
            store.head("nope")
        with pytest.raises(NotFoundError):
            store.open("nope")
        with pytest.raises(NotFoundError):
            store.get("nope", byte_range=(0, 1))

    # -- ranged reads ----------------------------------------------------------------

    @pytest.mark.parametrize(
        ("byte_range", "expected"),
        [
            ((0, 0), b"0"),
            ((0, 3), b"0123"),
            ((12, 15), b"2345"),
            ((95, 99), b"56789"),
            ((95, 10_000), b"56789"),
            ((99, 99), b"9"),
        ],
        ids=["first-byte", "first-bytes", "middle", "to-end", "clipped-past-end", "last-byte"],
    )
    def test_a_ranged_get_returns_the_inclusive_range(
        self, store: ObjectStore, byte_range: tuple[int, int], expected: bytes
    ) -> None:
        store.put("digits", pattern(100))

        assert store.get("digits", byte_range=byte_range) == expected

    def test_a_range_starting_past_the_end_is_an_invalid_request(self, store: ObjectStore) -> None:
        store.put("digits", pattern(100))

        with pytest.raises(InvalidRequestError):
            store.get("digits", byte_range=(100, 200))

    def test_any_range_of_an_empty_object_is_an_invalid_request(self, store: ObjectStore) -> None:
        store.put("empty", b"")

        with pytest.raises(InvalidRequestError):
            store.get("empty", byte_range=(0, 5))

    def test_a_backwards_range_is_an_invalid_request(self, store: ObjectStore) -> None:
        store.put("digits", pattern(100))

        with pytest.raises(InvalidRequestError):
            store.get("digits", byte_range=(5, 2))

    # -- streaming -------------------------------------------------------------------

    def test_a_multi_mib_stream_is_put_and_read_back_streaming(self, store: ObjectStore) -> None:
        size = 9 * MiB + 7  # above S3's 8 MiB multipart threshold
        info = store.put("big.bin", PatternStream(size))  # type: ignore[arg-type]

        assert info.size == size
        digest = hashlib.md5()
        read = 0
        with store.open("big.bin") as stream:
            while chunk := stream.read(MiB):
                digest.update(chunk)
                read += len(chunk)
        assert read == size
        assert digest.hexdigest() == hashlib.md5(pattern(size)).hexdigest()
        assert store.get("big.bin", byte_range=(8 * MiB, 8 * MiB + 9)) == b"8901234567"

    def test_a_stream_opened_before_a_replacement_keeps_the_old_bytes(
        self, store: ObjectStore
    ) -> None:
        store.put("k", b"old " * 1000)

        with store.open("k") as stream:
            store.put("k", b"new")
            assert stream.read() == b"old " * 1000
        assert store.get("k") == b"new"

    def test_open_returns_a_readable_binary_stream(self, store: ObjectStore) -> None:
        store.put("k", b"abcdef")

        with store.open("k") as stream:
            assert stream.read(2) == b"ab"
            assert stream.read() == b"cdef"

    # -- listing ---------------------------------------------------------------------

    def test_list_returns_the_objects_under_a_prefix_in_key_order(self, store: ObjectStore) -> None:
        for key in ["in/c", "in/a", "out/x", "in/b/deep", "i", "in"]:
            store.put(key, key.encode())

        listed = list(store.list("in/"))

        assert [o.key for o in listed] == ["in/a", "in/b/deep", "in/c"]
        assert [o.size for o in listed] == [4, 9, 4]
        assert [o.key for o in store.list()] == ["i", "in", "in/a", "in/b/deep", "in/c", "out/x"]
        assert list(store.list("nothing/")) == []

    def test_list_orders_keys_by_their_utf8_bytes_like_s3(self, store: ObjectStore) -> None:
        for key in ["é", "z", "B", "a", "Z"]:
            store.put(key, b"")

        assert [o.key for o in store.list()] == ["B", "Z", "a", "z", "é"]

    def test_list_gives_size_and_etag(self, store: ObjectStore) -> None:
        info = store.put("k", b"hello")

        (listed,) = store.list()

        assert (listed.key, listed.size, listed.etag) == ("k", 5, info.etag)

    # -- delete ----------------------------------------------------------------------

    def test_a_deleted_object_is_gone(self, store: ObjectStore) -> None:
        store.put("k", b"x")

        store.delete("k")

        with pytest.raises(NotFoundError):
            store.get("k")
        assert list(store.list()) == []

    def test_deleting_a_missing_object_is_not_an_error(self, store: ObjectStore) -> None:
        store.delete("never-there")
        store.put("k", b"x")
        store.delete("k")
        store.delete("k")

    # -- notifications ---------------------------------------------------------------

    def test_a_put_notifies_the_subscriber_that_the_object_was_created(
        self, store: ObjectStore, created_keys: Callable[[], list[str]]
    ) -> None:
        store.put("uploads/file one.csv", b"x")
        store.put("uploads/ü.csv", b"y")

        assert sorted(created_keys()) == ["uploads/file one.csv", "uploads/ü.csv"]

    def test_a_failed_put_notifies_nobody(
        self, store: ObjectStore, created_keys: Callable[[], list[str]]
    ) -> None:
        with pytest.raises(InvalidRequestError):
            store.put("", b"x")

        assert created_keys() == []


# -- the filesystem adapter ----------------------------------------------------------


class TestFilesystemObjectStore(ObjectStoreContract):
    @pytest.fixture
    def notified(self) -> list[ObjectInfo]:
        return []

    @pytest.fixture
    def store(self, tmp_path: Path, notified: list[ObjectInfo]) -> ObjectStore:
        from stratus.platform.adapters.local.objects import FilesystemObjectStore

        return FilesystemObjectStore(tmp_path, "bucket", on_created=notified.append)

    @pytest.fixture
    def created_keys(self, notified: list[ObjectInfo]) -> Callable[[], list[str]]:
        return lambda: [info.key for info in notified]

    def test_objects_survive_reopening_the_bucket(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.objects import FilesystemObjectStore

        FilesystemObjectStore(tmp_path, "b").put("k", b"kept", metadata={"a": "1"})

        reopened = FilesystemObjectStore(tmp_path, "b")

        assert reopened.get("k") == b"kept"
        assert dict(reopened.head("k").metadata) == {"a": "1"}

    def test_a_stream_that_fails_midway_leaves_the_old_object_intact(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        class Broken:
            def __init__(self) -> None:
                self.calls = 0

            def read(self, n: int = -1) -> bytes:
                self.calls += 1
                if self.calls > 2:
                    raise RuntimeError("connection reset")
                return b"partial"

        store.put("k", b"old")

        with pytest.raises(RuntimeError):
            store.put("k", Broken())  # type: ignore[arg-type]

        assert store.get("k") == b"old"
        assert list((tmp_path / "bucket" / "tmp").iterdir()) == []

    def test_a_put_reads_a_stream_in_bounded_chunks(self, store: ObjectStore) -> None:
        class Recording(PatternStream):
            largest = 0

            def read(self, n: int = -1) -> bytes:
                Recording.largest = max(Recording.largest, n)
                return super().read(n)

        store.put("k", Recording(3 * MiB))  # type: ignore[arg-type]

        assert 0 < Recording.largest <= MiB

    def test_a_failing_listener_does_not_fail_the_put(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.objects import FilesystemObjectStore

        def explode(info: ObjectInfo) -> None:
            raise RuntimeError("subscriber down")

        store = FilesystemObjectStore(tmp_path, "b", on_created=explode)

        store.put("k", b"x")

        assert store.get("k") == b"x"

    def test_files_left_by_a_crash_are_swept_when_the_bucket_is_reopened(
        self, tmp_path: Path
    ) -> None:
        import os

        from stratus.platform.adapters.local.objects import FilesystemObjectStore

        FilesystemObjectStore(tmp_path, "b").put("kept", b"kept")
        bucket = tmp_path / "b"
        orphan = bucket / "blobs" / "ff" / "ff-orphan"
        orphan.parent.mkdir(exist_ok=True)
        orphan.write_bytes(b"half")
        partial = bucket / "tmp" / "partial"
        partial.write_bytes(b"half")
        recent = bucket / "tmp" / "in-flight"
        recent.write_bytes(b"half")
        for path in (orphan, partial):
            os.utime(path, (0, 0))

        reopened = FilesystemObjectStore(tmp_path, "b")

        assert not orphan.exists()
        assert not partial.exists()
        assert recent.exists()
        assert reopened.get("kept") == b"kept"

    def test_concurrent_puts_of_one_key_leave_one_whole_object_and_no_stray_files(
        self, store: ObjectStore, tmp_path: Path
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        bodies = [bytes([i]) * 10_000 for i in range(16)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda body: store.put("hot", body), bodies))

        assert store.get("hot") in bodies
        blobs = [p for p in (tmp_path / "bucket" / "blobs").rglob("*") if p.is_file()]
        assert len(blobs) == 1
        assert list((tmp_path / "bucket" / "tmp").iterdir()) == []

    def test_the_bucket_lives_in_a_directory_named_after_it(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.objects import FilesystemObjectStore

        FilesystemObjectStore(tmp_path, "my-bucket").put("../../escape", b"x")

        assert (tmp_path / "my-bucket").is_dir()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["my-bucket"]

    def test_more_than_a_page_of_objects_are_all_listed_in_order(self, store: ObjectStore) -> None:
        keys = [f"k{i:05d}" for i in range(2503)]
        for key in reversed(keys):
            store.put(key, b"")

        assert [o.key for o in store.list("k")] == keys


# -- the S3 adapter on moto ----------------------------------------------------------


class TestS3ObjectStore(ObjectStoreContract):
    @pytest.fixture
    def sqs(self, moto_aws: None) -> Any:
        import boto3

        return boto3.client("sqs", region_name="us-east-1")

    @pytest.fixture
    def store(self, moto_aws: None, sqs: Any) -> ObjectStore:
        import boto3

        from stratus.platform.adapters.aws.objects import S3ObjectStore

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        url = sqs.create_queue(QueueName="created")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        s3.put_bucket_notification_configuration(
            Bucket="bucket",
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        return S3ObjectStore("bucket", client=s3)

    @pytest.fixture
    def created_keys(self, sqs: Any) -> Callable[[], list[str]]:
        def read() -> list[str]:
            url = sqs.get_queue_url(QueueName="created")["QueueUrl"]
            keys: list[str] = []
            while True:
                batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not batch:
                    return keys
                for message in batch:
                    body = json.loads(message["Body"])
                    for record in body.get("Records", []):  # skips s3:TestEvent
                        keys.append(unquote_plus(record["s3"]["object"]["key"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

        return read

    def test_a_missing_bucket_is_not_found(self, moto_aws: None) -> None:
        from stratus.platform.adapters.aws.objects import S3ObjectStore

        store = S3ObjectStore("no-such-bucket")

        with pytest.raises(NotFoundError):
            store.get("k")
        with pytest.raises(NotFoundError):
            store.put("k", b"x")
        with pytest.raises(NotFoundError):
            list(store.list())

    def test_an_unreachable_endpoint_is_a_backend_outage(
        self, unreachable_client: Callable[[str], Any]
    ) -> None:
        from stratus.platform.adapters.aws.objects import S3ObjectStore

        store = S3ObjectStore("bucket", client=unreachable_client("s3"))

        with pytest.raises(BackendUnavailableError):
            store.get("k")
        with pytest.raises(BackendUnavailableError):
            store.put("k", b"x")
        with pytest.raises(BackendUnavailableError):
            list(store.list())


# -- a backend that cannot be reached ------------------------------------------------


