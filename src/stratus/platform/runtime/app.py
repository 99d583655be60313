"""The one-machine runtime: SAM templates in, a running application out.

:class:`LocalRuntime` reads each template (:mod:`stratus.platform.runtime.template`) and builds
the local equivalent of every resource it supports:

======================================  =================================================
template                                local equivalent
======================================  =================================================
AWS::Serverless::Function               handler imported at start-up, invoked in-process
Api events / AWS::Serverless::Api       routes of a :class:`LocalApiGateway` on one port
SQS events                              a poller thread per event source mapping
DynamoDB stream events                  a stream worker per mapping, checkpoint persisted
Schedule / ScheduleV2 events            the scheduler (EventBridge rate/cron syntax)
SNS events, topic subscriptions         in-process topic fan-out with filter policies
S3 events, EventBridge object rules     object-created listeners on the local buckets
AWS::Serverless::StateMachine           the local ASL runner, same definition file
tables / queues / topics / buckets      SQLite, SQLite, in-process, files under home
AWS::SES::EmailIdentity                 a verified sender of the local outbox
AWS::Cognito::UserPool (+ Client/Group) a SQLite user pool (scrypt hashes, RS256 tokens)
======================================  =================================================

Background work (pollers, stream workers, scheduler, TTL sweeper) runs on daemon threads that
stop when :meth:`LocalRuntime.stop` is called.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from stratus.platform import connect
from stratus.platform.adapters.local.clock import SystemClock
from stratus.platform.adapters.local.workflow import LocalWorkflowRunner
from stratus.platform.events.dynamodb import stream_event
from stratus.platform.events.s3 import eventbridge_object_created, object_created_event
from stratus.platform.events.sns import sns_event
from stratus.platform.events.sqs import failed_message_ids, sqs_event
from stratus.platform.ports import Clock, ObjectInfo, PortError, TopicMessage
from stratus.platform.runtime import discovery, eventpattern
from stratus.platform.runtime.functions import FunctionError, LocalFunction, load_function
from stratus.platform.runtime.resources import LocalResources
from stratus.platform.runtime.schedule import Schedule, parse_schedule
from stratus.platform.runtime.template import (
    Application,
    EventBridgeRuleEvent,
    S3Event,
    ScheduleEvent,
    SnsEvent,
    SqsEvent,
    StreamEvent,
    TemplateError,
    UserPoolDef,
    load_application,
)

log = logging.getLogger("stratus.runtime")


class StartupError(Exception):
    """The runtime cannot start: the message says what to fix."""


@dataclass
class _Timer:
    """A schedule and what to do when it fires."""

    label: str
    schedule: Schedule
    fire: Callable[[], None]
    next_at: Any = None


@dataclass
class _Checkpoints:
    """Stream positions and other runtime bookkeeping, in runtime.sqlite3."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def get(self, key: str) -> str | None:
        with self._lock, closing(self._connect()) as db:
            row = db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        with self._lock, closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))


