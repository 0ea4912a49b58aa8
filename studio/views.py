"""Workspace pages: compute targets and their workers, datastores, datasets."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from runs.models import StepRun
from studio import storage
from studio.core.errors import StudioError
from studio.core.paths import clean_path
from studio.core.status import ACTIVE, Status
from studio.models import ComputeTarget, Dataset, DatasetUse, Datastore, WorkerHeartbeat
from studio.services import ANONYMOUS_PREFIX, resolve_dataset


@require_GET
@login_required
def compute_targets(request: HttpRequest) -> HttpResponse:
    live = WorkerHeartbeat.live()
    counts = {
        row["compute_target"]: row
        for row in StepRun.objects.filter(status__in=[Status.QUEUED, *ACTIVE])
        .values("compute_target")
        .annotate(
            queued=Count("id", filter=Q(status=Status.QUEUED)),
            running=Count("id", filter=~Q(status=Status.QUEUED)),
        )
    }
    targets = [
        {
            "target": t,
            "workers": [w for w in live if t.queue in w.queues],
            "queued": counts.get(t.name, {}).get("queued", 0),
            "running": counts.get(t.name, {}).get("running", 0),
        }
        for t in ComputeTarget.objects.all()
    ]
    return render(request, "studio/compute_targets.html", {"targets": targets})


def _datastore_or_404(name: str) -> Datastore:
    if name == storage.DEFAULT_DATASTORE:
        return storage.default_datastore()
    return get_object_or_404(Datastore, name=name)


@require_GET
@login_required
def datastores(request: HttpRequest) -> HttpResponse:
    storage.default_datastore()
    usage: dict[str, int] = {}
    for paths in Dataset.objects.values_list("paths", flat=True):
        for name in {p[0] for p in paths}:
            usage[name] = usage.get(name, 0) + 1
    rows = [{"store": d, "datasets": usage.get(d.name, 0)} for d in Datastore.objects.all()]
    return render(request, "studio/datastores.html", {"rows": rows})


@require_GET
@login_required
def datastore_detail(request: HttpRequest, name: str) -> HttpResponse:
    """Browse a datastore's folders and files, with sizes."""
    datastore = _datastore_or_404(name)
    error = ""
    entries: list[dict] = []
    try:
        path = clean_path(request.GET.get("path", ""))
        entries = datastore.store().ls(path)
    except StudioError as exc:
        path, error = "", str(exc)
    except Exception as exc:  # an unreachable remote store is shown, not raised
        path, error = (
            request.GET.get("path", ""),
            f"The datastore cannot be read: {type(exc).__name__}: {exc}",
        )
    crumbs = []
    parts = path.split("/") if path else []
    for i, part in enumerate(parts):
        crumbs.append({"name": part, "path": "/".join(parts[: i + 1])})
    parent = "/".join(parts[:-1]) if parts else None
    return render(
        request,
        "studio/datastore_detail.html",
        {
            "datastore": datastore,
            "entries": entries,
            "path": path,
            "crumbs": crumbs,
            "parent": parent,
            "error": error,
        },
    )


@require_GET
@login_required
def datastore_download(request: HttpRequest, name: str) -> FileResponse:
    datastore = _datastore_or_404(name)
    try:
        path = clean_path(request.GET.get("path", ""))
        handle = datastore.store().open_read(path)
    except StudioError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    except (FileNotFoundError, IsADirectoryError):
        raise Http404("No such file") from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=path.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )


@require_GET
@login_required
def datasets(request: HttpRequest) -> HttpResponse:
    latest = {}
    for dataset in Dataset.objects.exclude(name__startswith=ANONYMOUS_PREFIX).order_by(
        "name", "-version"
    ):
        latest.setdefault(dataset.name, {"dataset": dataset, "versions": 0})["versions"] += 1
    return render(request, "studio/datasets.html", {"rows": list(latest.values())})


@require_GET
@login_required
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    """A dataset's versions, where the selected one points, its lineage and a preview."""
    versions = list(
        Dataset.objects.filter(name=name)
        .select_related("created_by_step__run")
        .order_by("-version")
    )
    if not versions:
        raise Http404("No such dataset")
    wanted = request.GET.get("version")
    selected = next((d for d in versions if str(d.version) == wanted), versions[0])
    uses = list(
        DatasetUse.objects.filter(dataset=selected).select_related("step_run__run__experiment")[
            :100
        ]
    )
    preview, preview_error, files = None, "", []
    try:
        resolved = resolve_dataset(selected)
        files = [(ds.name, f) for ds, _, _, found in resolved.groups for f in found[:200]]
        if selected.kind == "tabular":
            preview = _preview(resolved, selected.options)
    except Exception as exc:  # shown on the page: a dataset whose data cannot be read
        preview_error = f"{type(exc).__name__}: {exc}"
    return render(
        request,
        "studio/dataset_detail.html",
        {
            "versions": versions,
            "selected": selected,
            "uses": uses,
            "preview": preview,
            "preview_error": preview_error,
            "files": files,
        },
    )


def _preview(resolved, options: dict, rows: int = 20) -> dict | None:
    from studio.sdk._tabular import read_table

    handles = []
    try:
        for _, store, _, found in resolved.groups:
            for info in found[:5]:
                handles.append(store.open_read(info.path))
        if not handles:
            return None
        frame = read_table(handles, options, nrows=rows)
    finally:
        for handle in handles:
            handle.close()
    return {"columns": [str(c) for c in frame.columns], "rows": frame.astype(str).values.tolist()}
