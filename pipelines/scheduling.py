"""Schedules applied to the database: create and edit them, and the scheduler's tick.

Exactly once: every fire is a row unique on (schedule, fire time), recorded
before anything is submitted; the scheduler hands pending fires to workers, and a
fire is dispatched in the same transaction that records its run, so a scheduler or
worker killed at any point, or two schedulers at once, neither lose nor duplicate a run. A data-change cursor advances only in the
transaction that records the run it caused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from pipelines import services
from pipelines.models import PipelineEndpoint, PublishedPipeline, Schedule, ScheduleFire
from runs import services as run_services
from studio.core.errors import StudioError
from studio.core.names import check_experiment_name, check_name
from studio.core.parameters import coerce
from studio.core.paths import clean_path, join
from studio.core.recurrence import (
    Recurrence,
    due_fires,
    fire_times,
    first_fire,
    next_fire,
    parse_recurrence,
)
from studio.workspace.models import CONTROL_QUEUE
from studio.workspace.services import get_datastore

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

log = logging.getLogger("studio.scheduler")

# pipelines.tasks.dispatch_fire, rung by name: the task calls this module, not the reverse.
DISPATCH_FIRE = "pipelines.dispatch_fire"


@dataclass
class ScheduleInput:
    """What a schedule is made of, from the SDK, the API or a form."""

    name: str
    experiment_name: str
    published_pipeline: PublishedPipeline | None = None
    pipeline_endpoint: PipelineEndpoint | None = None
    description: str = ""
    pipeline_parameters: Mapping[str, Any] | None = None
    continue_on_step_failure: bool | None = None
    recurrence: dict | None = None
    missed_policy: str = "latest"
    datastore: str | None = None
    path_on_datastore: str | None = None
    polling_interval: float = 5.0
    data_path_parameter_name: str | None = None
    include_subfolders: bool = True


def _validate(data: ScheduleInput) -> dict:
    check_name("schedule", data.name)
    if (data.published_pipeline is None) == (data.pipeline_endpoint is None):
        raise StudioError(
            "pipeline_id", "A schedule starts exactly one published pipeline or pipeline endpoint."
        )
    check_experiment_name(data.experiment_name)
    if data.recurrence and data.datastore:
        raise StudioError("recurrence", "Can not specify both a Recurrence and a Datastore")
    if not data.recurrence and not data.datastore:
        raise StudioError("recurrence", "A schedule needs a recurrence or a datastore to watch.")
    if data.missed_policy not in ("latest", "skip"):
        raise StudioError("missed_policy", "missed_policy must be latest or skip.")
    fields: dict[str, Any] = {}
    if data.recurrence:
        if data.path_on_datastore or data.data_path_parameter_name:
            raise StudioError(
                "path_on_datastore",
                "path_on_datastore and data_path_parameter_name can only be used with a datastore, not with a recurrence",
            )
        try:
            rec = parse_recurrence(data.recurrence)
        except StudioError as exc:
            raise StudioError(f"recurrence.{exc.field}", exc.message) from None
        fields.update(
            kind="recurrence",
            recurrence=rec.to_dict(),
            datastore="",
            path_on_datastore="",
            data_path_parameter_name="",
        )
    else:
        try:
            store = get_datastore(data.datastore)
        except StudioError as exc:
            raise StudioError("datastore", exc.message) from None
        try:
            path = clean_path(data.path_on_datastore or "")
        except StudioError as exc:
            raise StudioError("path_on_datastore", str(exc)) from None
        try:
            interval = float(data.polling_interval)
        except (TypeError, ValueError):
            raise StudioError(
                "polling_interval", "polling_interval must be a number of minutes"
            ) from None
        if not 0.01 <= interval <= 60 * 24 * 7:
            raise StudioError(
                "polling_interval", "polling_interval must be between 0.01 and 10080 minutes"
            )
        fields.update(
            kind="datastore",
            recurrence={},
            datastore=store.name,
            path_on_datastore=path,
            polling_interval=interval,
            data_path_parameter_name=data.data_path_parameter_name or "",
            include_subfolders=data.include_subfolders,
        )
    pipeline = data.published_pipeline or services.endpoint_pipeline(data.pipeline_endpoint)
    declared = {p["name"]: p for p in pipeline.graph.spec.get("parameters", [])}
    parameters = dict(data.pipeline_parameters or {})
    for name in parameters:
        if name not in declared:
            raise StudioError(
                f"pipeline_parameters.{name}", f"Pipeline parameter with name {name} does not exist"
            )
    if fields["kind"] == "datastore" and fields["data_path_parameter_name"]:
        target = declared.get(fields["data_path_parameter_name"])
        if target is None:
            raise StudioError(
                "data_path_parameter_name",
                f"Pipeline parameter with name {fields['data_path_parameter_name']} does not exist",
            )
        if target["type"] not in ("datapath", "str"):
            raise StudioError(
                "data_path_parameter_name",
                f"Pipeline parameter {target['name']} must be a DataPath (or str) parameter to receive the changed path",
            )
    for name, value in parameters.items():
        parameters[name] = coerce(name, declared[name]["type"], value, declared[name]["default"])
    fields.update(
        name=data.name.strip(),
        description=data.description or "",
        experiment_name=data.experiment_name,
        published_pipeline=data.published_pipeline,
        pipeline_endpoint=data.pipeline_endpoint,
        pipeline_parameters=parameters,
        continue_on_step_failure=data.continue_on_step_failure,
        missed_policy=data.missed_policy,
    )
    return fields


def recurrence_of(schedule: Schedule) -> Recurrence:
    return parse_recurrence(schedule.recurrence)


def _next_after(schedule: Schedule, after: datetime) -> datetime | None:
    if schedule.kind != "recurrence":
        return None
    return next_fire(recurrence_of(schedule), schedule.created_at, after)


def create_schedule(data: ScheduleInput, user: AbstractUser | None = None) -> Schedule:
    fields = _validate(data)
    now = timezone.now()
    schedule = Schedule(
        **fields,
        created_by=user if user is not None and user.is_authenticated else None,
        created_at=now,
        updated_at=now,
    )
    schedule.next_fire_at = (
        first_fire(recurrence_of(schedule), now) if schedule.kind == "recurrence" else now
    )
    schedule.save()
    return schedule


def update_schedule(schedule: Schedule, data: ScheduleInput) -> Schedule:
    """Change a schedule; it never fires again a time that already fired."""
    fields = _validate(data)
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        kind_changed = (
            fields["kind"] != schedule.kind
            or fields.get("path_on_datastore") != schedule.path_on_datastore
            or fields.get("datastore") != schedule.datastore
        )
        for key, value in fields.items():
            setattr(schedule, key, value)
        now = timezone.now()
        schedule.updated_at = now
        if schedule.kind == "recurrence":
            # Times before the edit are settled: neither fired again nor caught up.
            schedule.last_fire_at = max(now, schedule.last_fire_at or now)
            schedule.next_fire_at = _next_after(schedule, schedule.last_fire_at)
        else:
            if kind_changed:
                schedule.cursor = None  # a new path gets a new baseline
            schedule.next_fire_at = schedule.next_fire_at or now
        schedule.save()
    return schedule


def set_schedule_status(schedule: Schedule, status: str) -> Schedule:
    """Enable or disable; re-enabling never fires the times it was off."""
    if status not in ("Active", "Disabled"):
        raise StudioError("status", "Status must be Active or Disabled")
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        if status == "Active" and schedule.status != "Active":
            now = timezone.now()
            if schedule.kind == "recurrence":
                schedule.next_fire_at = _next_after(
                    schedule, max(now, schedule.last_fire_at or now)
                )
                schedule.last_fire_at = max(now, schedule.last_fire_at or now)
            else:
                schedule.cursor = None
                schedule.next_fire_at = now
        schedule.status = status
        schedule.updated_at = timezone.now()
        schedule.save(
            update_fields=["status", "next_fire_at", "last_fire_at", "cursor", "updated_at"]
        )
    return schedule


def preview(recurrence: dict, anchor: datetime | None = None, count: int = 10) -> list[datetime]:
    rec = parse_recurrence(recurrence)
    now = timezone.now()
    return fire_times(rec, anchor or now, now, count)


# --- the scheduler's tick --------------------------------------------------------------------


def record_due_fires(now: datetime) -> int:
    """Insert a fire row for every recurrence schedule that is due (ignoring ones already recorded)."""
    due = list(
        Schedule.objects.filter(status="Active", kind="recurrence", next_fire_at__lte=now).only(
            "id", "recurrence", "created_at", "last_fire_at", "next_fire_at", "missed_policy"
        )[:5000]
    )
    fires = []
    updates = []
    for schedule in due:
        rec = recurrence_of(schedule)
        since = (schedule.last_fire_at or schedule.created_at) - timedelta(microseconds=1)
        if schedule.last_fire_at is None and schedule.next_fire_at is not None:
            since = min(since, schedule.next_fire_at - timedelta(microseconds=1))
        times = due_fires(rec, schedule.created_at, since, now, policy=schedule.missed_policy)
        for fire_time in times:
            fires.append(ScheduleFire(schedule_id=schedule.id, fire_time=fire_time))
        last = times[-1] if times else now
        schedule.last_fire_at = max(last, schedule.last_fire_at or last)
        schedule.next_fire_at = next_fire(rec, schedule.created_at, max(now, schedule.last_fire_at))
        updates.append(schedule)
    if fires:
        ScheduleFire.objects.bulk_create(fires, ignore_conflicts=True)
    if updates:
        Schedule.objects.bulk_update(updates, ["last_fire_at", "next_fire_at"], batch_size=500)
    return len(fires)


def poll_data_triggers(now: datetime) -> int:
    """Look for added or modified files under each data-change schedule's path."""
    due = Schedule.objects.filter(status="Active", kind="datastore", next_fire_at__lte=now)
    recorded = 0
    for schedule in due[:1000]:
        if ScheduleFire.objects.filter(schedule=schedule, status="pending").exists():
            continue  # the previous change is not dispatched yet: its cursor has not moved
        interval = timedelta(minutes=schedule.polling_interval)
        polled = {"next_fire_at": now + interval}
        try:
            recorded += _poll(schedule, now)
            polled["last_polled_at"] = timezone.now()
        except Exception as exc:  # an unreachable store is noted and retried next interval
            log.warning("polling %s failed: %s", schedule.name, exc)
        Schedule.objects.filter(pk=schedule.pk).update(**polled)
    return recorded