class LocalRuntime:
    """Every template's resources, functions and event sources, running in this process."""

    def __init__(
        self,
        templates: Sequence[Path],
        *,
        home: Path,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        parameters: Mapping[str, str] | None = None,
        poll_interval_s: float = 0.2,
    ) -> None:
        if not templates:
            raise StartupError("no template to run: give --template PATH")
        self.home = home.resolve()
        self.clock: Clock = clock or SystemClock()
        self.host = host
        self.port = port
        self.poll_interval_s = poll_interval_s
        self.apps: list[Application] = [
            load_application(Path(p), parameters=parameters) for p in templates
        ]
        self._check_unique_names()
        self.resources = LocalResources(self.home, clock=self.clock)
        self.checkpoints = _Checkpoints(self.home / "runtime.sqlite3")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._events = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stratus-event")
        self._timers: list[_Timer] = []
        self.functions: dict[str, LocalFunction] = {}
        self._by_logical: dict[tuple[str, str], LocalFunction] = {}
        self._load_functions()
        self._declare_resources()
        self.workflows = LocalWorkflowRunner(
            self.home / "workflows.sqlite3",
            invoke=self._task,
            clock=self.clock,
            auto_resume=False,  # resumed in start(), once handlers can reach the resources
        )
        self.resources.set_workflows(self.workflows)
        self._state_machine_arns: dict[tuple[str, str], str] = {}
        for app in self.apps:
            for sm in app.state_machines.values():
                self._state_machine_arns[(app.name, sm.logical_id)] = self.workflows.register(
                    sm.name, dict(sm.definition)
                )
        self._wire_events()
        self.gateways = self._build_gateways()
        self.server: Any = None
        self.services: dict[str, Any] = {}
        self._discovery: Any = None  # the runtime.json record, once published

    # -- start-up ---------------------------------------------------------------------------

    def _check_unique_names(self) -> None:
        seen: dict[str, str] = {}
        for app in self.apps:
            for fn in app.functions.values():
                other = seen.setdefault(fn.function_name, str(app.path))
                if other != str(app.path):
                    raise StartupError(
                        f"function name {fn.function_name!r} is defined by both {other} and "
                        f"{app.path}; give one of them a FunctionName"
                    )

    def _base_environment(self, app: Application) -> dict[str, str]:
        return {
            "STRATUS_TARGET": "local",
            "STRATUS_HOME": str(self.home),
            "AWS_ACCOUNT_ID": app.account,
            # Powertools writes metrics to stdout as EMF, which CloudWatch turns into metrics;
            # locally nothing reads them, so they would only bury the output. The template's
            # own Environment (and a user's shell) can still turn them on.
            "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        }

    def _load_functions(self) -> None:
        for app in self.apps:
            for fn in app.functions.values():
                try:
                    local = load_function(
                        fn,
                        base_environment=self._base_environment(app),
                        region=app.region,
                        account=app.account,
                    )
                except TemplateError:
                    raise
                except Exception as exc:
                    raise TemplateError(
                        str(app.path),
                        f"Resources.{fn.logical_id}.Properties.Handler",
                        f"{fn.handler!r} failed to import: {type(exc).__name__}: {exc}",
                    ) from exc
                self.functions[fn.function_name] = local
                self._by_logical[(app.name, fn.logical_id)] = local

    def _declare_resources(self) -> None:
        for app in self.apps:
            for table in app.tables.values():
                self.resources.create_table(table.spec)
            queues = sorted(app.queues.values(), key=lambda q: q.dead_letter is not None)
            for q in queues:  # dead-letter queues first
                dlq = app.queues[q.dead_letter].name if q.dead_letter else None
                self.resources.broker.create(
                    q.name,
                    visibility_s=q.visibility_s,
                    dead_letter=dlq,
                    max_receives=q.max_receives,
                )
            for bucket in app.buckets.values():
                self.resources.bucket(bucket.name)
            for topic in app.topics.values():
                self.resources.create_topic(topic.name)
            for identity in app.email_identities:
                self.resources.verify_sender(identity)
            for pool in app.user_pools.values():
                self._declare_user_pool(pool)

    def _declare_user_pool(self, pool: UserPoolDef) -> None:
        """The pool with its policy, groups and app clients (users persist across starts)."""
        pools = self.resources.user_pools
        try:
            pools.create_pool(pool.pool_id, pool.policy)
            for group in pool.groups:
                pools.create_group(pool.pool_id, group)
            for client in pool.clients:
                pools.create_client(
                    pool.pool_id,
                    client.client_id,
                    id_token_validity=timedelta(seconds=client.id_token_validity_s),
                    access_token_validity=timedelta(seconds=client.access_token_validity_s),
                    password_auth=client.password_auth,
                )
        except PortError as exc:
            raise StartupError(f"user pool {pool.logical_id}: {exc}") from exc

    def function(self, app: Application, logical_id: str) -> LocalFunction:
        try:
            return self._by_logical[(app.name, logical_id)]
        except KeyError:
            raise TemplateError(str(app.path), logical_id, "no such function") from None

    # -- event sources ------------------------------------------------------------------------

    def _wire_events(self) -> None:
        for app in self.apps:
            for fn in app.functions.values():
                local = self.function(app, fn.logical_id)
                for ev in fn.events:
                    self._wire_function_event(app, local, ev)
            for topic in app.topics.values():
                for sub in topic.subscriptions:
                    self._wire_subscription(app, topic.name, sub)
            for sm in app.state_machines.values():
                arn = self._state_machine_arns[(app.name, sm.logical_id)]
                for ev in sm.events:
                    self._wire_state_machine_event(app, arn, ev)
            ttl_tables = [t.spec.name for t in app.tables.values() if t.spec.ttl_attribute]
            for name in ttl_tables:
                self._timers.append(
                    _Timer(f"ttl:{name}", parse_schedule("rate(1 minute)"), self._expire(name))
                )

    def _wire_function_event(self, app: Application, fn: LocalFunction, ev: Any) -> None:
        if isinstance(ev, SqsEvent) and ev.enabled:
            queue = app.queues[ev.queue]
            self._threads.append(
                threading.Thread(
                    target=self._poll_queue,
                    args=(fn, queue.name, queue.arn, ev),
                    name=f"sqs:{queue.name}->{fn.name}",
                    daemon=True,
                )
            )
        elif isinstance(ev, StreamEvent) and ev.enabled:
            table = app.tables[ev.table]
            arn = f"arn:aws:dynamodb:{app.region}:{app.account}:table/{table.spec.name}"
            self._threads.append(
                threading.Thread(
                    target=self._stream_worker,
                    args=(fn, table.spec.name, arn, ev, app.region),
                    name=f"stream:{table.spec.name}->{fn.name}",
                    daemon=True,
                )
            )
        elif isinstance(ev, ScheduleEvent) and ev.enabled:
            rule = f"arn:aws:events:{app.region}:{app.account}:rule/{fn.name}-{ev.name}"
            self._timers.append(
                _Timer(
                    f"{fn.name}:{ev.name}",
                    parse_schedule(ev.expression),
                    self._scheduled_invoke(fn, ev, rule, app),
                )
            )
        elif isinstance(ev, SnsEvent):
            topic = app.topics[ev.topic]
            self.resources.create_topic(topic.name).subscribe(
                self._sns_invoke(fn, topic.arn, app.region), filter_policy=ev.filter_policy
            )
        elif isinstance(ev, S3Event):
            bucket = app.buckets[ev.bucket].name
            self.resources.on_object_created(self._s3_invoke(fn, bucket, ev, app.region))
        elif isinstance(ev, EventBridgeRuleEvent):
            self.resources.on_object_created(
                self._eventbridge(app, ev, lambda event: fn.invoke(event, wait_for_slot=True))
            )

    def _wire_subscription(self, app: Application, topic_name: str, sub: Any) -> None:
        topic = self.resources.create_topic(topic_name)
        if sub.protocol == "sqs" and sub.endpoint_logical_id in app.queues:
            topic.subscribe_queue(
                app.queues[sub.endpoint_logical_id].name, filter_policy=sub.filter_policy
            )
        elif sub.protocol == "lambda" and sub.endpoint_logical_id:
            fn = self.function(app, sub.endpoint_logical_id)
            arn = app.topics[_logical_topic(app, topic_name)].arn
            topic.subscribe(self._sns_invoke(fn, arn, app.region), filter_policy=sub.filter_policy)
        else:
            log.warning("topic %s: subscription %s is not run locally", topic_name, sub.protocol)

    def _wire_state_machine_event(self, app: Application, arn: str, ev: Any) -> None:
        if isinstance(ev, ScheduleEvent) and ev.enabled:
            rule = f"arn:aws:events:{app.region}:{app.account}:rule/{ev.name}"

            def fire() -> None:
                payload = ev.input if ev.input is not None else _scheduled_event(app, rule, self)
                self.workflows.start(arn, payload)

            self._timers.append(_Timer(f"{arn}:{ev.name}", parse_schedule(ev.expression), fire))
        elif isinstance(ev, EventBridgeRuleEvent):
            self.resources.on_object_created(
                self._eventbridge(app, ev, lambda event: self.workflows.start(arn, event))
            )
        else:
            log.warning("state machine %s: event %s is not run locally", arn, type(ev).__name__)

    def _eventbridge(
        self, app: Application, ev: EventBridgeRuleEvent, target: Callable[[Any], Any]
    ) -> Callable[[str, ObjectInfo], None]:
        buckets = {b.name for b in app.buckets.values() if b.eventbridge}

        def on_created(bucket: str, info: ObjectInfo) -> None:
            if bucket not in buckets:
                return
            event = eventbridge_object_created(
                info, bucket=bucket, region=app.region, account=app.account
            )
            if eventpattern.matches(ev.pattern, event):
                payload = ev.input if ev.input is not None else event
                self._submit(_logged, f"EventBridge rule {ev.name}", target, payload)

        return on_created

    def _s3_invoke(
        self, fn: LocalFunction, bucket: str, ev: S3Event, region: str
    ) -> Callable[[str, ObjectInfo], None]:
        wanted = any(e.startswith("s3:ObjectCreated") for e in ev.events)

        def on_created(name: str, info: ObjectInfo) -> None:
            if name != bucket or not wanted:
                return
            if ev.prefix and not info.key.startswith(ev.prefix):
                return
            if ev.suffix and not info.key.endswith(ev.suffix):
                return
            event = object_created_event(info, bucket=bucket, region=region)
            self._submit(_logged, f"S3 event {ev.name}", _invoke_async, fn, event)

        return on_created

    def _sns_invoke(
        self, fn: LocalFunction, topic_arn: str, region: str
    ) -> Callable[[TopicMessage], None]:
        def deliver(message: TopicMessage) -> None:
            event = sns_event(message, topic_arn=topic_arn, region=region)
            self._submit(_logged, f"SNS {topic_arn}", _invoke_async, fn, event)

        return deliver

    def _scheduled_invoke(
        self, fn: LocalFunction, ev: ScheduleEvent, rule: str, app: Application
    ) -> Callable[[], None]:
        def fire() -> None:
            payload = ev.input if ev.input is not None else _scheduled_event(app, rule, self)
            _logged(f"schedule {ev.name}", _invoke_async, fn, payload)

        return fire

    def _expire(self, table: str) -> Callable[[], None]:
        def sweep() -> None:
            removed = self.resources.table(table).expire()
            if removed:
                log.info("TTL: %d expired item(s) deleted from %s", removed, table)

        return sweep

    def _submit(self, call: Callable[..., Any], *args: Any) -> None:
        """Run an event delivery in the background; once the runtime stops, deliveries that
        arrive late (a put or publish racing the shutdown) are dropped with a log line."""
        if self._stop.is_set():
            log.info("runtime stopping: %s not delivered", args[0] if args else call)
            return
        try:
            self._events.submit(call, *args)
        except RuntimeError:  # the executor shut down between the check and the submit
            log.info("runtime stopped: %s not delivered", args[0] if args else call)

    # -- workers ------------------------------------------------------------------------------

    def _poll_queue(self, fn: LocalFunction, queue_name: str, queue_arn: str, ev: SqsEvent) -> None:
        """Lambda's SQS event source mapping: receive, invoke, delete what succeeded."""
        queue = self.resources.queue(queue_name)
        region = queue_arn.split(":")[3]
        while not self._stop.is_set():
            try:
                messages = queue.receive(min(ev.batch_size, 10))
            except PortError as exc:
                log.error("poller %s: %s", queue_name, exc)
                self._stop.wait(1.0)
                continue
            if not messages:
                self._stop.wait(self.poll_interval_s)
                continue
            event = sqs_event(messages, queue_arn=queue_arn, region=region)
            try:
                result = fn.invoke(event, wait_for_slot=True)
            except FunctionError:
                continue  # every message comes back after its visibility timeout
            failed: set[str] | None = None
            if ev.report_batch_item_failures:
                try:
                    failed = failed_message_ids(
                        result, message_ids={m.message_id for m in messages}
                    )
                except PortError as exc:
                    log.error("function %s: %s; the whole batch is retried", fn.name, exc)
                    continue
            queue.delete_batch(
                [m.receipt for m in messages if failed is None or m.message_id not in failed]
            )

    def _stream_worker(
        self, fn: LocalFunction, table_name: str, table_arn: str, ev: StreamEvent, region: str
    ) -> None:
        """Lambda's DynamoDB stream mapping: in order, checkpointed, retried, then skipped."""
        key = f"stream:{table_name}:{fn.name}:{ev.name}"
        table = self.resources.table(table_name)
        position = self.checkpoints.get(key)
        if position is None and ev.starting_position == "LATEST":
            latest = table.read_stream(None, limit=1_000_000)
            position = latest[-1].sequence if latest else None
        attempts = 0
        while not self._stop.is_set():
            try:
                records = table.read_stream(position, limit=ev.batch_size)
            except PortError as exc:
                log.error("stream %s: %s", table_name, exc)
                self._stop.wait(1.0)
                continue
            if not records:
                self._stop.wait(self.poll_interval_s)
                continue
            event = stream_event(records, table_arn=table_arn, region=region)
            if ev.filter_patterns:
                kept = [
                    r
                    for r in event["Records"]
                    if any(eventpattern.matches(p, r) for p in ev.filter_patterns)
                ]
                event = {"Records": kept}
            try:
                result = fn.invoke(event, wait_for_slot=True) if event["Records"] else None
                advanced = _stream_next_position(records, result, ev, position)
            except FunctionError as exc:
                log.warning("stream %s: %s", key, exc)
                advanced = position
            if advanced == position:  # nothing processed: retry, then give the batch up
                attempts += 1
                if attempts < 3:
                    self._stop.wait(min(2.0**attempts * 0.1, 2.0))
                    continue
                log.error("stream %s: batch discarded after %d attempts", key, attempts)
                advanced = str(records[-1].sequence)
            attempts = 0
            position = advanced
            if position is not None:
                self.checkpoints.set(key, position)

    def _scheduler(self) -> None:
        for timer in self._timers:
            timer.next_at = timer.schedule.next_after(self.clock.now())
        while not self._stop.is_set():
            now = self.clock.now()
            for timer in self._timers:
                if timer.next_at is not None and now >= timer.next_at:
                    timer.next_at = timer.schedule.next_after(now)
                    self._submit(_logged, f"timer {timer.label}", timer.fire)
            self._stop.wait(self.poll_interval_s)

    # -- invocation ---------------------------------------------------------------------------

    def invoke(self, function: str, event: Any) -> Any:
        """Invoke a function by name, ARN or logical id; FunctionError when it fails."""
        fn = self.find_function(function)
        return fn.invoke(event, wait_for_slot=True)

    def find_function(self, function: str) -> LocalFunction:
        name = connect.resource_name(function) if function.startswith("arn:") else function
        if name in self.functions:
            return self.functions[name]
        for (_, logical), fn in self._by_logical.items():
            if logical == name:
                return fn
        known = ", ".join(sorted(self.functions))
        raise KeyError(f"no function {function!r}; known functions: {known}")

    def _task(self, resource: str, payload: Any) -> Any:
        """The ASL runner's task invoker: Lambda ARNs and the lambda:invoke integration."""
        from stratus.platform.asl import TaskFailedError

        if resource.startswith("arn:aws:states:::lambda:invoke"):
            if not isinstance(payload, Mapping) or "FunctionName" not in payload:
                raise TaskFailedError(
                    "States.Runtime", "lambda:invoke needs Parameters.FunctionName"
                )
            target, body = str(payload["FunctionName"]), payload.get("Payload")
        elif resource.startswith("arn:aws:lambda:"):
            target, body = resource, payload
        else:
            raise TaskFailedError(
                "States.Runtime", f"resource {resource!r} is not supported by the local runner"
            )
        try:
            fn = self.find_function(target)
        except KeyError as exc:
            raise TaskFailedError("Lambda.ResourceNotFoundException", str(exc)) from exc
        try:
            return fn.invoke(body, wait_for_slot=True)
        except FunctionError as exc:
            raise TaskFailedError(exc.error_type, exc.cause()) from exc

    # -- API ----------------------------------------------------------------------------------

    def _build_gateways(self) -> dict[str, Any]:
        from stratus.platform.runtime.apibuild import build_gateways

        return build_gateways(self)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Serve HTTP and start every background worker."""
        from stratus.platform.runtime.apigateway import ApiServer

        connect.install(self.resources)
        self.server = ApiServer(host=self.host, port=self.port)
        for prefix, gateway in self.gateways.items():
            self.server.mount(prefix, gateway)
        self.services = self._services()
        for prefix, service in self.services.items():
            self.server.mount(prefix, service)
        self.server.start()
        for fn in self.functions.values():  # lets a function call another API of this runtime
            fn.base_environment = {**fn.base_environment, "STRATUS_LOCAL_URL": self.url}
        resumed = self.workflows.resume()
        if resumed:
            log.warning("resumed %d execution(s) left running by a stopped process", len(resumed))
        self._threads.append(
            threading.Thread(target=self._scheduler, name="scheduler", daemon=True)
        )
        for thread in self._threads:
            thread.start()
        # $STRATUS_HOME/runtime.json: how other commands find this runtime and its API keys
        self._discovery = discovery.publish(self)

    @property
    def url(self) -> str:
        if self.server is None:
            raise StartupError("the runtime is not started")
        return str(self.server.url)

    def stop(self) -> None:
        """Stop workers and the server; waits briefly for in-flight work."""
        discovery.withdraw(self.home, self._discovery)
        self._discovery = None
        self._stop.set()
        if self.server is not None:
            self.server.stop()
        for prefix, service in self.services.items():  # mounted services may own servers
            stop = getattr(service, "stop", None)
            if callable(stop):
                try:
                    stop()
                except Exception as exc:  # one failing service must not block the others
                    log.error("service %s did not stop cleanly: %s", prefix, exc)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)
        self._events.shutdown(wait=True, cancel_futures=True)
        self.workflows.close()
        connect.install(None)

    def _services(self) -> dict[str, Any]:
        """Local services an application mounts beside its APIs.

        Template ``Metadata: {stratus: {mount: {"/edge/site": "module:factory"}}}``: the
        factory gets this runtime and returns an object with ``handle(HttpRequest) ->
        HttpResponse`` (e.g. a reverse proxy standing in for CloudFront). A service with a
        ``stop()`` method (one that started its own servers) is stopped with the runtime."""
        import importlib

        services: dict[str, Any] = {}
        for app in self.apps:
            mounts = app.metadata.get("stratus", {}).get("mount", {})
            if not isinstance(mounts, Mapping):
                raise StartupError(
                    f"{app.path}: Metadata.stratus.mount must map prefixes to factories"
                )
            for prefix, target in mounts.items():
                module_name, _, attr = str(target).partition(":")
                try:
                    factory = getattr(importlib.import_module(module_name), attr)
                except (ImportError, AttributeError) as exc:
                    raise StartupError(
                        f"{app.path}: Metadata.stratus.mount.{prefix}: {target!r}: {exc}"
                    ) from exc
                services[str(prefix)] = factory(self)
        return services

    def route_lines(self) -> list[str]:
        """One line per API route (and usage-plan API key), for the start-up banner."""
        lines = []
        base = self.url if self.server is not None else ""
        for prefix, gateway in sorted(self.gateways.items()):
            for route in gateway.spec.routes:
                lines.append(f"{route.method:<6} {base}{prefix}{route.path}  -> {route.function}")
            for plan in gateway.spec.usage_plans:
                for key in plan.api_keys:
                    lines.append(f"API key for {prefix}: {key}")
        return lines

    def load_demo(self) -> list[str]:
        """Run each application's demo loader (template Metadata ``stratus: {demo: mod:fn}``).

        The loader gets this runtime and returns lines that say what it loaded."""
        import importlib
        import importlib.util

        lines: list[str] = []
        for app in self.apps:
            target = app.metadata.get("stratus", {}).get("demo")
            if not target:
                continue
            module_name, _, attr = str(target).partition(":")
            try:
                if module_name.endswith(".py"):  # a file next to the template
                    path = (app.path.parent / module_name).resolve()
                    spec = importlib.util.spec_from_file_location(f"_demo_{app.name}", path)
                    if spec is None or spec.loader is None:
                        raise ImportError(f"cannot load {path}")
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                else:
                    module = importlib.import_module(module_name)
                loader = getattr(module, attr)
            except (ImportError, AttributeError, OSError) as exc:
                raise StartupError(f"{app.path}: Metadata.stratus.demo {target!r}: {exc}") from exc
            lines.extend(loader(self))
        return lines

    def describe(self) -> dict[str, Any]:
        """What is running, for `stratus up` status output."""
        return {
            "url": self.url if self.server is not None else None,
            "apps": [str(app.path) for app in self.apps],
            "functions": sorted(self.functions),
            "state_machines": self.workflows.state_machines(),
            "apis": sorted(self.gateways),
            **self.resources.describe(),
        }


def _logical_topic(app: Application, name: str) -> str:
    for logical_id, topic in app.topics.items():
        if topic.name == name:
            return logical_id
    raise KeyError(name)


def _invoke_async(fn: LocalFunction, event: Any) -> Any:
    """An asynchronous invocation (SNS, S3, schedules): Lambda queues the event when the
    function is at its reserved concurrency instead of dropping it, so wait for a slot."""
    return fn.invoke(event, wait_for_slot=True)


def _logged(label: str, call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:  # event-driven invocations have no caller to report to
        log.error("%s failed: %s", label, exc)
        return None


def _scheduled_event(app: Application, rule: str, runtime: LocalRuntime) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a schedule delivers."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": app.account,
        "time": runtime.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": app.region,
        "resources": [rule],
        "detail": {},
    }


def _stream_next_position(
    records: Sequence[Any], result: Any, ev: StreamEvent, start: str | None
) -> str | None:
    """Checkpoint after the batch, or just before the first failed record when reported."""
    if not ev.report_batch_item_failures or not isinstance(result, Mapping):
        return str(records[-1].sequence)
    failures = result.get("batchItemFailures") or []
    ids = {str(f.get("itemIdentifier")) for f in failures if isinstance(f, Mapping)}
    previous = start
    for record in records:
        if record.sequence in ids:
            return previous
        previous = str(record.sequence)
    return previous


def new_api_key() -> str:
    """A random API key value, like the 40-character keys API Gateway generates."""
    return secrets.token_urlsafe(30)[:40]


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or the timeout passes (for demos and tests)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
