"""Use cases of the AMI rollout: each takes a command and the ports, and is idempotent.

Every step writes its intent to the table before it changes the fleet and reads the recorded
original capacity, never the current one, so a step run twice (a retried Lambda, a resumed
execution) changes nothing the second time: capacity is never doubled twice.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from stratus.platform.ports import (
    Clock,
    ConditionFailedError,
    Email,
    Mailer,
    NotExists,
    NotFoundError,
    PortError,
    SortKeyCondition,
    TableStore,
    WorkflowRunner,
)
from stratus.platform.ports.fleet import Fleet, Group, Launch
from stratus.solutions.amirollout.domain.model import (
    AsgOutcome,
    ImageBuilt,
    RolloutAlarmError,
    RolloutHealthTimeoutError,
    RolloutInterruptedError,
    Settings,
    alarm_names,
    execution_name,
    held_reason,
    may_terminate,
    render_alert,
    render_report,
    scale_out_target,
)


@dataclass(frozen=True)
class Deps:
    """The ports and settings every use case needs."""

    table: TableStore
    fleet: Fleet
    mailer: Mailer
    clock: Clock
    settings: Settings
    workflows: WorkflowRunner | None = None
    state_machine: str = ""


@dataclass(frozen=True)
class Target:
    """One ASG of one rollout (the Map iteration's input)."""

    image_arn: str
    ami_id: str
    asg_arn: str
    asg_name: str

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Target:
        return cls(
            image_arn=str(payload["image_arn"]),
            ami_id=str(payload["ami_id"]),
            asg_arn=str(payload["asg_arn"]),
            asg_name=str(payload["asg_name"]),
        )

    @property
    def key(self) -> dict[str, str]:
        return {"PK": f"ASG~{self.asg_arn}", "SK": f"AMI~{self.image_arn}"}


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")


def _launch_item(launch: Launch) -> dict[str, Any]:
    return {
        "kind": launch.kind,
        "name": launch.name,
        "template_id": launch.template_id,
        "version": launch.version,
        "mixed": launch.mixed,
    }


def _launch(item: Mapping[str, Any]) -> Launch:
    return Launch(
        kind=item["kind"],
        name=str(item["name"]),
        template_id=item.get("template_id"),
        version=item.get("version"),
        mixed=bool(item.get("mixed")),
    )


# ---- trigger ----------------------------------------------------------------------------------


def start_rollout(event: ImageBuilt, region: str, deps: Deps) -> str | None:
    """Start one rollout for an AVAILABLE image with an AMI in ``region``; None otherwise.

    A conditional put of ``AMI~<arn>`` and an execution name derived from (image, AMI) make a
    duplicate delivery start nothing new."""
    if not event.available:
        return None
    ami = event.ami_for(region)
    if ami is None:
        return None
    key = {"PK": f"AMI~{event.image_arn}", "SK": "AMI"}
    name = execution_name(event.image_arn, ami.image)
    try:
        deps.table.put(
            {
                **key,
                "image_arn": event.image_arn,
                "ami_id": ami.image,
                "image_name": event.image_name,
                "execution_name": name,
                "received_at": _iso(deps.clock.now()),
                "status": "STARTING",
            },
            condition=NotExists("PK"),
        )
    except ConditionFailedError:
        existing = deps.table.get(key) or {}
        if existing.get("execution_arn"):
            return None  # a duplicate delivery: the rollout already runs
    if deps.workflows is None:
        raise RuntimeError("start_rollout needs the workflow runner")
    arn = deps.workflows.start(
        deps.state_machine,
        {
            "image_arn": event.image_arn,
            "ami_id": ami.image,
            "image_name": event.image_name,
            "region": region,
        },
        name=name,
    )
    deps.table.update(key, set={"execution_arn": arn, "status": "RUNNING"})
    return arn


# ---- step 1: update the launch of every opted-in ASG ------------------------------------------


def _ami_key(image_arn: str) -> dict[str, str]:
    return {"PK": f"AMI~{image_arn}", "SK": "AMI"}


def _record_group(
    group: Group, image_arn: str, ami_id: str, now: str, deps: Deps
) -> dict[str, Any] | None:
    """The group's rollout record, written (with its old instances) before anything changes;
    None when the group already runs this AMI."""
    s = deps.settings
    target = Target(image_arn, ami_id, group.arn, group.name)
    record = deps.table.get(target.key)
    if record is not None:
        return record
    old_image = deps.fleet.image_of(group.launch)
    if old_image == ami_id:
        return None  # already on this AMI
    record = {
        **target.key,
        "Data1": f"APP_NAME~{group.tags.get(s.app_tag, group.name)}",
        "Data2": f"AMI~{image_arn}",
        "asg_name": group.name,
        "application": group.tags.get(s.app_tag, ""),
        "original": {
            "desired": group.desired,
            "min": group.min_size,
            "max": group.max_size,
        },
        "old_launch": _launch_item(group.launch),
        "old_image": old_image,
        "new_image": ami_id,
        "old_instances": [i.instance_id for i in group.instances],
        "alarms": alarm_names(group.tags.get(s.alarm_tag)),
        "state": "RECORDED",
        "started_at": now,
        "replaced": [],
        "skipped": {},
        "errors": [],
    }
    try:
        deps.table.put(record, condition=NotExists("PK"))
    except ConditionFailedError:
        return deps.table.get(target.key) or record
    for instance in group.instances:
        deps.table.put(
            {
                "PK": f"EC2~{instance.instance_id}",
                "SK": f"AMI~{image_arn}",
                "Data1": f"SOURCE_ASG~{group.arn}",
                "Data2": f"AMI~{image_arn}",
                "instance_id": instance.instance_id,
                "asg_name": group.name,
                "image": record["old_image"],
                "state": "OLD",
            }
        )
    return record


def _switch(target: Target, record: dict[str, Any], deps: Deps) -> None:
    """Point one recorded group at a copy of its launch with the new AMI. ``SWITCHING`` is
    recorded before the group changes and ``UPDATED`` after, so a revert knows what to undo."""
    if record["state"] not in ("RECORDED", "SWITCHING"):
        return  # switched already (UPDATED) or further on
    if not record.get("new_launch"):
        new_launch = deps.fleet.new_launch_version(_launch(record["old_launch"]), target.ami_id)
        record = deps.table.update(
            target.key, set={"new_launch": _launch_item(new_launch), "state": "SWITCHING"}
        )
    elif record["state"] == "RECORDED":
        record = deps.table.update(target.key, set={"state": "SWITCHING"})
    deps.fleet.point_group(target.asg_name, _launch(record["new_launch"]))
    deps.table.update(target.key, set={"state": "UPDATED"}, remove=["update_error"])


def update_ami(image_arn: str, ami_id: str, image_name: str, deps: Deps) -> list[dict[str, str]]:
    """Record every opted-in ASG (original capacity, launch, instances), then point each at a
    copy of its launch with the new AMI. Returns the Map's targets.

    A failure raises after noting it on the group (the state machine then reverts every
    group, :func:`revert_update`). A run that finds an earlier run of this rollout that never
    finished (its process died) raises :class:`RolloutInterruptedError` to be reverted too."""
    s = deps.settings
    key = _ami_key(image_arn)
    if (deps.table.get(key) or {}).get("update_step") == "RUNNING":
        raise RolloutInterruptedError(
            "UpdateAmi was interrupted (its process died) before it finished: reverting"
        )
    deps.table.update(key, set={"update_step": "RUNNING"})
    try:
        groups = deps.fleet.groups(s.opt_in_tag, image_name)
        targets = _update_groups(image_arn, ami_id, groups, deps)
    except Exception:
        with contextlib.suppress(PortError):
            deps.table.update(key, set={"update_step": "FAILED"})
        raise
    deps.table.update(key, set={"update_step": "DONE"})
    return targets


def _update_groups(
    image_arn: str, ami_id: str, groups: list[Group], deps: Deps
) -> list[dict[str, str]]:
    now = _iso(deps.clock.now())
    recorded: list[tuple[Target, dict[str, Any]]] = []
    for group in groups:  # every group recorded before the first one changes
        record = _record_group(group, image_arn, ami_id, now, deps)
        if record is None or record.get("state") in ("DONE", "ROLLED_BACK"):
            continue
        recorded.append((Target(image_arn, ami_id, group.arn, group.name), record))
    for target, record in recorded:
        try:
            _switch(target, record, deps)
        except Exception as exc:
            with contextlib.suppress(PortError):
                deps.table.update(target.key, set={"update_error": f"{type(exc).__name__}: {exc}"})
            raise
    return [
        {
            "image_arn": t.image_arn,
            "ami_id": t.ami_id,
            "asg_arn": t.asg_arn,
            "asg_name": t.asg_name,
        }
        for t, _ in recorded
    ]


# ---- step 2: scale out ------------------------------------------------------------------------


def _record(target: Target, deps: Deps) -> dict[str, Any]:
    record = deps.table.get(target.key)
    if record is None:
        raise NotFoundError(f"no rollout record for {target.asg_name}")
    return record


def scale_out(target: Target, deps: Deps) -> dict[str, Any]:
    """Desired 2x the recorded original (MaxSize raised when needed), once."""
    record = _record(target, deps)
    original = record["original"]
    desired, max_size = scale_out_target(int(original["desired"]), int(original["max"]))
    if record["state"] in ("UPDATED", "SCALING"):
        if record["state"] == "UPDATED":
            record = deps.table.update(
                target.key,
                set={"state": "SCALING", "scaled_at": _iso(deps.clock.now())},
            )
        # Absolute numbers from the record: running this again sets the same capacity.
        deps.fleet.set_capacity(target.asg_name, desired=desired, max_size=max_size)
        deps.table.update(target.key, set={"state": "SCALED_OUT"})
    return {"wait_s": deps.settings.poll_s, "desired": desired, "max_size": max_size}


# ---- step 3: wait for health ------------------------------------------------------------------


def _new_instances(group: Group, record: Mapping[str, Any]) -> list[str]:
    old = set(record["old_instances"])
    return [i.instance_id for i in group.instances if i.instance_id not in old]


def _firing(record: Mapping[str, Any], deps: Deps) -> list[str]:
    """The guarding alarms (the ASG's alarm tag, recorded) that are in ALARM now."""
    alarms = list(record.get("alarms") or [])
    if not alarms:
        return []
    return sorted(n for n, st in deps.fleet.alarm_states(alarms).items() if st == "ALARM")


def check_health(target: Target, deps: Deps) -> dict[str, Any]:
    """HEALTHY once the new instances are in service and healthy for the bake time (or after
    the fixed wait); WAIT before; raises to roll back on timeout or a guarding alarm."""
    s = deps.settings
    record = _record(target, deps)
    if record["state"] not in ("SCALED_OUT", "HEALTHY"):
        return {"status": "HEALTHY" if record["state"] != "SCALING" else "WAIT", "wait_s": s.poll_s}
    now = deps.clock.now()
    group = deps.fleet.group(target.asg_name)
    launched = _new_instances(group, record)
    deps.table.update(target.key, set={"launched": launched})
    firing = _firing(record, deps)
    if firing:
        raise RolloutAlarmError(f"alarm(s) {', '.join(firing)} in ALARM during the rollout")
    scaled_at = datetime.fromisoformat(record["scaled_at"])
    if record["state"] == "HEALTHY":
        return {"status": "HEALTHY", "wait_s": s.poll_s}
    if s.health_mode == "fixed":
        if now >= scaled_at + timedelta(seconds=s.fixed_wait_s):
            deps.table.update(target.key, set={"state": "HEALTHY"})
            return {"status": "HEALTHY", "wait_s": s.poll_s}
        return {"status": "WAIT", "wait_s": s.poll_s}
    serving = {i.instance_id for i in group.instances if i.serving}
    needed = int(record["original"]["desired"])
    healthy_new = [i for i in launched if i in serving]
    if len(healthy_new) >= needed:
        since = record.get("healthy_since")
        if since is None:
            deps.table.update(target.key, set={"healthy_since": _iso(now)})
            since_at = now
        else:
            since_at = datetime.fromisoformat(since)
        if now >= since_at + timedelta(seconds=s.bake_s):
            deps.table.update(target.key, set={"state": "HEALTHY"})
            return {"status": "HEALTHY", "wait_s": s.poll_s}
        return {"status": "WAIT", "wait_s": s.poll_s}  # baking: the timeout is for health
    if record.get("healthy_since"):
        deps.table.update(target.key, remove=["healthy_since"])
    if now >= scaled_at + timedelta(seconds=s.timeout_s):
        raise RolloutHealthTimeoutError(
            f"{len(healthy_new)} of {needed} new instance(s) of {target.asg_name} healthy "
            f"after {s.timeout_s} s"
        )
    return {"status": "WAIT", "wait_s": s.poll_s}


# ---- step 4: terminate old instances ----------------------------------------------------------


def _watch(instance_id: str, target: Target, due: datetime, deps: Deps) -> None:
    deps.table.put(
        {
            "PK": "WATCH",
            "SK": f"{_iso(due)}~{instance_id}",
            "instance_id": instance_id,
            "asg_name": target.asg_name,
            "image_arn": target.image_arn,
        }
    )


def terminate_old(target: Target, deps: Deps) -> dict[str, Any]:
    """Terminate old instances one by one while healthy capacity stays at the original
    desired; held instances (protected, Standby) are skipped or waited for by policy. When all
    are handled, restore desired and MaxSize. ``done`` says whether to come back.

    Each call (each batch) first checks the guarding alarms: one in ALARM raises
    :class:`RolloutAlarmError` before anything more is terminated (Catch → Rollback)."""
    s = deps.settings
    record = _record(target, deps)
    if record["state"] in ("DONE", "ROLLED_BACK"):
        return {"done": True, "wait_s": s.poll_s}
    now = deps.clock.now()
    if record["state"] != "TERMINATING":
        record = deps.table.update(
            target.key, set={"state": "TERMINATING", "terminating_at": _iso(now)}
        )
    firing = _firing(record, deps)  # before each batch: an alarm stops terminating
    if firing:
        gone = list(record.get("replaced") or [])
        so_far = (
            f"{len(gone)} old instance(s) already terminated ({', '.join(gone)})"
            if gone
            else "no old instance terminated yet"
        )
        raise RolloutAlarmError(
            f"alarm(s) {', '.join(firing)} in ALARM during the termination of old instances "
            f"of {target.asg_name}: stopped terminating, {so_far}"
        )
    original = int(record["original"]["desired"])
    group = deps.fleet.group(target.asg_name)
    current = {i.instance_id: i for i in group.instances}
    replaced = list(record.get("replaced") or [])
    skipped = dict(record.get("skipped") or {})
    pending = False
    healthy = group.healthy_capacity()
    wait_until = datetime.fromisoformat(record["terminating_at"]) + timedelta(seconds=s.held_wait_s)
    for instance_id in record["old_instances"]:
        instance = current.get(instance_id)
        if instance is None or instance_id in replaced or instance_id in skipped:
            continue
        if instance.lifecycle in ("Terminating", "Terminated", "Terminating:Wait"):
            continue
        reason = held_reason(instance.lifecycle, instance.protected)
        if reason is not None:
            if s.held_policy == "wait" and now < wait_until:
                pending = True
            else:
                skipped[instance_id] = (
                    reason if s.held_policy == "skip" else f"{reason} after {s.held_wait_s} s"
                )
            continue
        counts = 1 if instance.serving else 0
        if counts and not may_terminate(healthy, original):
            pending = True  # keep it until enough new capacity serves
            continue
        due = now + timedelta(seconds=s.grace_s)
        deps.table.update(
            {"PK": f"EC2~{instance_id}", "SK": f"AMI~{target.image_arn}"},
            set={
                "state": "TERMINATING",
                "terminate_at": _iso(now),
                "ExpiresAt": int(due.timestamp()),
            },
        )
        _watch(instance_id, target, due, deps)
        with contextlib.suppress(NotFoundError):  # already gone
            deps.fleet.terminate(instance_id, decrement=True)
        healthy -= counts
        replaced.append(instance_id)
        deps.table.update(target.key, set={"replaced": replaced})
    deps.table.update(target.key, set={"replaced": replaced, "skipped": skipped})
    if pending:
        if now >= datetime.fromisoformat(record["terminating_at"]) + timedelta(
            seconds=max(s.timeout_s, s.held_wait_s)
        ):
            deps.table.update(
                target.key,
                set={"errors": [*record.get("errors", []), "gave up waiting to terminate"]},
            )
        else:
            return {"done": False, "wait_s": s.poll_s}
    _restore(target, record, deps)
    deps.table.update(target.key, set={"state": "DONE", "finished_at": _iso(deps.clock.now())})
    return {"done": True, "wait_s": s.poll_s}


def _restore(target: Target, record: Mapping[str, Any], deps: Deps) -> None:
    original = record["original"]
    group = deps.fleet.group(target.asg_name)
    desired = min(group.desired, int(original["desired"]))
    desired = max(desired, int(original["min"]))
    max_size = max(int(original["max"]), desired)
    if group.desired != desired or group.max_size != max_size:
        deps.fleet.set_capacity(target.asg_name, desired=desired, max_size=max_size)


# ---- rollback ---------------------------------------------------------------------------------


def _cause(error: Mapping[str, Any] | None) -> str:
    """``Error: message`` of a caught error (Step Functions' Cause of a Lambda error is the
    JSON of errorMessage/errorType/stackTrace: only the message is kept)."""
    if not error:
        return ""
    cause = str(error.get("Cause", ""))
    with contextlib.suppress(ValueError):
        parsed = json.loads(cause)
        if isinstance(parsed, dict) and parsed.get("errorMessage"):
            cause = str(parsed["errorMessage"])
    return f"{error.get('Error', '')}: {cause}".strip(": ")


def rollback(
    target: Target, error: Mapping[str, Any] | None, deps: Deps, *, why: str = ""
) -> dict[str, Any]:
    """Point the ASG back at its previous launch, remove new instances without dropping healthy
    capacity below the original desired, and restore desired/MaxSize. New instances that hold
    capacity after old ones were terminated are kept (the old AMI is not relaunched)."""
    record = _record(target, deps)
    if record["state"] == "ROLLED_BACK":
        return {"rolled_back": True}
    if record["state"] != "ROLLING_BACK":  # first entry: note where it came from, once
        cause = _cause(error)
        errors = list(record.get("errors") or [])
        record = deps.table.update(
            target.key,
            set={
                "state": "ROLLING_BACK",
                "rollback_from": record["state"],
                "errors": [*errors, cause] if cause else errors,
            },
        )
    old_launch = _launch(record["old_launch"])
    back_on = f"{old_launch.describe()} ({record['old_image']})"
    if record.get("rollback_from") == "RECORDED":
        # Never switched (UpdateAmi stopped before it): the group is as it was.
        reverted = f"{target.asg_name} not switched, still on {back_on}: nothing to revert"
        removed: list[str] = []
        kept: list[str] = []
    else:
        deps.fleet.point_group(target.asg_name, old_launch)
        removed, kept = _remove_new(target, record, deps)
        _restore(target, record, deps)
        reverted = f"{target.asg_name} back on {back_on}"
        if record.get("rollback_from") not in ("SWITCHING", "UPDATED") or removed or kept:
            reverted += (
                f"; removed {len(removed)} new instance(s); capacity restored to desired "
                f"{record['original']['desired']}, MaxSize {record['original']['max']}"
            )
        replaced = list(record.get("replaced") or [])
        if replaced:
            reverted += (
                f"; {len(replaced)} old instance(s) were already terminated "
                f"({', '.join(replaced)}): kept {len(kept)} new instance(s) that hold "
                "capacity (the old AMI is not relaunched)"
            )
    if why:
        reverted += f"; why: {why}"
    deps.table.update(
        target.key,
        set={
            "state": "ROLLED_BACK",
            "rolled_back": True,
            "reverted": reverted,
            "removed": removed,
            "finished_at": _iso(deps.clock.now()),
        },
    )
    return {"rolled_back": True}


def _remove_new(
    target: Target, record: Mapping[str, Any], deps: Deps
) -> tuple[list[str], list[str]]:
    """Terminate the new instances that do not hold the original healthy capacity; returns
    (removed, kept)."""
    group = deps.fleet.group(target.asg_name)
    original = int(record["original"]["desired"])
    healthy = group.healthy_capacity()
    removed: list[str] = []
    kept: list[str] = []
    for instance_id in _new_instances(group, record):
        instance = next(i for i in group.instances if i.instance_id == instance_id)
        counts = 1 if instance.serving else 0
        if counts and not may_terminate(healthy, original):
            kept.append(instance_id)  # it holds capacity: keep it
            continue
        with contextlib.suppress(NotFoundError):
            deps.fleet.terminate(instance_id, decrement=True)
        healthy -= counts
        removed.append(instance_id)
    return removed, kept


def _group_records(image_arn: str, deps: Deps) -> list[dict[str, Any]]:
    """Every ASG record of the rollout (GSI2 query on Data2 = AMI~<arn>), by name."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = deps.table.query(
            f"AMI~{image_arn}", index="GSI2", sort=SortKeyCondition.begins_with("AMI~"), start=token
        )
        found.extend(i for i in page.items if str(i["PK"]).startswith("ASG~"))
        token = page.next_token
        if token is None:
            return sorted(found, key=lambda i: str(i["asg_name"]))


def revert_update(
    image_arn: str, ami_id: str, error: Mapping[str, Any] | None, deps: Deps
) -> dict[str, Any]:
    """UpdateAmi failed (or was interrupted): roll back every group it recorded, as
    :func:`rollback` does after a later failure. What each group reached is in its record
    (``RECORDED`` untouched, ``SWITCHING`` maybe switched, ``UPDATED`` switched), so a retried
    or resumed revert redoes nothing twice. The failure is kept for the report."""
    why = _cause(error) or "UpdateAmi failed"
    deps.table.update(_ami_key(image_arn), set={"update_failure": why})
    reverted = []
    for record in _group_records(image_arn, deps):
        target = Target(
            image_arn, ami_id, str(record["PK"]).removeprefix("ASG~"), str(record["asg_name"])
        )
        if record["state"] in ("DONE", "ROLLED_BACK"):
            continue
        own = record.get("update_error")
        rollback(
            target,
            {"Error": "UpdateAmi", "Cause": own} if own else None,
            deps,
            why=f"UpdateAmi failed ({why})",
        )
        reverted.append(target.asg_name)
    return {"rolled_back": True, "reverted": reverted}


# ---- step 5: report ---------------------------------------------------------------------------


def _outcome(item: Mapping[str, Any]) -> AsgOutcome:
    started = item.get("scaled_at") or item.get("started_at")
    finished = item.get("finished_at")
    duration = None
    if started and finished:
        duration = (
            datetime.fromisoformat(finished) - datetime.fromisoformat(started)
        ).total_seconds()
    return AsgOutcome(
        name=str(item["asg_name"]),
        application=str(item.get("application", "")),
        old_image=str(item.get("old_image", "")),
        new_image=str(item.get("new_image", "")),
        launched=list(item.get("launched") or []),
        replaced=list(item.get("replaced") or []),
        skipped=sorted((k, str(v)) for k, v in (item.get("skipped") or {}).items()),
        duration_s=duration,
        errors=list(item.get("errors") or []),
        rolled_back=bool(item.get("rolled_back")),
        reverted=str(item.get("reverted", "")),
        state=str(item.get("state", "")),
    )


def outcomes(image_arn: str, deps: Deps) -> list[AsgOutcome]:
    """Every ASG of the rollout (GSI2 query on Data2 = AMI~<arn>)."""
    return [_outcome(i) for i in _group_records(image_arn, deps)]


def send_report(image_arn: str, ami_id: str, deps: Deps) -> dict[str, Any]:
    """Email the report once (guarded by a conditional write on the AMI item)."""
    key = _ami_key(image_arn)
    results = outcomes(image_arn, deps)
    failure = str((deps.table.get(key) or {}).get("update_failure", ""))
    subject, text = render_report(image_arn, ami_id, results, failure)
    try:
        deps.table.update(
            key, set={"reported_at": _iso(deps.clock.now())}, condition=NotExists("reported_at")
        )
    except ConditionFailedError:
        return {"sent": False, "subject": subject}
    try:
        deps.mailer.send(
            Email(
                sender=deps.settings.sender,
                to=list(deps.settings.recipients),
                subject=subject,
                text=text,
            )
        )
    except Exception:
        deps.table.update(key, remove=["reported_at"])  # let the retry send it
        raise
    status = "ROLLED_BACK" if failure or any(o.rolled_back for o in results) else "DONE"
    deps.table.update(key, set={"status": status})
    return {"sent": True, "subject": subject, "rolled_back": status == "ROLLED_BACK"}


# ---- termination check ------------------------------------------------------------------------


def verify_terminated(instance_id: str, asg_name: str, image_arn: str, deps: Deps) -> bool:
    """Alert (once per instance) when a replaced instance still runs; True when alerted."""
    if instance_id not in deps.fleet.running([instance_id]):
        return False
    try:
        deps.table.put(
            {
                "PK": f"EC2~{instance_id}",
                "SK": "ALERT",
                "asg_name": asg_name,
                "image_arn": image_arn,
                "alerted_at": _iso(deps.clock.now()),
            },
            condition=NotExists("PK"),
        )
    except ConditionFailedError:
        return False  # already alerted
    subject, text = render_alert(instance_id, asg_name, image_arn)
    deps.mailer.send(
        Email(
            sender=deps.settings.sender,
            to=list(deps.settings.recipients),
            subject=subject,
            text=text,
        )
    )
    return True


def check_due(deps: Deps) -> list[str]:
    """The scheduled check: every watch whose grace time passed (a Query on PK=WATCH, SK <=
    now), prompt even when the TTL deletion comes late. Returns the alerted instance ids."""
    alerted: list[str] = []
    now = _iso(deps.clock.now())
    token: str | None = None
    due: list[dict[str, Any]] = []
    while True:
        page = deps.table.query("WATCH", sort=SortKeyCondition("<=", now), start=token)
        due.extend(page.items)
        token = page.next_token
        if token is None:
            break
    for item in due:
        if verify_terminated(item["instance_id"], item["asg_name"], item["image_arn"], deps):
            alerted.append(item["instance_id"])
        deps.table.delete({"PK": item["PK"], "SK": item["SK"]})
    return alerted


def on_expired(items: Iterable[Mapping[str, Any]], deps: Deps) -> list[str]:
    """Stream side: old instance items removed by TTL; alert for those still running."""
    alerted = []
    for item in items:
        if not str(item.get("PK", "")).startswith("EC2~") or item.get("state") != "TERMINATING":
            continue
        image_arn = str(item.get("SK", "")).removeprefix("AMI~")
        if verify_terminated(str(item["instance_id"]), str(item["asg_name"]), image_arn, deps):
            alerted.append(str(item["instance_id"]))
    return alerted
