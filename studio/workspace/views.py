"""Workspace pages: datastores (browse, download) and the list of datasets."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from studio.core.errors import StudioError
from studio.core.paths import clean_path
from studio.workspace import storage
from studio.workspace.models import Dataset, Datastore
from studio.workspace.services import ANONYMOUS_PREFIX


def _datastore_or_404(name: str) -> Datastore:
    if name == storage.DEFAULT_DATASTORE:
        return storage.default_datastore()
    return get_object_or_404(Datastore, name=name)


@require_GET
@login_required
def datastores(request: HttpRequest) -> HttpResponse:
    usage: dict[str, int] = {}
    for paths in Dataset.objects.values_list("paths", flat=True):
        for name in {p[0] for p in paths}:
            usage[name] = usage.get(name, 0) + 1
    rows = [{"store": d, "datasets": usage.get(d.name, 0)} for d in storage.datastores()]
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