def _poll(schedule: Schedule, now: datetime) -> int:
    store = get_datastore(schedule.datastore).store()
    current = {
        f.path: f"{f.size}:{f.version}"
        for f in store.walk(schedule.path_on_datastore, recursive=schedule.include_subfolders)
    }
    if schedule.cursor is None:
        Schedule.objects.filter(pk=schedule.pk, cursor__isnull=True).update(
            cursor=current
        )  # the baseline fires nothing
        return 0
    changed = sorted(
        path for path, version in current.items() if schedule.cursor.get(path) != version
    )
    if not changed:
        if set(schedule.cursor) != set(current):  # only deletions: move the baseline, fire nothing
            Schedule.objects.filter(pk=schedule.pk).update(cursor=current)
        return 0
    try:
        ScheduleFire.objects.create(
            schedule=schedule, fire_time=now, changed_paths=changed, cursor=current
        )
    except IntegrityError:
        return 0
    return 1


HANDOFF_RETRY = timedelta(seconds=60)


def hand_off_pending(limit: int = 1000) -> int:
    """Give each pending fire to a worker: one ``dispatch_fire`` task on the control queue.

    The scheduler only decides; workers create the runs, so a tick stays short however many
    schedules fire at once. A fire is marked handed before its message is sent, and a fire
    still pending a minute after it was handed (its message lost, or no worker yet) is handed
    again: :func:`dispatch_fire` locks the fire and starts a run only if it is still pending,
    so a fire handed twice still starts one run.
    """
    now = timezone.now()  # the real clock: this is about messages, not schedule time
    ids = list(
        ScheduleFire.objects.filter(status="pending")
        .filter(Q(handed_at__isnull=True) | Q(handed_at__lt=now - HANDOFF_RETRY))
        .order_by("fire_time")
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return 0
    ScheduleFire.objects.filter(id__in=ids, status="pending").update(handed_at=now)
    for position, fire_id in enumerate(ids):
        if not run_services.ring_doorbell(DISPATCH_FIRE, [fire_id], CONTROL_QUEUE):
            # The broker is down: these fires are handed again at the next tick.
            ScheduleFire.objects.filter(id__in=ids[position:], handed_at=now).update(handed_at=None)
            return position
    return len(ids)


def dispatch_fire(fire_id: int) -> int:
    """Start the run of a pending fire, recording it in the same transaction (1 if started)."""
    return _dispatch(fire_id, timezone.now())


def run_schedule_now(schedule: Schedule, user: AbstractUser | None = None) -> ScheduleFire:
    """Fire ``schedule`` once, now, outside its recurrence or data trigger: a manual fire in
    its history whose run starts at once with the schedule's parameters (a data-change
    schedule's data-path parameter keeps its value: no file changed). The recurrence, the
    data cursor and the enabled or disabled status are left as they were. A fire whose
    submission is refused (a disabled pipeline, say) is recorded as failed, with the reason."""
    now = timezone.now()
    with transaction.atomic():  # nobody else sees the fire before it is dispatched
        fire = ScheduleFire.objects.create(schedule=schedule, fire_time=now, manual=True)
        _dispatch(fire.id, now, user=user)
    fire.refresh_from_db()
    return fire


def _dispatch(fire_id: int, now: datetime, user: AbstractUser | None = None) -> int:
    with transaction.atomic():
        fires = ScheduleFire.objects.filter(id=fire_id, status="pending").select_related(
            "schedule__published_pipeline__graph", "schedule__pipeline_endpoint"
        )
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            fires = fires.select_for_update(skip_locked=True, of=("self",))
        fire = fires.first()
        if fire is None:
            return 0  # another scheduler has it
        schedule = fire.schedule
        try:
            pipeline = schedule.published_pipeline or services.endpoint_pipeline(
                schedule.pipeline_endpoint
            )
            parameters = dict(schedule.pipeline_parameters)
            if (
                schedule.kind == "datastore"
                and schedule.data_path_parameter_name
                and fire.changed_paths
            ):
                parameters[schedule.data_path_parameter_name] = _changed_value(
                    schedule, fire.changed_paths, pipeline
                )
            with transaction.atomic():
                run, _ = services.submit_published(
                    pipeline,
                    experiment_name=schedule.experiment_name,
                    parameters=parameters,
                    description=schedule.description or schedule.name,
                    run_source="Schedule",
                    tags={
                        "azureml.pipelineScheduleId": str(schedule.id),
                        "schedule": schedule.name,
                    },
                    continue_on_step_failure=schedule.continue_on_step_failure,
                    user=user or schedule.created_by,
                    endpoint=schedule.pipeline_endpoint,
                    schedule=schedule,
                )
        except StudioError as exc:
            fire.status, fire.error, fire.dispatched_at = "failed", exc.message, now
            fire.save(update_fields=["status", "error", "dispatched_at"])
            if fire.cursor is not None:
                Schedule.objects.filter(pk=schedule.pk).update(cursor=fire.cursor)
            return 0
        fire.status, fire.run, fire.dispatched_at = "submitted", run, now
        fire.save(update_fields=["status", "run", "dispatched_at"])
        if fire.cursor is not None:
            Schedule.objects.filter(pk=schedule.pk).update(cursor=fire.cursor)
    return 1


def _changed_value(schedule: Schedule, changed: list[str], pipeline: PublishedPipeline):
    """The changed path for the data-path parameter: the file, or the folder holding a burst of them."""
    if len(changed) == 1:
        path = changed[0]
    else:
        parts = [p.split("/") for p in changed]
        common = []
        for segment in zip(*parts, strict=False):
            if len(set(segment)) != 1:
                break
            common.append(segment[0])
        path = "/".join(common[: min(len(p) for p in parts) - 1]) or schedule.path_on_datastore
    declared = {p["name"]: p for p in pipeline.graph.spec.get("parameters", [])}
    if declared[schedule.data_path_parameter_name]["type"] == "str":
        return join(schedule.datastore, path)
    return {"datastore": schedule.datastore, "path": path}


def tick(now: datetime | None = None) -> dict:
    """One pass of the scheduler: record due fires, poll data triggers, hand pending fires to
    workers, and send the messages owed to queued steps (the outbox of steps whose sender
    found the broker down). Each part commits on its own: a scheduler that dies between them
    leaves recorded fires pending, and the next pass (of any scheduler) hands them off."""
    now = now or timezone.now()
    recorded = record_due_fires(now)
    polled = poll_data_triggers(now)
    handed = hand_off_pending()
    rung = run_services.ring_pending()
    return {"recorded": recorded, "changes": polled, "handed": handed, "rung": rung}
