"""The shell's own pages: Home and the global search, which look at every part of the studio."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from pipelines.models import Schedule
from runs.models import Run
from studio.core.status import Status
from studio.search import search_workspace
from studio.workspace import live
from studio.workspace.models import ComputeTarget, WorkerHeartbeat


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Runs of the last day and week by status, what runs now, recent failures, next fires, compute."""
    running = _in_progress()
    tag = live.etag([(run.id, run.status) for run in running])
    if request.htmx and request.GET.get("partial") == "running":
        if unchanged := live.not_modified(request, tag):
            return unchanged
        response = render(request, "home.html#in-progress", {"running": running, "etag": tag})
        return live.fragment(response, tag, bool(running))
    now = timezone.now()
    counts = {}
    for label, since in (("day", now - timedelta(days=1)), ("week", now - timedelta(days=7))):
        rows = Run.objects.filter(created_at__gte=since).values("status").annotate(n=Count("id"))
        counts[label] = {row["status"]: row["n"] for row in rows}
    statuses = [s.value for s in Status]
    summary = [
        {"status": s, "day": counts["day"].get(s, 0), "week": counts["week"].get(s, 0)}
        for s in statuses
        if counts["week"].get(s)
    ]
    failures = [
        {"run": run, "line": next((line for line in run.error.splitlines() if line.strip()), "")}
        for run in Run.objects.filter(status=Status.FAILED)
        .select_related("experiment")
        .order_by("-created_at")[:8]
    ]
    upcoming = Schedule.objects.filter(
        status="Active", kind="recurrence", next_fire_at__isnull=False
    ).order_by("next_fire_at")[:6]
    workers = WorkerHeartbeat.live()
    compute = [
        {"target": t, "workers": sum(1 for w in workers if t.queue in w.queues)}
        for t in ComputeTarget.objects.all()[:20]
    ]
    return render(
        request,
        "home.html",
        {
            "summary": summary,
            "running": running,
            "etag": tag,
            "failures": failures,
            "upcoming": upcoming,
            "compute": compute,
        },
    )


def _in_progress() -> list[Run]:
    """Home's "In progress": the newest runs that go on (one query; a refresh compares them)."""
    return list(
        Run.objects.filter(status__in=[Status.RUNNING, Status.NOT_STARTED, Status.CANCEL_REQUESTED])
        .select_related("experiment")
        .order_by("-created_at")[:10]
    )


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    """The top bar's search: a few hits per kind as a dropdown (htmx), or all of them as a page."""
    query = request.GET.get("q", "")
    if request.htmx:  # type: ignore[attr-defined]
        results = search_workspace(request, query, limit=5)
        return render(request, "studio/search.html#dropdown", {"results": results})
    results = search_workspace(request, query, limit=50)
    return render(request, "studio/search.html", {"results": results})
