"""Pages: the workspace's modules, their versions, and the pipelines and runs that use them."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from pipelines.models import PublishedPipeline
from runs.models import PipelineGraph, Run
from studio.core.errors import StudioError
from studio.workspace import modules, roles
from studio.workspace.models import Module, ModuleVersion

STATUS_ACTIONS = {"enable": "Active", "disable": "Disabled", "deprecate": "Deprecated"}
RUNS_SHOWN = 20


@require_GET
@login_required
def module_list(request: HttpRequest) -> HttpResponse:
    found = Module.objects.annotate(version_count=Count("versions")).order_by("name")[:500]
    return render(request, "pipelines/module_list.html", {"modules": found})


@require_GET
@login_required
def module_detail(request: HttpRequest, module_id: UUID) -> HttpResponse:
    """The module's versions, each with its ports, parameters, script, and the published
    pipelines and runs that use it."""
    module = get_object_or_404(Module.objects.select_related("created_by"), id=module_id)
    versions = list(module.versions.select_related("created_by").order_by("-created_at"))
    uses = PipelineGraph.module_versions.through.objects.filter(moduleversion__in=versions)
    graphs_of: dict = {}
    for graph_id, version_id in uses.values_list("pipelinegraph_id", "moduleversion_id"):
        graphs_of.setdefault(version_id, set()).add(graph_id)
    graph_ids = {g for found in graphs_of.values() for g in found}
    published = list(PublishedPipeline.objects.filter(graph_id__in=graph_ids).order_by("name"))
    runs = list(
        Run.objects.filter(graph_id__in=graph_ids)
        .select_related("experiment")
        .order_by("-created_at")[: RUNS_SHOWN * max(1, len(versions))]
    )
    rows = []
    for version in versions:
        mine = graphs_of.get(version.id, set())
        version_runs = [r for r in runs if r.graph_id in mine]
        rows.append(
            {
                "version": version,
                "pipelines": [p for p in published if p.graph_id in mine],
                "runs": version_runs[:RUNS_SHOWN],
            }
        )
    return render(
        request,
        "pipelines/module_detail.html",
        {"module": module, "rows": rows, "actions": STATUS_ACTIONS},
    )


@require_POST
@login_required
def module_default(request: HttpRequest, module_id: UUID) -> HttpResponse:
    module = get_object_or_404(Module.objects.select_related("created_by"), id=module_id)
    roles.authorize(request, "change", owner=module.created_by)
    version = request.POST.get("version", "")
    try:
        modules.update_module(module, default_version=version)
    except StudioError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Version {version} is now the default of {module.name}.")
    return redirect("module-detail", module_id=module.id)


@require_POST
@login_required
def module_status(request: HttpRequest, module_id: str, action: str) -> HttpResponse:
    module = get_object_or_404(Module.objects.select_related("created_by"), id=module_id)
    roles.authorize(request, "change", owner=module.created_by)
    modules.update_module(module, status=STATUS_ACTIONS[action])
    return redirect("module-detail", module_id=module.id)


@require_POST
@login_required
def module_version_status(request: HttpRequest, version_id: str, action: str) -> HttpResponse:
    version = get_object_or_404(
        ModuleVersion.objects.select_related("module__created_by"), id=version_id
    )
    roles.authorize(request, "change", owner=version.module.created_by)
    modules.update_version(version, status=STATUS_ACTIONS[action])
    return redirect("module-detail", module_id=version.module_id)
