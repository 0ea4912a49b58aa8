"""Pages: experiments, an experiment's runs, a run with its live graph and step logs."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseLocation, HttpResponseStopPolling

from runs import code, environments, lineage, listing, logsearch, notebooks, parallel, services
from runs.charts import graph_legend, metric_overlay, metric_panels, pipeline_figure
from runs.comparison import compare_runs
from runs.models import DatasetUse, Experiment, Metric, Run, StepRun
from studio.core.errors import StudioError
from studio.core.paths import clean_path
from studio.core.spec import GraphSpec
from studio.core.status import ACTIVE, Status
from studio.workspace import live, roles, storage
from studio.workspace.datastores import Store, StoreConfig
from studio.workspace.models import ComputeTarget, Dataset, ModuleVersion, WorkerHeartbeat
from studio.workspace.services import ANONYMOUS_PREFIX, dataset_contents

LOG_WINDOW = 64 * 1024


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
    refresh = bool(request.htmx) and request.GET.get("partial") == "rows"
    # A refresh of the rows needs no experiment row: the filter names it.
    experiment = get_object_or_404(Experiment, name=name) if name and not refresh else None
    query = request.GET.copy()
    query.pop("partial", None)
    # The form's comma-separated fields become repeated metric= / run_metric= params.
    for field_name, param in (("metrics", "metric"), ("run_metrics", "run_metric")):
        if field_name in query:
            for metric in query.pop(field_name)[0].split(","):
                if metric.strip():
                    query.appendlist(param, metric.strip())
    filters = listing.RunFilters.from_query(query, experiment=name or "")
    state, going_on = listing.page_state(filters)
    tag = live.etag(state)
    if refresh and (unchanged := live.not_modified(request, tag)):
        return unchanged
    result = listing.page(filters)
    keep = query.copy()
    keep.pop("after", None)
    rows = [{"run": run, "metrics": result.metrics_of(run)} for run in result.runs]
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
        "metric_columns": result.metric_columns,
        "is_first_page": not filters.after,
        "live": going_on,
        "etag": tag,
        "refresh_query": (query.urlencode() + "&" if query else "") + "partial=rows",
    }
    if refresh:
        context["oob"] = True  # the pager follows the rows: its cursor is the last row's
        return live.fragment(
            render(request, "runs/runs_list.html#runs-rows", context), tag, going_on
        )
    return render(request, "runs/runs_list.html", context)


def _run_context(run: Run, selected_id: str | None) -> dict:
    steps = list(run.steps.all())
    spec = run.graph.graph()
    dataset_ids = {
        i.dataset_id(run.parameters) for st in spec.steps for i in st.inputs if i.is_dataset
    }
    dataset_names = (
        {
            str(d.id): f"{d.name}:{d.version}"
            if not d.name.startswith(ANONYMOUS_PREFIX)
            else "dataset"
            for d in Dataset.objects.filter(id__in=dataset_ids).only("id", "name", "version")
        }
        if dataset_ids
        else {}
    )
    figure = pipeline_figure(
        spec,
        {s.node_id: s.status for s in steps},
        {s.node_id: s.id for s in steps},
        {s.node_id for s in steps if s.reused_from_id},
        dataset_names,
        run.parameters,
    )
    if len(steps) > 20:
        figure["layout"]["dragmode"] = "pan"
        figure["scroll_zoom"] = True
    selected = _select(steps, selected_id)
    parameters = _parameter_rows(run, spec)
    own_metrics = list(
        Metric.objects.filter(run=run).order_by("id").values("name", "kind", "value", "description")
    )
    return {
        "run": run,
        "steps": steps,
        "figure": figure,
        "graph_legend": graph_legend(),
        "selected": selected,
        "parameters": parameters,
        "run_metrics": _run_metric_rows(own_metrics),
    }


def _select(steps: list[StepRun], selected_id: str | None) -> StepRun | None:
    """The step the panel shows: the one picked, else the one running (or failed) now."""
    selected = next((s for s in steps if s.id == selected_id), None)
    if selected is None and steps:
        selected = next(
            (s for s in steps if s.status in (Status.PREPARING, Status.RUNNING, Status.FAILED)),
            next((s for s in steps if s.started_at), steps[0]),
        )
    return selected


def _parameter_rows(run: Run, spec: GraphSpec) -> list[dict]:
    defaults = {p.name: p.default for p in spec.parameters}
    return [
        {
            "name": name,
            "value": _shown(value),
            "default": _shown(defaults.get(name)),
            "changed": _identity(value) != _identity(defaults.get(name)),
        }
        for name, value in run.parameters.items()
    ]


def _identity(value: Any) -> Any:
    """What a parameter value is, for "changed from its default": a dataset is its id."""
    return value.get("id", value) if isinstance(value, dict) else value


def _shown(value: Any) -> str:
    """A parameter value as the run page shows it."""
    if isinstance(value, dict) and "id" in value:
        if value.get("name") and not str(value["name"]).startswith(ANONYMOUS_PREFIX):
            return f"{value['name']}:{value.get('version')}"
        return f"dataset {str(value['id'])[:8]}"
    if isinstance(value, dict):
        return f"{value.get('datastore')}/{value.get('path')}"
    return str(value)


def _run_metric_rows(metrics: list[dict]) -> list[dict]:
    """Metrics logged on the pipeline run itself, one row each: a value, or a series' last."""
    panels = metric_panels(metrics)
    rows = [{"name": name, "value": value, "note": ""} for name, value in panels["scalars"].items()]
    for chart in panels["charts"]:
        values = chart["figure"]["data"][0]["y"]
        rows.append({"name": chart["name"], "value": values[-1], "note": f"last of {len(values)}"})
    for name, table in panels["tables"].items():
        rows.append({"name": name, "value": "", "note": f"table of {len(table['rows'])} rows"})
    for row in rows:
        row["description"] = panels["descriptions"].get(row["name"], "")
    return rows


