"""Pages: publish a run, published pipelines and their Submit form, pipeline endpoints, API
tokens, resubmitting a run."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipelines import services
from pipelines.api.serializers import endpoint_url, pipeline_endpoint_url
from pipelines.forms import PublishForm, SubmitForm, TokenForm, field_value
from pipelines.models import PipelineEndpoint, PublishedPipeline
from runs import services as run_services
from runs.charts import graph_legend, pipeline_figure
from runs.models import Run
from studio.core.errors import StudioError
from studio.core.status import Status
from studio.workspace import roles
from studio.workspace.models import ApiToken


@require_http_methods(["GET", "POST"])
@login_required
def run_publish(request: HttpRequest, run_id: str) -> HttpResponse:
    """The Publish form of a Completed run, prefilled from the run."""
    run = get_object_or_404(Run.objects.select_related("experiment", "graph"), id=run_id)
    if request.method == "POST":
        roles.authorize(request, "create")
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
    request: HttpRequest, pipeline: PublishedPipeline, form: SubmitForm | None = None
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
        "graph_legend": graph_legend(of_a_run=False),
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
def published_detail(request: HttpRequest, pipeline_id: UUID) -> HttpResponse:
    pipeline = get_object_or_404(
        PublishedPipeline.objects.select_related("graph", "source_run__experiment"), id=pipeline_id
    )
    return render(request, "pipelines/published_detail.html", _published_context(request, pipeline))


def _submit_from_form(
    request: HttpRequest,
    pipeline: PublishedPipeline,
    form: SubmitForm,
    endpoint: PipelineEndpoint | None = None,
) -> Run | None:
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
def published_submit(request: HttpRequest, pipeline_id: UUID) -> HttpResponse:
    pipeline = get_object_or_404(PublishedPipeline.objects.select_related("graph"), id=pipeline_id)
    roles.authorize(request, "submit", pipeline=pipeline)
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
def published_status(request: HttpRequest, pipeline_id: str, action: str) -> HttpResponse:
    pipeline = get_object_or_404(
        PublishedPipeline.objects.select_related("created_by"), id=pipeline_id
    )
    roles.authorize(request, "change", owner=pipeline.created_by)
    services.set_status(pipeline, "Active" if action == "enable" else "Disabled")
    return redirect("published-detail", pipeline_id=pipeline.id)


@require_GET
@login_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = PipelineEndpoint.objects.prefetch_related("versions")[:500]
    return render(request, "pipelines/endpoint_list.html", {"endpoints": endpoints})


def _endpoint_context(
    request: HttpRequest,
    endpoint: PipelineEndpoint,
    form: SubmitForm | None = None,
    version: str | None = None,
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
def endpoint_detail(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = get_object_or_404(PipelineEndpoint, id=endpoint_id)
    return render(
        request,
        "pipelines/endpoint_detail.html",
        _endpoint_context(request, endpoint, version=request.GET.get("version")),
    )


@require_POST
@login_required
def endpoint_default(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = get_object_or_404(
        PipelineEndpoint.objects.select_related("created_by"), id=endpoint_id
    )
    roles.authorize(request, "change", owner=endpoint.created_by)
    try:
        services.set_default_version(endpoint, request.POST.get("version", ""))
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect("endpoint-detail", endpoint_id=endpoint.id)


@require_POST
@login_required
def endpoint_status(request: HttpRequest, endpoint_id: str, action: str) -> HttpResponse:
    endpoint = get_object_or_404(
        PipelineEndpoint.objects.select_related("created_by"), id=endpoint_id
    )
    roles.authorize(request, "change", owner=endpoint.created_by)
    services.set_status(endpoint, "Active" if action == "enable" else "Disabled")
    return redirect("endpoint-detail", endpoint_id=endpoint.id)


@require_POST
@login_required
def endpoint_submit(request: HttpRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = get_object_or_404(PipelineEndpoint, id=endpoint_id)
    version = request.POST.get("version") or endpoint.default_version
    try:
        pipeline = services.endpoint_pipeline(endpoint, version)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("endpoint-detail", endpoint_id=endpoint.id)
    roles.authorize(request, "submit", pipeline=pipeline, endpoint=endpoint)
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
        form = TokenForm(request.POST, role=roles.account_role(request.user))
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
        form = TokenForm(role=roles.account_role(request.user))
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


@require_http_methods(["GET", "POST"])
@login_required
def run_resubmit(request: HttpRequest, run_id: str) -> HttpResponse:
    """Run the same pipeline again: the same parameters, or edited in the form."""
    run = get_object_or_404(Run.objects.select_related("experiment", "graph"), id=run_id)
    parameters = run.graph.spec.get("parameters", [])
    if request.method == "POST":
        roles.authorize(request, "create")
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
            initial[f"param_{p['name']}"] = field_value(value)
        form = SubmitForm(parameters, initial=initial)
    return render(request, "pipelines/resubmit.html", {"run": run, "form": form})
