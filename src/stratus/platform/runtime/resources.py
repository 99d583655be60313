"""Local adapters for every port, under one data directory (STRATUS_HOME).

Layout of the directory::

    tables.sqlite3      every table (SqliteTableStore), with its change stream
    queues.sqlite3      every queue (SqliteQueueBroker)
    objects/<bucket>/   every bucket (FilesystemObjectStore)
    outbox/             sent mail as .eml files (OutboxMailer)
    secrets.sqlite3     secrets, encrypted with secrets.key (FileSecretStore)
    userpools.sqlite3   user pools: users, scrypt hashes, groups, clients (LocalUserPools;
                        each pool's token signing key is a secret of secrets.sqlite3)
    workflows.sqlite3   executions and their history (LocalWorkflowRunner)
    runtime.sqlite3     the runtime's own bookkeeping (stream checkpoints, schedules)

Topics are in-process: their subscriptions are declared in the template and rebuilt at start-up.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.adapters.local.mail import OutboxMailer
from stratus.platform.adapters.local.objects import FilesystemObjectStore
from stratus.platform.adapters.local.queue import SqliteQueueBroker
from stratus.platform.adapters.local.secrets import FileSecretStore
from stratus.platform.adapters.local.table import SqliteTableStore
from stratus.platform.adapters.local.topic import InProcessTopic
from stratus.platform.adapters.local.userpool import LocalUserPools
from stratus.platform.connect import resource_name
from stratus.platform.ports import (
    Clock,
    Mailer,
    NotFoundError,
    ObjectInfo,
    ObjectStore,
    Queue,
    QueueBroker,
    SecretStore,
    TableSpec,
    TableStore,
    Topic,
    UserPool,
    WorkflowRunner,
)

ObjectListener = Callable[[str, ObjectInfo], None]


class LocalResources:
    """The local target's :class:`~stratus.platform.connect.ResourceProvider`."""

    def __init__(
        self,
        home: Path,
        *,
        clock: Clock | None = None,
        verified_senders: Iterable[str] = (),
    ) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._tables: dict[str, SqliteTableStore] = {}
        self._topics: dict[str, InProcessTopic] = {}
        self._buckets: dict[str, FilesystemObjectStore] = {}
        self._object_listeners: list[ObjectListener] = []
        self._workflows: WorkflowRunner | None = None
        self.broker = SqliteQueueBroker(home / "queues.sqlite3", clock=self._clock)
        senders = [s.strip() for s in os.environ.get("STRATUS_MAIL_VERIFIED", "").split(",")]
        self._mailer = OutboxMailer(
            home / "outbox",
            verified=[*verified_senders, *(s for s in senders if s)],
            smtp_url=os.environ.get("STRATUS_SMTP_URL") or None,
        )
        self._secrets = FileSecretStore(home / "secrets.sqlite3", home / "secrets.key")
        self._user_pools: LocalUserPools | None = None

    # -- declared resources ------------------------------------------------------------------

    def create_table(self, spec: TableSpec) -> SqliteTableStore:
        with self._lock:
            store = SqliteTableStore(self.home / "tables.sqlite3", spec, clock=self._clock)
            self._tables[spec.name] = store
            return store

    def create_topic(self, name: str) -> InProcessTopic:
        with self._lock:
            topic = self._topics.get(name)
            if topic is None:
                topic = self._topics[name] = InProcessTopic(name, self.broker)
            return topic

    def on_object_created(self, listener: ObjectListener) -> None:
        """Call ``listener(bucket, info)`` after every successful put in any bucket."""
        with self._lock:
            self._object_listeners.append(listener)

    def set_workflows(self, runner: WorkflowRunner) -> None:
        self._workflows = runner

    def verify_sender(self, identity: str) -> None:
        self._mailer.verify(identity)

    @property
    def user_pools(self) -> LocalUserPools:
        """The user pool file (created on first use), to declare pools, groups and clients."""
        with self._lock:
            if self._user_pools is None:
                self._user_pools = LocalUserPools(
                    self.home / "userpools.sqlite3", secrets=self._secrets, clock=self._clock
                )
            return self._user_pools

    # -- the provider ------------------------------------------------------------------------

    def table(self, name: str) -> TableStore:
        name = resource_name(name)
        with self._lock:
            store = self._tables.get(name)
            if store is None:
                store = SqliteTableStore.open(self.home / "tables.sqlite3", name, clock=self._clock)
                self._tables[name] = store
            return store

    def queue(self, name: str) -> Queue:
        return self.broker.get(resource_name(name))

    def queue_broker(self) -> QueueBroker:
        return self.broker

    def topic(self, name: str) -> Topic:
        name = resource_name(name)
        with self._lock:
            topic = self._topics.get(name)
        if topic is None:
            raise NotFoundError(f"topic {name!r} is not declared by any running template")
        return topic

    def bucket(self, name: str) -> ObjectStore:
        name = resource_name(name)
        with self._lock:
            store = self._buckets.get(name)
            if store is None:
                store = FilesystemObjectStore(
                    self.home / "objects", name, on_created=self._notifier(name)
                )
                self._buckets[name] = store
            return store

    def workflows(self) -> WorkflowRunner:
        if self._workflows is None:
            raise NotFoundError("no workflow runner: state machines run inside `stratus up`")
        return self._workflows

    def mailer(self) -> Mailer:
        return self._mailer

    def secrets(self) -> SecretStore:
        return self._secrets

    def clock(self) -> Clock:
        return self._clock

    def user_pool(self, pool_id: str, client_id: str) -> UserPool:
        return self.user_pools.pool(pool_id, client_id)

    def _notifier(self, bucket: str) -> Callable[[ObjectInfo], None]:
        def notify(info: ObjectInfo) -> None:
            with self._lock:
                listeners = list(self._object_listeners)
            for listener in listeners:
                listener(bucket, info)

        return notify

    def describe(self) -> dict[str, Any]:
        """What exists, for status output."""
        return {
            "home": str(self.home),
            "tables": sorted(self._tables),
            "queues": self.broker.names(),
            "topics": sorted(self._topics),
            "buckets": sorted(self._buckets),
        }
