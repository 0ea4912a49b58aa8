"""The Models pages: registered models, a model's versions with the runs that produced and
read each, its files, and two versions' producing runs compared."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from runs.models import Metric, StepRun
from studio.core.errors import StudioError
from studio.workspace import models_registry as registry
from studio.workspace.models import Dataset, ModelRead, ModelVersion, RegisteredModel


@require_GET
@login_required
def models(request: HttpRequest) -> HttpResponse:
    """Every model name: its latest version, how many versions, when it last changed, tags."""
    names = list(
        RegisteredModel.objects.filter(versions__complete=True)
        .annotate(latest=Max("versions__version"), count=Count("versions"))
        .order_by("-updated_at")[:1000]
    )
    latest = {
        (v.model_id, v.version): v
        for v in ModelVersion.objects.filter(
            model__in=names, version__in={n.latest for n in names}, complete=True
        )
    }
    for name in names:
        name.latest_version = latest.get((name.pk, name.latest))
    return render(request, "runs/models.html", {"models": names})


def _steps(ids: set[str]) -> dict[str, StepRun]:
    return {
        s.id: s
        for s in StepRun.objects.filter(id__in=[i for i in ids if i]).select_related(
            "run__experiment"
        )
    }


@require_GET
@login_required
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    """A model's versions; the one selected (the latest unless ``?version=``) with its tags,
    properties, producing run and step, the runs that read it, and its files."""
    model = get_object_or_404(RegisteredModel, name=name)
    versions = list(registry.versions().filter(model=model).order_by("-version")[:500])
    if not versions:
        raise Http404("No such model")
    wanted = request.GET.get("version", "")
    selected = next((v for v in versions if str(v.version) == wanted), versions[0])
    reads = list(ModelRead.objects.filter(model_version=selected).order_by("-created_at")[:200])
    steps = _steps({v.step_run_id for v in versions} | {r.step_run_id for r in reads})
    for version in versions:
        version.step = steps.get(version.step_run_id)
    for read in reads:
        read.step = steps.get(read.step_run_id)
    dataset_ids = [d["id"] for d in selected.datasets] + [
        i for i in (selected.sample_input_dataset_id, selected.sample_output_dataset_id) if i
    ]
    datasets = {str(d.id): d for d in Dataset.objects.filter(id__in=dataset_ids)}
    return render(
        request,
        "runs/model_detail.html",
        {
            "model": model,
            "versions": versions,
            "selected": selected,
            "reads": reads,
            "datasets": [(d["name"], datasets.get(d["id"]), d["id"]) for d in selected.datasets],
            "sample_input": datasets.get(selected.sample_input_dataset_id),
            "sample_output": datasets.get(selected.sample_output_dataset_id),
        },
    )


@require_GET
@login_required
def model_file(request: HttpRequest, name: str, version: int) -> FileResponse:
    """One file of a model version, as a download."""
    try:
        model = registry.get_version(name, version)
        handle = registry.open_file(model, request.GET.get("path", ""))
    except StudioError as exc:
        raise Http404(exc.message) from None
    except FileNotFoundError:
        raise Http404("The file is missing from its datastore.") from None
    path = request.GET["path"]
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=path.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _last_values(step: StepRun | None) -> dict[str, object]:
    """The scalar metrics of a step: the last value of each (a series' latest)."""
    if step is None:
        return {}
    values: dict[str, object] = {}
    for metric in Metric.objects.filter(step_run_id=step.log_step_id, kind="scalar").order_by("id")[
        :10_000
    ]:
        values[metric.name] = metric.value
    return values


@require_GET
@login_required
def model_compare(request: HttpRequest, name: str) -> HttpResponse:
    """Two versions side by side: their producing steps' metrics, tags and properties."""
    model = get_object_or_404(RegisteredModel, name=name)
    numbers = [request.GET.get("a", ""), request.GET.get("b", "")]
    found = {
        str(v.version): v
        for v in registry.versions().filter(
            model=model, version__in=[n for n in numbers if n.isdigit()]
        )
    }
    pair = [found.get(n) for n in numbers]
    if None in pair:
        missing = ", ".join(n or "(none)" for n, v in zip(numbers, pair, strict=True) if v is None)
        return render(
            request,
            "runs/model_compare.html",
            {"model": model, "error": f"Pick two versions of {name} to compare (not {missing})."},
            status=400,
        )
    steps = _steps({v.step_run_id for v in pair})
    cells = [steps.get(v.step_run_id) for v in pair]
    metrics = [_last_values(step) for step in cells]
    rows = []
    for key in sorted(set(metrics[0]) | set(metrics[1])):
        values = [m.get(key) for m in metrics]
        rows.append({"name": key, "values": values, "differs": values[0] != values[1]})
    fields = []
    for label, field in (("Tags", "tags"), ("Properties", "properties")):
        for key in sorted(set(getattr(pair[0], field)) | set(getattr(pair[1], field))):
            values = [getattr(v, field).get(key) for v in pair]
            fields.append(
                {"name": f"{label}: {key}", "values": values, "differs": values[0] != values[1]}
            )
    runs = [s.run_id for s in cells if s is not None]
    return render(
        request,
        "runs/model_compare.html",
        {
            "model": model,
            "pair": list(zip(pair, cells, strict=True)),
            "rows": rows,
            "fields": fields,
            "runs": runs if len(set(runs)) == 2 else [],
        },
    )
