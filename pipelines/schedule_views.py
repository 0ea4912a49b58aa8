"""The schedule pages: list, create and edit (with a preview of the next fire times), enable
and disable. A form's choices come from the published pipelines and endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipelines import scheduling, services
from pipelines.forms import COMMON_ZONES, ScheduleForm
from pipelines.models import PipelineEndpoint, PublishedPipeline, Schedule, ScheduleFire
from runs.models import Run
from studio.core.errors import StudioError
from studio.core.recurrence import parse_recurrence, preview_fires
from studio.core.status import TERMINAL
from studio.workspace import live, roles, storage

_FIELD_OF = {
    "recurrence.frequency": "frequency",
    "recurrence.interval": "interval",
    "recurrence.start_time": "start_time",
    "recurrence.time_zone": "time_zone",
    "recurrence.hours": "hours",
    "recurrence.minutes": "minutes",
    "recurrence.week_days": "week_days",
    "recurrence.time_of_day": "hours",
    "recurrence": "kind",
    "pipeline_id": "target",
    "pipeline_parameters": None,
}


def _targets():
    pipelines = [
        (f"pipeline:{p.id}", f"{p.name} {p.version}".strip())
        for p in PublishedPipeline.objects.filter(status="Active")[:500]
    ]
    endpoints = [
        (f"endpoint:{e.id}", f"Endpoint {e.name}")
        for e in PipelineEndpoint.objects.filter(status="Active")[:500]
    ]
    return pipelines + endpoints


def _resolve_target(value: str | None):
    kind, _, ident = (value or "").partition(":")
    try:
        if kind == "pipeline":
            return PublishedPipeline.objects.select_related("graph").get(id=ident), None
        if kind == "endpoint":
            return None, PipelineEndpoint.objects.get(id=ident)
    except (
        PublishedPipeline.DoesNotExist,
        PipelineEndpoint.DoesNotExist,
        ValueError,
        ValidationError,
    ):
        pass
    return None, None


def _parameters_for(value: str | None) -> list[dict]:
    pipeline, endpoint = _resolve_target(value)
    if endpoint is not None:
        try:
            pipeline = services.endpoint_pipeline(endpoint)
        except StudioError:
            return []
    return pipeline.graph.spec.get("parameters", []) if pipeline else []


def _schedule_form(
    data: QueryDict | None = None, initial: dict[str, Any] | None = None
) -> ScheduleForm:
    target = (
        (data or {}).get("target")
        or (initial or {}).get("target")
        or next(iter(_targets()), ("", ""))[0]
    )
    return ScheduleForm(
        data,
        initial=initial,
        parameters=_parameters_for(target),
        targets=_targets(),
        datastores=storage.datastores().values_list("name", flat=True),
    )


def _initial_from(schedule: Schedule) -> dict:
    rec = schedule.recurrence or {}
    start = rec.get("start_time")
    initial = {
        "name": schedule.name,
        "description": schedule.description,
        "experiment_name": schedule.experiment_name,
        "target": f"pipeline:{schedule.published_pipeline_id}"
        if schedule.published_pipeline_id
        else f"endpoint:{schedule.pipeline_endpoint_id}",
        "kind": schedule.kind,
        "frequency": rec.get("frequency", "Day"),
        "interval": rec.get("interval", 1),
        "start_time": start[:16] if start else None,
        "time_zone": rec.get("time_zone", "UTC"),
        "hours": ", ".join(str(h) for h in rec.get("hours", [])),
        "minutes": ", ".join(str(m) for m in rec.get("minutes", [])),
        "week_days": rec.get("week_days", []),
        "missed_policy": schedule.missed_policy,
        "datastore": schedule.datastore,
        "path_on_datastore": schedule.path_on_datastore,
        "polling_interval": schedule.polling_interval,
        "data_path_parameter_name": schedule.data_path_parameter_name,
        "include_subfolders": schedule.include_subfolders,
    }
    for name, value in schedule.pipeline_parameters.items():
        initial[f"param_{name}"] = (
            f"{value['datastore']}/{value['path']}" if isinstance(value, dict) else value
        )
    return initial


def _save_schedule(
    request: HttpRequest, form: ScheduleForm, schedule: Schedule | None = None
) -> Schedule | None:
    if not form.is_valid():
        return None
    pipeline, endpoint = _resolve_target(form.cleaned_data["target"])
    data = form.cleaned_data
    payload = scheduling.ScheduleInput(
        name=data["name"],
        experiment_name=data["experiment_name"],
        published_pipeline=pipeline,
        pipeline_endpoint=endpoint,
        description=data["description"],
        pipeline_parameters=data["pipeline_parameters"],
        recurrence=form.recurrence(),
        missed_policy=data["missed_policy"],
        datastore=data["datastore"] if data["kind"] == "datastore" else None,
        path_on_datastore=data["path_on_datastore"] if data["kind"] == "datastore" else None,
        polling_interval=data["polling_interval"] or 5.0,
        data_path_parameter_name=(data["data_path_parameter_name"] or None)
        if data["kind"] == "datastore"
        else None,
        include_subfolders=data["include_subfolders"],
    )
    try:
        if schedule is None:
            return scheduling.create_schedule(payload, user=request.user)
        return scheduling.update_schedule(schedule, payload)
    except StudioError as exc:
        form.add_error(
            _FIELD_OF.get(exc.field, exc.field if exc.field in form.fields else None), exc.message
        )
        return None


@require_http_methods(["GET", "POST"])
@login_required
def schedule_create(request: HttpRequest) -> HttpResponse:
    roles.authorize(request, "create")
    if request.method == "POST":
        form = _schedule_form(request.POST)
        schedule = _save_schedule(request, form)
        if schedule is not None:
            messages.success(request, f"Schedule {schedule.name} created.")
            return redirect("schedule-detail", schedule_id=schedule.id)
        status = 400
    else:
        initial = {k: v for k, v in request.GET.items()}
        if "week_days" in request.GET:
            initial["week_days"] = request.GET.getlist("week_days")
        form = _schedule_form(initial=initial)
        status = 200
    return render(
        request,
        "pipelines/schedule_form.html",
        {"form": form, "schedule": None, "zones": COMMON_ZONES},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def schedule_edit(request: HttpRequest, schedule_id: UUID) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("created_by"), id=schedule_id)
    roles.authorize(request, "change", owner=schedule.created_by)
    if request.method == "POST":
        form = _schedule_form(request.POST)
        saved = _save_schedule(request, form, schedule)
        if saved is not None:
            messages.success(request, f"Schedule {saved.name} saved.")
            return redirect("schedule-detail", schedule_id=saved.id)
        status = 400
    else:
        form, status = _schedule_form(initial=_initial_from(schedule)), 200
    return render(
        request,
        "pipelines/schedule_form.html",
        {"form": form, "schedule": schedule, "zones": COMMON_ZONES},
        status=status,
    )


@require_POST
@login_required
def schedule_preview(request: HttpRequest) -> HttpResponse:
    """The next ten fire times of the recurrence being typed, with daylight-saving notes."""
    form = _schedule_form(request.POST)
    form.is_valid()
    context = {"fires": [], "error": "", "zone": ""}
    if form.cleaned_data.get("kind") != "recurrence":
        context["error"] = (
            "Data-change schedules fire when files are added or modified under the path."
        )
    else:
        try:
            recurrence = {
                k: v for k, v in (form.recurrence() or {}).items() if v not in (None, "", [])
            }
            rec = parse_recurrence(recurrence)
            now = timezone.now()
            context["fires"] = preview_fires(rec, now, now, 10)
            context["zone"] = rec.zone.key
        except StudioError as exc:
            context["error"] = exc.message
        except (TypeError, ValueError) as exc:
            context["error"] = str(exc)
    return render(request, "pipelines/schedule_form.html#preview", context)


def _schedule_rows():
    latest = Run.objects.filter(schedule_id=OuterRef("pk")).order_by("-created_at")
    return Schedule.objects.select_related(
        "published_pipeline", "pipeline_endpoint", "created_by"
    ).annotate(
        last_run_id=Subquery(latest.values("id")[:1]),
        last_run_status=Subquery(latest.values("status")[:1]),
    )


@require_GET
@login_required
def schedule_list(request: HttpRequest) -> HttpResponse:
    schedules = _schedule_rows().order_by("status", "next_fire_at", "name")[:1000]
    return render(request, "pipelines/schedule_list.html", {"schedules": schedules})


@require_POST
@login_required
def schedule_toggle(request: HttpRequest, schedule_id: str, action: str) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("created_by"), id=schedule_id)
    roles.authorize(request, "change", owner=schedule.created_by)
    scheduling.set_schedule_status(schedule, "Active" if action == "enable" else "Disabled")
    if request.htmx:
        row = _schedule_rows().get(pk=schedule.pk)
        return render(request, "pipelines/schedule_list.html#schedule-row", {"s": row})
    return redirect("schedule-detail", schedule_id=schedule.id)


@require_POST
@login_required
def schedule_run_now(request: HttpRequest, schedule_id: UUID) -> HttpResponse:
    schedule = get_object_or_404(
        Schedule.objects.select_related("published_pipeline", "pipeline_endpoint"), id=schedule_id
    )
    roles.authorize(
        request,
        "submit",
        pipeline=schedule.published_pipeline,
        endpoint=schedule.pipeline_endpoint,
    )
    fire = scheduling.run_schedule_now(schedule, user=request.user)
    if fire.run_id:
        messages.success(request, f"Run {fire.run_id} started now.")
    else:
        messages.error(request, f"The run could not start: {fire.error}")
    return redirect("schedule-detail", schedule_id=schedule.id)


@require_GET
@login_required
def schedule_detail(request: HttpRequest, schedule_id: UUID) -> HttpResponse:
    """A schedule, its next fires and its history; the history is live while a fire is pending
    or its run goes on."""
    state = list(
        ScheduleFire.objects.filter(schedule_id=schedule_id)
        .order_by("-fire_time")
        .values_list("id", "status", "run_id", "run__status")[:100]
    )
    going_on = any(
        status == "pending" or (run and run_status not in TERMINAL)
        for _, status, run, run_status in state
    )
    tag = live.etag(state)
    refresh = bool(request.htmx) and request.GET.get("partial") == "history"
    if refresh and (unchanged := live.not_modified(request, tag)):
        return unchanged
    schedule = get_object_or_404(
        Schedule.objects.select_related("published_pipeline", "pipeline_endpoint"), id=schedule_id
    )
    upcoming = []
    if schedule.kind == "recurrence" and schedule.is_active and schedule.next_fire_at:
        rec = parse_recurrence(schedule.recurrence)
        upcoming = preview_fires(
            rec, schedule.created_at, schedule.next_fire_at - timedelta(seconds=1), 10
        )
    fires = schedule.fires.select_related("run").order_by("-fire_time")[:100]
    context = {
        "schedule": schedule,
        "upcoming": upcoming,
        "fires": fires,
        "live": going_on,
        "etag": tag,
    }
    if refresh:
        response = render(request, "pipelines/schedule_detail.html#history", context)
        return live.fragment(response, tag, going_on)
    return render(request, "pipelines/schedule_detail.html", context)
