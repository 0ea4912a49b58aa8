"""The pipeline draft pages: the list, and a draft with its graph, parameters, runs, and its
Submit, Publish and Delete actions."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from pipelines import drafts
from pipelines.forms import DraftPublishForm, SubmitForm, field_value
from pipelines.models import PipelineDraft
from runs.charts import graph_legend, pipeline_figure
from runs.models import Run
from studio.core.errors import StudioError
from studio.workspace import roles


@require_GET
@login_required
def draft_list(request: HttpRequest) -> HttpResponse:
    rows = (
        PipelineDraft.objects.select_related("last_submitted_run")
        .annotate(run_count=Count("runs"))
        .order_by("-updated_at")[:500]
    )
    return render(request, "pipelines/draft_list.html", {"drafts": rows})


def _draft(draft_id: UUID) -> PipelineDraft:
    return get_object_or_404(
        PipelineDraft.objects.select_related("graph", "created_by", "last_submitted_run"),
        id=draft_id,
    )


def _submit_form(draft: PipelineDraft, data: dict | None = None) -> SubmitForm:
    parameters = draft.graph.spec.get("parameters", [])
    if data is not None:
        return SubmitForm(parameters, data)
    initial = {"experiment_name": draft.experiment_name, "description": draft.description}
    for p in parameters:
        value = draft.pipeline_parameters.get(p["name"], p["default"])
        initial[f"param_{p['name']}"] = field_value(value)
    return SubmitForm(parameters, initial=initial)


def _publish_form(draft: PipelineDraft, data: dict | None = None) -> DraftPublishForm:
    if data is not None:
        return DraftPublishForm(data, prefix="publish")
    return DraftPublishForm(
        prefix="publish", initial={"name": draft.name, "description": draft.description}
    )


def _context(
    draft: PipelineDraft,
    submit_form: SubmitForm | None = None,
    publish_form: DraftPublishForm | None = None,
) -> dict:
    parameters = [
        {
            **p,
            "value": draft.pipeline_parameters.get(p["name"], p["default"]),
            "assigned": p["name"] in draft.pipeline_parameters,
        }
        for p in draft.graph.spec.get("parameters", [])
    ]
    runs = (
        Run.objects.filter(id__in=draft.runs.values("id"))
        .select_related("experiment")
        .order_by("-created_at")[:50]
    )
    return {
        "draft": draft,
        "parameters": parameters,
        "figure": pipeline_figure(draft.graph.graph(), {}, {}),
        "graph_legend": graph_legend(of_a_run=False),
        "form": submit_form or _submit_form(draft),
        "publish_form": publish_form or _publish_form(draft),
        "runs": runs,
    }


@require_GET
@login_required
def draft_detail(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    return render(request, "pipelines/draft_detail.html", _context(_draft(draft_id)))


@require_POST
@login_required
def draft_submit(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Submit the draft with the form's experiment and typed parameter values (this run only)."""
    draft = _draft(draft_id)
    roles.authorize(request, "create")
    form = _submit_form(draft, request.POST)
    if form.is_valid():
        try:
            run = drafts.submit_draft(
                draft,
                experiment_name=form.cleaned_data["experiment_name"],
                parameters=form.cleaned_data["parameters"],
                description=form.cleaned_data["description"] or None,
                run_source="Studio",
                user=request.user,
            )
        except StudioError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Submitted run {run.number} of {run.experiment.name}.")
            return redirect("run-detail", run_id=run.id)
    return render(request, "pipelines/draft_detail.html", _context(draft, form), status=400)


@require_POST
@login_required
def draft_publish(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = _draft(draft_id)
    roles.authorize(request, "create")
    form = _publish_form(draft, request.POST)
    if form.is_valid():
        try:
            pipeline = drafts.publish_draft(draft, user=request.user, **form.cleaned_data)
        except StudioError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Published {pipeline.name} {pipeline.version}".strip() + ".")
            return redirect("published-detail", pipeline_id=pipeline.id)
    return render(
        request, "pipelines/draft_detail.html", _context(draft, publish_form=form), status=400
    )


@require_POST
@login_required
def draft_delete(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = _draft(draft_id)
    roles.authorize(request, "change", owner=draft.created_by)
    drafts.delete_draft(draft)
    messages.success(request, f"Deleted draft {draft.name}.")
    return redirect("draft-list")