TABS = [
    ("overview", "Overview"),
    ("parameters", "Parameters"),
    ("data", "Data"),
    ("logs", "Outputs + logs"),
    ("metrics", "Metrics"),
    ("code", "Code"),
]
MINIBATCH_TAB = ("minibatches", "Mini-batches")
# The parts of a ParallelRunStep's progress bar, in the order they are drawn.
MINIBATCH_PARTS = (
    ("reused", "Reused"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("running", "Running"),
    ("pending", "Pending"),
)
STD_LOG = "user_logs/std_log.txt"
# The logs a page follows live: the script's, and its environment's build.
LIVE_LOGS = (STD_LOG, environments.BUILD_LOG)


def _artifacts(step: StepRun) -> list[dict]:
    folder = storage.step_log_dir(step.log_step_id)
    if not folder.is_dir():
        return []
    store = Store(StoreConfig(name="artifacts", kind="local", root=str(folder)))
    files = [f for f in store.walk("") if ".tail" not in f.path.rsplit("/", 1)[-1]]
    return [
        {"name": f.path, "size": f.size}
        for f in sorted(files, key=lambda f: (f.path != STD_LOG, f.path))[:2000]
    ]


def _step_parameters(step: StepRun, spec: GraphSpec) -> dict:
    parts = step.fingerprint_parts or {}
    node = next((s for s in spec.steps if s.node_id == step.node_id), None)
    return {
        "arguments": parts.get("arguments") or ([a.value for a in node.arguments] if node else []),
        "params": parts.get("params") or {},
        "script": node.script_name if node else "",
        "notebook": parts.get("notebook")
        or (node.notebook.to_dict() if node is not None and node.notebook else None),
    }


@require_GET
@login_required
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    run = get_object_or_404(
        Run.objects.select_related(
            "experiment",
            "graph",
            "created_by",
            "created_by_token",
        ),
        id=run_id,
    )
    if request.htmx and request.GET.get("partial") == "minibatches":
        return _minibatches_refresh(request, run)
    status_poll = bool(request.htmx) and request.GET.get("partial") == "status"
    picked_id = _picked_in_address(request) if status_poll else request.GET.get("step", "")
    if request.htmx and request.htmx.target == "step-panel":
        # A step or tab picked on the page: only the panel is drawn again.
        steps = list(run.steps.all())
        context = {"run": run, "selected": _select(steps, picked_id), "picked": bool(picked_id)}
        context.update(_panel_context(request, run, context["selected"]))
        return render(request, "runs/run_detail.html#step-panel", context)
    context = _run_context(run, picked_id)
    # Until the user picks a step, the panel follows the run: the step running now.
    context["picked"] = bool(picked_id)
    context["step_statuses"] = [str(s) for s in Status]
    context["failed_steps"] = [
        {"id": s.id, "name": s.name, "summary": (s.error or "").partition("\n")[0]}
        for s in context["steps"]
        if s.status == Status.FAILED
    ]
    if status_poll:
        followed = context["selected"]
        shown = request.GET.get("shown")
        if not context["picked"] and followed is not None and shown and shown != followed.id:
            return _follow(request, run)
        context["oob"] = True  # the actions and the step panel's status follow the run too
        response = render(request, "runs/run_detail.html#run-status", context)
        return _stop_when_finished(run, response)
    context.update(_panel_context(request, run, context["selected"]))
    context["reruns"] = services.reruns_of(run)
    if request.htmx and request.GET.get("partial") == "metrics" and context["selected"]:
        response = render(request, "runs/run_detail.html#metrics-panel", context)
        return _stop_when_finished(run, response) if context["selected"].is_finished else response
    return render(request, "runs/run_detail.html", context)


def _minibatches_refresh(request: HttpRequest, run: Run) -> HttpResponse:
    """The Mini-batches tab's live part, every two seconds until its step has ended."""
    step = get_object_or_404(StepRun, run=run, id=request.GET.get("step", ""))
    finished = step.is_finished  # read before the mini-batches: the last answer has them all
    context = {"run": run, "selected": step, "minibatches": _minibatches(step)}
    response = render(request, "runs/run_detail.html#minibatch-panel", context)
    return _stop_polling(response) if finished else response


def _minibatches(step: StepRun) -> dict | None:
    """A ParallelRunStep's mini-batches as its tab shows them (those of the step it reused,
    if it was reused): :func:`runs.parallel.summary`, with the parts of its progress bar and
    each failed mini-batch's error headline."""
    source = step
    if step.reused_from_id:
        source = StepRun.objects.filter(id=step.reused_from_id).first()
    found = parallel.summary(source) if source is not None else None
    if found is None:
        return None
    shown = {**found, "done": found["done"] - found["reused"]}  # done by this attempt
    found["bar"] = [
        {"key": key, "label": label, "count": shown[key]} for key, label in MINIBATCH_PARTS
    ]
    for batch in found["failed_batches"]:
        # A traceback's last line says what went wrong.
        lines = [line for line in batch["error"].splitlines() if line.strip()]
        batch["headline"] = lines[-1].strip() if lines else "(no error text)"
    found["failed_not_shown"] = found["failed"] - len(found["failed_batches"])
    return found


def _picked_in_address(request: HttpRequest) -> str:
    """The step the user picked, as the page's address says now: a step or tab switch changes
    it without a page load, so the live refresh reads it there rather than in its own URL."""
    current = request.htmx.current_url
    if current is None:
        return request.GET.get("step", "")
    return (parse_qs(urlsplit(current).query).get("step") or [""])[0]


def _module_of(run: Run, step: StepRun) -> dict | None:
    """The module version a ModuleStep ran, with its module's id for the link."""
    ref = services.graph_of(run.graph_id).step(step.node_id).module
    if ref is None:
        return None
    module_id = ModuleVersion.objects.filter(id=ref.id).values_list("module_id", flat=True).first()
    return {"name": ref.name, "version": ref.version, "module_id": module_id}


def _panel_context(request: HttpRequest, run: Run, selected: StepRun | None) -> dict:
    """What the step panel shows of ``selected`` on the tab the address names."""
    notebook = notebooks.notebook_of(run, selected) if selected is not None else None
    tabs = list(TABS)
    if selected is not None and services.graph_of(run.graph_id).step(selected.node_id).parallel:
        tabs.insert(tabs.index(("logs", "Outputs + logs")) + 1, MINIBATCH_TAB)
    if notebook:
        tabs.append(("notebook", "Notebook"))
    tab = request.GET.get("tab") if request.GET.get("tab") in dict(tabs) else "logs"
    context: dict[str, Any] = {"tabs": tabs, "tab": tab}
    if selected is None:
        return context
    if tab == "notebook" and notebook:
        executed, html = notebooks.files_of(notebook)
        folder = storage.step_log_dir(selected.log_step_id)
        context["notebook"] = {
            "path": notebook["path"],
            "executed": executed if (folder / executed).is_file() else None,
            "rendered": (folder / html).is_file(),
        }
    context["step_module"] = _module_of(run, selected)
    if tab == "logs":
        files = _artifacts(selected)
        preparing = selected.status == Status.PREPARING
        chosen = request.GET.get("file") or (environments.BUILD_LOG if preparing else STD_LOG)
        context.update(files=files, chosen_file=chosen, live_logs=LIVE_LOGS)
        if chosen in LIVE_LOGS:
            offset = request.GET.get("offset")
            start = int(offset) if offset and offset.isdigit() else -LOG_WINDOW
            data, next_offset = storage.read_log(
                selected.log_step_id, offset=start, limit=LOG_WINDOW, name=chosen
            )
            context.update(
                log_text=data.decode("utf-8", errors="replace"),
                log_offset=next_offset,
                log_truncated=next_offset > len(data),
                log_live=not selected.is_finished and not offset,
            )
        else:
            context["file_text"] = _file_tail(selected, chosen)
    elif tab == "metrics":
        context["panels"] = _metric_panels(selected)
        overlaid = [n for n in request.GET.getlist("overlay") if n][:10]
        context["overlay"] = metric_overlay(context["panels"]["charts"], overlaid)
        context["overlaid"] = overlaid
    elif tab == "parameters":
        spec = run.graph.graph()
        context["step_parameters"] = _step_parameters(selected, spec)
        context["parameters"] = _parameter_rows(run, spec)
    elif tab == "data":
        context["step_data"] = lineage.step_data(selected, run.graph.graph())
    elif tab == "code":
        context.update(_code_context(request, run, selected))
    elif tab == "minibatches":
        context["minibatches"] = _minibatches(selected)
    elif tab == "overview":
        node = next((s for s in run.graph.graph().steps if s.node_id == selected.node_id), None)
        context["step_environment"] = environments.plan_of(node) if node else None
    return context


def _code_context(request: HttpRequest, run: Run, step: StepRun) -> dict:
    """The Code tab: the files of the step's snapshot, and the chosen one (else its script)."""
    node = next((s for s in run.graph.graph().steps if s.node_id == step.node_id), None)
    digest = node.snapshot if node else ""
    script = (node.script_name or "") if node else ""
    files = code.snapshot_files(digest) if digest else []
    chosen = request.GET.get("file") or (script if script in files else next(iter(files), ""))
    return {
        "code_files": files,
        "code_script": script,
        "code_chosen": chosen,
        "code_file": code.source_file(digest, chosen) if chosen in files else None,
    }


@require_GET
@login_required
def run_timeline(request: HttpRequest, run_id: str) -> JsonResponse:
    """The run's timeline figure for the run page's Timeline view, and whether the run goes on
    (the page asks again every two seconds while it does)."""
    run = get_object_or_404(Run.objects.select_related("experiment"), id=run_id)
    goes_on = not run.is_finished  # read before the steps: the last answer has their final times
    figure = services.run_timeline(run, timezone.now())
    return JsonResponse({"figure": figure, "live": goes_on})


def _follow(request: HttpRequest, run: Run) -> HttpResponse:
    """Have htmx load the run page again in place (the panel now on the running step),
    without a full page load; the URL stays the run's, so it keeps following."""
    return HttpResponseLocation(
        reverse("run-detail", args=[run.id]), target="#main", select="#main", swap="outerHTML"
    )


def _metric_panels(step: StepRun) -> dict:
    rows = (
        Metric.objects.filter(step_run_id=step.log_step_id)
        .order_by("id")
        .values("name", "kind", "value", "description")[:20000]
    )
    return metric_panels(list(rows))


def _file_tail(step: StepRun, name: str, limit: int = LOG_WINDOW) -> str | None:
    try:
        rel = clean_path(name)
        store = Store(
            StoreConfig(
                name="artifacts", kind="local", root=str(storage.step_log_dir(step.log_step_id))
            )
        )
        with store.open_read(rel) as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - limit))
            return fh.read(limit).decode("utf-8", errors="replace")
    except (StudioError, FileNotFoundError, IsADirectoryError):
        return None


