"""Workspace pages: compute targets and the workers serving them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from runs.models import StepRun
from runs.readiness import ACTIVE, Status
from studio.models import ComputeTarget, WorkerHeartbeat


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
