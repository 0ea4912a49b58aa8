"""Pages: publish a run, published pipelines and their Submit form, pipeline endpoints, API tokens."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipelines import scheduling, services
from pipelines.api.serializers import endpoint_url, pipeline_endpoint_url
from pipelines.forms import COMMON_ZONES, PublishForm, ScheduleForm, SubmitForm, TokenForm
from pipelines.models import PipelineEndpoint, PublishedPipeline, Schedule
from runs import services as run_services
from runs.charts import pipeline_figure
from runs.models import Run
from studio.core.errors import StudioError
from studio.core.recurrence import parse_recurrence, preview_fires
from studio.core.status import Status
from studio.workspace import storage
from studio.workspace.models import ApiToken


@require_http_methods(["GET", "POST"])
@login_required
def run_publish(request: HttpRequest, run_id: str) -> HttpResponse:
    """The Publish form of a Completed run, prefilled from the run."""
    run = get_object_or_404(Run.objects.select_related("experiment", "graph"), id=run_id)
    if request.method == "POST":
        form = PublishForm(request.POST)
        if form.is_valid():
            try:
                pipeline = services.publish_run(run, user=request.user, **form.cleaned_data)
            except StudioError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, f"Published {pipeline.name} {pipeline.version}".strip() + "."
                )
                return redirect("published-detail", pipeline_id=pipeline.id)
    else:
        form = PublishForm(
            initial={"name": run.experiment.name, "description": run.description, "version": "1.0"}
        )
    return render(
        request,
        "pipelines/publish.html",
        {"run": run, "form": form, "can_publish": run.status == Status.COMPLETED},
    )


def _last_runs():
    latest = Run.objects.filter(published_pipeline_id=OuterRef("pk")).order_by("-created_at")
    return {
        "last_run_id": Subquery(latest.values("id")[:1]),
        "last_run_status": Subquery(latest.values("status")[:1]),
    }


@require_GET
@login_required
def published_list(request: HttpRequest) -> HttpResponse:
    pipelines = PublishedPipeline.objects.annotate(**_last_runs()).order_by("-created_at")[:500]
    return render(request, "pipelines/published_list.html", {"pipelines": pipelines})


def _examples(url: str, parameters: list[dict]) -> dict:
    assignments = {p["name"]: p["default"] for p in parameters if p["type"] != "datapath"}
    body = {"ExperimentName": "my-experiment", "ParameterAssignments": assignments}
    curl = (
        f"curl -X POST '{url}' \\\n  -H \"Authorization: Bearer $STUDIO_TOKEN\" \\\n"
        f"  -H 'Content-Type: application/json' \\\n  -d '{json.dumps(body)}'"
    )
    python = (
        "import os, requests\n\n"
        f"response = requests.post('{url}',\n"
        "                         headers={'Authorization': 'Bearer ' + os.environ['STUDIO_TOKEN']},\n"
        f"                         json={json.dumps(body)})\n"
        "print(response.json()['Id'])"
    )
    return {"curl": curl, "python": python}


def _published_context(
    request, pipeline: PublishedPipeline, form: SubmitForm | None = None
) -> dict:
    spec = pipeline.graph.graph()
    parameters = pipeline.graph.spec.get("parameters", [])
    url = pipeline_endpoint_url(pipeline, request)
    runs = (
        Run.objects.filter(published_pipeline_id=pipeline.id)
        .select_related("experiment", "created_by", "created_by_token")
        .order_by("-created_at")[:50]
    )
    return {
        "pipeline": pipeline,
        "parameters": parameters,
        "endpoint_url": url,
        "examples": _examples(url, parameters),
        "figure": pipeline_figure(spec, {}, {}),
        "form": form
        or SubmitForm(parameters, initial={"experiment_name": _experiment_name_for(pipeline.name)}),
        "runs": runs,
        "endpoints": pipeline.endpoint_versions.select_related("endpoint"),
    }


def _experiment_name_for(name: str) -> str:
    """A valid experiment name made from a pipeline name (the form's default)."""
    cleaned = re.sub(r"[^\w\-]", "-", name).strip("-_")[:255]
    return cleaned or "published-pipeline"


@require_GET
@login_required
def published_detail(request: HttpRequest, pipeline_id) -> HttpResponse:
    pipeline = get_object_or_404(
        PublishedPipeline.objects.select_related("graph", "source_run__experiment"), id=pipeline_id
    )
    return render(request, "pipelines/published_detail.html", _published_context(request, pipeline))


def _submit_from_form(request, pipeline: PublishedPipeline, form: SubmitForm, endpoint=None):
    if not form.is_valid():
        return None
    try:
        run, _ = services.submit_published(
            pipeline,
            experiment_name=form.cleaned_data["experiment_name"],
            parameters=form.cleaned_data["parameters"],
            description=form.cleaned_data["description"] or None,
            run_source="Studio",
            user=request.user,
            endpoint=endpoint,
        )
    except StudioError as exc:
        form.add_error(None, exc.message)
        return None
    return run


@require_POST
@login_required
def published_submit(request: HttpRequest, pipeline_id) -> HttpResponse:
    pipeline = get_object_or_404(PublishedPipeline.objects.select_related("graph"), id=pipeline_id)
    form = SubmitForm(pipeline.graph.spec.get("parameters", []), request.POST)
    run = _submit_from_form(request, pipeline, form)
    if run is not None:
        messages.success(request, f"Submitted run {run.number} of {run.experiment.name}.")
        return redirect("run-detail", run_id=run.id)
    return render(
        request,
        "pipelines/published_detail.html",
        _published_context(request, pipeline, form),
        status=400,
    )


@require_POST
@login_required
def published_status(request: HttpRequest, pipeline_id, action: str) -> HttpResponse:
    pipeline = get_object_or_404(PublishedPipeline, id=pipeline_id)
    services.set_status(pipeline, "Active" if action == "enable" else "Disabled")
    return redirect("published-detail", pipeline_id=pipeline.id)


@require_GET
@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = PipelineEndpoint.objects.prefetch_related("versions")[:500]
    return render(request, "pipelines/endpoint_list.html", {"endpoints": endpoints})


def _endpoint_context(
    request, endpoint: PipelineEndpoint, form: SubmitForm | None = None, version: str | None = None
) -> dict:
    versions = list(endpoint.versions.select_related("pipeline__graph"))
    chosen = version or endpoint.default_version
    pipeline = next((v.pipeline for v in versions if v.version == chosen), None)
    parameters = pipeline.graph.spec.get("parameters", []) if pipeline else []
    return {
        "endpoint": endpoint,
        "versions": versions,
        "chosen": chosen,
        "endpoint_url": endpoint_url(endpoint, request),
        "form": form
        or SubmitForm(parameters, initial={"experiment_name": _experiment_name_for(endpoint.name)}),
        "runs": Run.objects.filter(pipeline_endpoint_id=endpoint.id)
        .select_related("experiment")
        .order_by("-created_at")[:50],
    }


@require_GET
@login_required
def endpoint_detail(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = get_object_or_404(PipelineEndpoint, id=endpoint_id)
    return render(
        request,
        "pipelines/endpoint_detail.html",
        _endpoint_context(request, endpoint, version=request.GET.get("version")),
    )


@require_POST
@login_required
def endpoint_default(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = get_object_or_404(PipelineEndpoint, id=endpoint_id)
    try:
        services.set_default_version(endpoint, request.POST.get("version", ""))
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect("endpoint-detail", endpoint_id=endpoint.id)


@require_POST
@login_required
def endpoint_status(request: HttpRequest, endpoint_id, action: str) -> HttpResponse:
    endpoint = get_object_or_404(PipelineEndpoint, id=endpoint_id)
    services.set_status(endpoint, "Active" if action == "enable" else "Disabled")
    return redirect("endpoint-detail", endpoint_id=endpoint.id)


@require_POST
@login_required
def endpoint_submit(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = get_object_or_404(PipelineEndpoint, id=endpoint_id)
    version = request.POST.get("version") or endpoint.default_version
    try:
        pipeline = services.endpoint_pipeline(endpoint, version)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("endpoint-detail", endpoint_id=endpoint.id)
    form = SubmitForm(pipeline.graph.spec.get("parameters", []), request.POST)
    run = _submit_from_form(request, pipeline, form, endpoint=endpoint)
    if run is not None:
        messages.success(
            request, f"Submitted run {run.number} of {run.experiment.name} (version {version})."
        )
        return redirect("run-detail", run_id=run.id)
    return render(
        request,
        "pipelines/endpoint_detail.html",
        _endpoint_context(request, endpoint, form, version),
        status=400,
    )


@require_http_methods(["GET", "POST"])
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """Create API tokens (shown once), see them with their last use, revoke them."""
    created = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            expires = (
                timezone.now() + timedelta(days=data["expires_in_days"])
                if data["expires_in_days"]
                else None
            )
            token, secret = ApiToken.issue(
                request.user,
                data["name"],
                scope=data["scope"],
                expires_at=expires,
                pipeline=data["pipeline"],
                endpoint=data["endpoint"],
            )
            # Shown once, on the page the redirect leads to; a reload does not post the form again.
            request.session["new_token"] = {"id": token.id, "secret": secret}
            return redirect("tokens")
    else:
        form = TokenForm()
        shown = request.session.pop("new_token", None)
        if shown:
            token = ApiToken.objects.filter(id=shown["id"], user=request.user).first()
            created = {"token": token, "secret": shown["secret"]} if token else None
    rows = list(ApiToken.objects.filter(user=request.user))
    pipelines = PublishedPipeline.objects.in_bulk([t.pipeline_id for t in rows if t.pipeline_id])
    endpoints = PipelineEndpoint.objects.in_bulk([t.endpoint_id for t in rows if t.endpoint_id])
    for row in rows:  # what a limited token may submit, by name
        limit = pipelines.get(row.pipeline_id) or endpoints.get(row.endpoint_id)
        row.limit_name = limit.name if limit is not None else ""
    return render(
        request, "pipelines/tokens.html", {"form": form, "tokens": rows, "created": created}
    )


@require_POST
@login_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, id=token_id, user=request.user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        messages.success(request, f"Token {token.name} is revoked.")
    return redirect("tokens")


# --- schedules ---------------------------------------------------------------------------------

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


def _schedule_form(data=None, initial=None):
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


def _save_schedule(request, form: ScheduleForm, schedule: Schedule | None = None):
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
def schedule_edit(request: HttpRequest, schedule_id) -> HttpResponse:
    schedule = get_object_or_404(Schedule, id=schedule_id)
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
    return Schedule.objects.select_related("published_pipeline", "pipeline_endpoint").annotate(
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
def schedule_toggle(request: HttpRequest, schedule_id, action: str) -> HttpResponse:
    schedule = get_object_or_404(Schedule, id=schedule_id)
    scheduling.set_schedule_status(schedule, "Active" if action == "enable" else "Disabled")
    if request.htmx:
        row = _schedule_rows().get(pk=schedule.pk)
        return render(request, "pipelines/schedule_list.html#schedule-row", {"s": row})
    return redirect("schedule-detail", schedule_id=schedule.id)


@require_GET
@login_required
def schedule_detail(request: HttpRequest, schedule_id) -> HttpResponse:
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
    return render(
        request,
        "pipelines/schedule_detail.html",
        {"schedule": schedule, "upcoming": upcoming, "fires": fires},
    )


def _form_value(value) -> str:
    """A run's parameter value as the Submit form's field holds it."""
    if isinstance(value, dict) and "id" in value:
        return str(value["id"])
    if isinstance(value, dict):
        return f"{value['datastore']}/{value['path']}"
    return str(value)


@require_http_methods(["GET", "POST"])
@login_required
def run_resubmit(request: HttpRequest, run_id: str) -> HttpResponse:
    """Run the same pipeline again: the same parameters, or edited in the form."""
    run = get_object_or_404(Run.objects.select_related("experiment", "graph"), id=run_id)
    parameters = run.graph.spec.get("parameters", [])
    if request.method == "POST":
        form = SubmitForm(parameters, request.POST)
        if form.is_valid():
            try:
                new = run_services.submit_run(
                    experiment_name=form.cleaned_data["experiment_name"],
                    graph_data=run.graph.spec,
                    user=request.user,
                    pipeline_parameters=form.cleaned_data["parameters"],
                    continue_on_step_failure=run.continue_on_step_failure,
                    description=form.cleaned_data["description"] or run.description,
                    run_source="Resubmit",
                    source={k: v for k, v in run.source.items() if k == "published_pipeline"},
                    tags=run.tags,
                )
            except StudioError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Resubmitted as run {new.number}.")
                return redirect("run-detail", run_id=new.id)
    else:
        initial = {"experiment_name": run.experiment.name, "description": run.description}
        for p in parameters:
            value = run.parameters.get(p["name"], p["default"])
            initial[f"param_{p['name']}"] = _form_value(value)
        form = SubmitForm(parameters, initial=initial)
    return render(request, "pipelines/resubmit.html", {"run": run, "form": form})