@require_GET
@login_required
def step_file(request: HttpRequest, step_id: str) -> FileResponse:
    """An artifact of a step: served as text or an image, never rendered as HTML."""
    step = get_object_or_404(StepRun, id=step_id)
    try:
        rel = clean_path(request.GET.get("name", ""))
        store = Store(
            StoreConfig(
                name="artifacts", kind="local", root=str(storage.step_log_dir(step.log_step_id))
            )
        )
        handle = store.open_read(rel)
    except StudioError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    except (FileNotFoundError, IsADirectoryError):
        raise Http404("No such file") from None
    image = rel.lower().endswith((".png", ".jpg", ".jpeg", ".gif"))
    content_type = (
        {"png": "image/png", "gif": "image/gif"}.get(rel.rsplit(".", 1)[-1].lower(), "image/jpeg")
        if image
        else "text/plain; charset=utf-8"
    )
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=request.GET.get("download") == "1",
        filename=rel.rsplit("/", 1)[-1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def run_log_search(request: HttpRequest, run_id: str) -> StreamingHttpResponse:
    """Search the logs of every step of a run; matches stream as they are found."""
    run = get_object_or_404(Run, id=run_id)
    query = (request.GET.get("q") or "")[:200]
    steps = list(run.steps.only("id", "name", "reused_from_id", "run_id").order_by("position"))
    logs = [(s.id, s.name, storage.step_log_path(s.log_step_id)) for s in steps]

    def rows():
        yield '<ol class="search-results">'
        count = 0
        for match in logsearch.search(logs, query):
            count += 1
            url = f"?step={match.step_id}&tab=logs&offset={max(0, match.offset - 2048)}&q={quote(query)}#match"
            yield (
                f'<li><a href="{escape(url)}" data-match="{count}"><strong>{escape(match.step_name)}</strong> '
                f"line {match.line}</a>: <code>{escape(match.text)}</code></li>"
            )
        if not count:
            yield f'<li class="empty">No line of this run\'s logs contains “{escape(query)}”.</li>'
        yield "</ol>"

    return StreamingHttpResponse(
        rows() if query else iter(['<p class="note">Type something to search.</p>']),
        content_type="text/html; charset=utf-8",
    )


def _stop_when_finished(run: Run, response: HttpResponse) -> HttpResponse:
    return _stop_polling(response) if run.is_finished else response


def _stop_polling(response: HttpResponse) -> HttpResponse:
    """The same answer, telling htmx to poll no more."""
    stop = HttpResponseStopPolling(response.content)
    stop["Content-Type"] = response["Content-Type"]
    return stop


@require_GET
@login_required
def step_log_tail(request: HttpRequest, step_id: str) -> HttpResponse:
    """The log bytes after ``offset``, followed by the poller for the next ones while the step runs."""
    step = get_object_or_404(StepRun, id=step_id)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    name = request.GET.get("file") if request.GET.get("file") in LIVE_LOGS else STD_LOG
    finished = step.is_finished  # read before the log, so the last bytes are never missed
    if name != STD_LOG:
        # The build log is complete once the script has started.
        finished = finished or step.status not in (Status.QUEUED, Status.PREPARING)
    data, next_offset = storage.read_log(
        step.log_step_id, offset=offset, limit=LOG_WINDOW, name=name
    )
    more = not finished or len(data) == LOG_WINDOW
    context = {
        "step": step,
        "log_text": data.decode("utf-8", errors="replace"),
        "log_offset": next_offset,
        "log_live": more,
        "log_file": name,
    }
    response = render(request, "runs/run_detail.html#log-chunk", context)
    return response if more else _stop_polling(response)


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
    run = get_object_or_404(Run.objects.select_related("created_by"), id=run_id)
    roles.authorize(request, "change", owner=run.created_by)
    services.cancel_run(run)
    return redirect("run-detail", run_id=run.id)


@require_POST
@login_required
def run_update(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run page's form: its display name and its tags (``name=value`` a line) as a whole."""
    run = get_object_or_404(Run.objects.select_related("created_by"), id=run_id)
    roles.authorize(request, "change", owner=run.created_by)
    tags = _tags_from_lines(request.POST.get("tags", ""))
    try:
        services.update_run(
            run,
            display_name=request.POST.get("display_name", ""),
            tags=tags,
            remove_tags=[key for key in run.tags if key not in tags],
        )
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect("run-detail", run_id=run.id)


def _tags_from_lines(text: str) -> dict[str, str]:
    """``name=value`` (or just ``name``) on each line; blank lines are skipped."""
    tags = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip():
            tags[name.strip()] = value.strip()
    return tags


@require_POST
@login_required
def run_rerun_failed(request: HttpRequest, run_id: str) -> HttpResponse:
    """Rerun a failed or canceled run: its completed steps reused, the others run."""
    run = get_object_or_404(Run.objects.select_related("experiment", "graph"), id=run_id)
    roles.authorize(request, "create")
    try:
        new = services.rerun_failed(run, user=request.user)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("run-detail", run_id=run.id)
    messages.success(request, f"Rerun of run {run.number}: run {new.number}.")
    return redirect("run-detail", run_id=new.id)


@require_GET
@login_required
def compare(request: HttpRequest) -> HttpResponse:
    """Two to five runs side by side, step by step; differences highlighted, metric series overlaid."""
    ids = list(dict.fromkeys(request.GET.getlist("runs")))[:5]
    runs_by_id = {r.id: r for r in Run.objects.filter(id__in=ids).select_related("experiment")}
    runs = [runs_by_id[i] for i in ids if i in runs_by_id]
    if len(runs) < 2:
        return render(
            request,
            "runs/compare.html",
            {
                "runs": runs,
                "error": "Pick two to five runs to compare (tick them in the runs list).",
            },
            status=400 if ids else 200,
        )
    table = compare_runs(runs)
    return render(request, "runs/compare.html", {"runs": runs, **table})


@require_GET
@login_required
def compute_targets(request: HttpRequest) -> HttpResponse:
    """Compute targets with the workers serving them and their queued and running steps; live
    while any step waits or runs."""
    counts = list(
        StepRun.objects.filter(status__in=[Status.QUEUED, *ACTIVE])
        .values("compute_target")
        .annotate(
            queued=Count("id", filter=Q(status=Status.QUEUED)),
            running=Count("id", filter=~Q(status=Status.QUEUED)),
        )
        .order_by("compute_target")
    )
    workers = WorkerHeartbeat.live()
    tag = live.etag(counts, sorted((w.hostname, tuple(w.queues)) for w in workers))
    refresh = bool(request.htmx) and request.GET.get("partial") == "targets"
    if refresh and (unchanged := live.not_modified(request, tag)):
        return unchanged
    by_target = {row["compute_target"]: row for row in counts}
    targets = [
        {
            "target": t,
            "workers": [w for w in workers if t.queue in w.queues],
            "queued": by_target.get(t.name, {}).get("queued", 0),
            "running": by_target.get(t.name, {}).get("running", 0),
        }
        for t in ComputeTarget.objects.all()
    ]
    context = {"targets": targets, "live": bool(counts), "etag": tag}
    if refresh:
        response = render(request, "runs/compute_targets.html#compute-rows", context)
        return live.fragment(response, tag, bool(counts))
    return render(request, "runs/compute_targets.html", context)


@require_GET
@login_required
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    """A dataset's versions, where the selected one points, its lineage and a preview."""
    versions = list(Dataset.objects.filter(name=name).order_by("-version"))
    if not versions:
        raise Http404("No such dataset")
    writers = StepRun.objects.in_bulk(
        [v.created_by_step_id for v in versions if v.created_by_step_id]
    )
    for version in versions:
        version.created_by_step = writers.get(version.created_by_step_id)
    wanted = request.GET.get("version")
    selected = next((d for d in versions if str(d.version) == wanted), versions[0])
    uses = list(
        DatasetUse.objects.filter(dataset=selected).select_related("step_run__run__experiment")[
            :100
        ]
    )
    contents = dataset_contents(selected)
    return render(
        request,
        "runs/dataset_detail.html",
        {
            "versions": versions,
            "selected": selected,
            "uses": uses,
            "preview": contents.preview,
            "preview_error": contents.error,
            "files": contents.files,
        },
    )


@require_GET
@login_required
@xframe_options_sameorigin
@csp(
    {
        "default-src": [NONE],
        "style-src": [UNSAFE_INLINE],
        "img-src": ["data:"],
        "base-uri": [NONE],
        "form-action": [NONE],
        "frame-ancestors": [SELF],
        "sandbox": [""],
    }
)
def step_notebook(request: HttpRequest, step_id: str) -> HttpResponse:
    """A notebook step's executed notebook, cleaned, for the sandboxed frame of its run page:
    its own policy lets it run nothing and load nothing but inline styles and data: images."""
    step = get_object_or_404(StepRun.objects.select_related("run__graph"), id=step_id)
    notebook = notebooks.notebook_of(step.run, step)
    html = notebooks.rendered(step, notebook) if notebook else None
    if html is None:
        raise Http404("No executed notebook")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
