"""Pages: experiments, an experiment's runs, a run with its live graph and step logs."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from runs import listing, services
from runs.charts import pipeline_figure
from runs.models import Experiment, Run, StepRun
from runs.readiness import Status
from studio import storage

LOG_WINDOW = 64 * 1024


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Runs of the last day and week by status, what runs now, recent failures, next fires, compute."""
    from pipelines.models import Schedule
    from studio.models import ComputeTarget, WorkerHeartbeat

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
    running = (
        Run.objects.filter(status__in=[Status.RUNNING, Status.NOT_STARTED, Status.CANCEL_REQUESTED])
        .select_related("experiment")
        .order_by("-created_at")[:10]
    )
    failures = [
        {"run": run, "line": next((line for line in run.error.splitlines() if line.strip()), "")}
        for run in Run.objects.filter(status=Status.FAILED)
        .select_related("experiment")
        .order_by("-created_at")[:8]
    ]
    upcoming = Schedule.objects.filter(
        status="Active", kind="recurrence", next_fire_at__isnull=False
    ).order_by("next_fire_at")[:6]
    live = WorkerHeartbeat.live()
    compute = [
        {"target": t, "workers": sum(1 for w in live if t.queue in w.queues)}
        for t in ComputeTarget.objects.all()[:20]
    ]
    return render(
        request,
        "runs/home.html",
        {
            "summary": summary,
            "running": running,
            "failures": failures,
            "upcoming": upcoming,
            "compute": compute,
        },
    )


@require_GET
@login_required
def experiments(request: HttpRequest) -> HttpResponse:
    rows = Experiment.objects.annotate(
        run_count=Count("runs"), last_run=Max("runs__created_at")
    ).order_by("-last_run", "name")
    return render(request, "runs/experiments.html", {"experiments": rows})


@require_GET
@login_required
def runs_list(request: HttpRequest, name: str | None = None) -> HttpResponse:
    """All runs, or one experiment's: filters, keyset pages, columns and metric columns chosen by the user."""
    experiment = get_object_or_404(Experiment, name=name) if name else None
    query = request.GET.copy()
    if "metrics" in query:  # the form's comma-separated field becomes repeated metric= params
        for metric in query.pop("metrics")[0].split(","):
            if metric.strip():
                query.appendlist("metric", metric.strip())
    filters = listing.RunFilters.from_query(query, experiment=experiment.name if experiment else "")
    result = listing.page(filters)
    keep = query.copy()
    keep.pop("after", None)
    rows = [
        {
            "run": run,
            "metrics": [result.metric_values.get(run.id, {}).get(m) for m in filters.metrics],
        }
        for run in result.runs
    ]
    context = {
        "experiment": experiment,
        "filters": filters,
        "rows": rows,
        "next_query": (keep.urlencode() + "&" if keep else "") + f"after={result.next_cursor}"
        if result.next_cursor
        else None,
        "first_query": keep.urlencode(),
        "statuses": [s.value for s in Status],
        "all_columns": listing.COLUMNS,
        "is_first_page": not filters.after,
    }
    return render(request, "runs/runs_list.html", context)


def _run_context(run: Run, selected_id: str | None) -> dict:
    steps = list(run.steps.all())
    spec = run.graph.graph()
    figure = pipeline_figure(
        spec,
        {s.node_id: s.status for s in steps},
        {s.node_id: s.id for s in steps},
        {s.node_id for s in steps if s.reused_from_id},
    )
    selected = next((s for s in steps if s.id == selected_id), None)
    if selected is None and steps:
        selected = next(
            (s for s in steps if s.status in (Status.RUNNING, Status.FAILED)),
            next((s for s in steps if s.started_at), steps[0]),
        )
    defaults = {p.name: p.default for p in spec.parameters}
    parameters = [
        {
            "name": name,
            "value": value,
            "default": defaults.get(name),
            "changed": value != defaults.get(name),
        }
        for name, value in run.parameters.items()
    ]
    return {
        "run": run,
        "steps": steps,
        "figure": figure,
        "selected": selected,
        "parameters": parameters,
    }


@require_GET
@login_required
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    run = get_object_or_404(
        Run.objects.select_related("experiment", "graph", "created_by"), id=run_id
    )
    context = _run_context(run, request.GET.get("step"))
    if request.htmx and request.GET.get("partial") == "status":
        response = render(request, "runs/run_detail.html#run-status", context)
        return _stop_when_finished(run, response)
    selected = context["selected"]
    if selected is not None:
        data, next_offset = storage.read_log(
            selected.log_step_id, offset=-LOG_WINDOW, limit=LOG_WINDOW
        )
        context.update(
            log_text=data.decode("utf-8", errors="replace"),
            log_offset=next_offset,
            log_truncated=next_offset > len(data),
            log_live=not selected.is_finished,
        )
    return render(request, "runs/run_detail.html", context)


def _stop_when_finished(run: Run, response: HttpResponse) -> HttpResponse:
    if run.is_finished:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    return response


@require_GET
@login_required
def step_log_tail(request: HttpRequest, step_id: str) -> HttpResponse:
    """The log bytes after ``offset``, followed by the poller for the next ones while the step runs."""
    step = get_object_or_404(StepRun, id=step_id)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    finished = step.is_finished  # read before the log, so the last bytes are never missed
    data, next_offset = storage.read_log(step.log_step_id, offset=offset, limit=LOG_WINDOW)
    more = not finished or len(data) == LOG_WINDOW
    context = {
        "step": step,
        "log_text": data.decode("utf-8", errors="replace"),
        "log_offset": next_offset,
        "log_live": more,
    }
    response = render(request, "runs/run_detail.html#log-chunk", context)
    if not more:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    return response


@require_GET
@login_required
def step_log_download(request: HttpRequest, step_id: str) -> FileResponse:
    step = get_object_or_404(StepRun, id=step_id)
    path = storage.step_log_path(step.log_step_id)
    if not path.exists():
        raise Http404("This step has no log yet.")
    response = FileResponse(
        open(path, "rb"), as_attachment=True, filename=f"{step.name}-std_log.txt"
    )
    response["Content-Type"] = "text/plain; charset=utf-8"
    return response


@require_POST
@login_required
def run_cancel(request: HttpRequest, run_id: str) -> HttpResponse:
    run = get_object_or_404(Run, id=run_id)
    services.cancel_run(run)
    return redirect("run-detail", run_id=run.id)
