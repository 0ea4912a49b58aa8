"""The runs list: filters from a query string, keyset pagination, metric columns.

A page costs a fixed number of queries however many runs there are: one for the
page (keyset on an index, never OFFSET), one for the metric columns asked for (step metrics and the runs' own, ``parent.log``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date

from runs.models import Metric, Run, StepRun
from studio.core.status import TERMINAL, Status

PAGE_SIZE = 25
SORTS = {
    "-start": ("-created_at", "-id"),
    "start": ("created_at", "id"),
    "-duration": ("-duration_ms", "-id"),
    "duration": ("duration_ms", "id"),
}
COLUMNS = [
    "status",
    "experiment",
    "description",
    "duration",
    "submitted_by",
    "submitted",
    "pipeline",
    "schedule",
    "tags",
]
DEFAULT_COLUMNS = ["status", "experiment", "description", "duration", "submitted_by", "submitted"]


@dataclass
class RunFilters:
    status: str = ""
    experiment: str = ""
    pipeline: str = ""
    schedule: str = ""
    tag: str = ""
    submitter: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    sort: str = "-start"
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    metrics: list[str] = field(default_factory=list)
    run_metrics: list[str] = field(default_factory=list)
    after: str = ""

    @classmethod
    def from_query(cls, query: QueryDict, experiment: str = "") -> RunFilters:
        def text(name: str, limit: int = 200) -> str:
            return (query.get(name) or "").strip()[:limit].replace("\x00", "")

        columns = [c for c in query.getlist("col") if c in COLUMNS] or list(DEFAULT_COLUMNS)
        metrics = [m.strip()[:255] for m in query.getlist("metric") if m.strip()][:10]
        run_metrics = [m.strip()[:255] for m in query.getlist("run_metric") if m.strip()][:10]
        sort = text("sort")
        return cls(
            status=text("status") if text("status") in {s.value for s in Status} else "",
            experiment=experiment or text("experiment"),
            pipeline=text("pipeline"),
            schedule=text("schedule"),
            tag=text("tag"),
            submitter=text("submitter"),
            since=text("since", 10),
            until=text("until", 10),
            q=text("q"),
            sort=sort if sort in SORTS else "-start",
            columns=columns,
            metrics=metrics,
            run_metrics=run_metrics,
            after=text("after", 500),
        )


def _uuid_like(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def filtered(filters: RunFilters) -> QuerySet:
    runs = Run.objects.all()
    if filters.status:
        runs = runs.filter(status=filters.status)
    if filters.experiment:
        runs = runs.filter(experiment__name=filters.experiment)
    if filters.pipeline:
        runs = (
            runs.filter(published_pipeline_id=filters.pipeline)
            if _uuid_like(filters.pipeline)
            else runs.none()
        )
    if filters.schedule:
        runs = (
            runs.filter(schedule_id=filters.schedule)
            if _uuid_like(filters.schedule)
            else runs.none()
        )
    if filters.tag:
        key, _, value = filters.tag.partition("=")
        if "__" in key or not key:
            runs = runs.none()
        elif value:
            runs = runs.filter(**{f"tags__{key}": value})
        else:
            runs = runs.filter(tags__has_key=key)
    if filters.submitter:
        runs = runs.filter(
            Q(created_by__username=filters.submitter) | Q(created_by_token__name=filters.submitter)
        )
    day = parse_date(filters.since) if filters.since else None
    if day:
        runs = runs.filter(
            created_at__gte=timezone.make_aware(datetime.combine(day, datetime.min.time()))
        )
    day = parse_date(filters.until) if filters.until else None
    if day:
        runs = runs.filter(
            created_at__lt=timezone.make_aware(
                datetime.combine(day + timedelta(days=1), datetime.min.time())
            )
        )
    if filters.q:
        runs = runs.filter(
            Q(description__icontains=filters.q)
            | Q(display_name__icontains=filters.q)
            | Q(id__startswith=filters.q.lower())
        )
    if filters.sort.endswith("duration"):
        runs = runs.filter(duration_ms__isnull=False)
    return runs


def _cursor(run: Run, sort: str) -> str:
    key = run.duration_ms if sort.endswith("duration") else run.created_at.isoformat()
    return base64.urlsafe_b64encode(json.dumps([key, run.id]).encode()).decode()


def _after(runs: QuerySet, cursor: str, sort: str) -> QuerySet:
    try:
        key, run_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        return runs
    field_name = "duration_ms" if sort.endswith("duration") else "created_at"
    if field_name == "created_at":
        try:
            key = datetime.fromisoformat(key)
        except (TypeError, ValueError):
            return runs
    # "key <= k AND NOT (key = k AND id >= i)" (not "key < k OR (key = k AND id < i)"): the same
    # rows, but every database walks the sort index as a range with no separate sort step.
    if sort.startswith("-"):
        return runs.filter(**{f"{field_name}__lte": key}).exclude(
            **{field_name: key, "id__gte": run_id}
        )
    return runs.filter(**{f"{field_name}__gte": key}).exclude(
        **{field_name: key, "id__lte": run_id}
    )


@dataclass(frozen=True)
class MetricColumn:
    """A metric column: the metric, and the step it comes from when two steps on the page log
    a metric of that name ("" when one step at most does); or, ``own``, a metric logged on the
    pipeline run itself."""

    name: str
    step: str = ""
    steps: tuple[str, ...] = ()
    own: bool = False

    @property
    def label(self) -> str:
        if self.own:
            return f"{self.name} (run)"
        return f"{self.name} ({self.step})" if self.step else self.name

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, None) if self.own else (self.name, self.step)


@dataclass
class RunPage:
    runs: list[Run]
    next_cursor: str | None
    metric_values: dict[str, dict[tuple[str, str | None], object]]
    metric_columns: list[MetricColumn] = field(default_factory=list)

    def metrics_of(self, run: Run) -> list[object]:
        """The run's value in each metric column (None where it has none)."""
        values = self.metric_values.get(run.id, {})
        return [values.get(c.key) for c in self.metric_columns]


def page(filters: RunFilters, size: int = PAGE_SIZE) -> RunPage:
    runs = filtered(filters).select_related("experiment", "created_by", "created_by_token")
    if filters.after:
        runs = _after(runs, filters.after, filters.sort)
    rows = list(runs.order_by(*SORTS[filters.sort])[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    values, columns = _metric_columns(rows, filters.metrics, filters.run_metrics)
    return RunPage(rows, _cursor(rows[-1], filters.sort) if more else None, values, columns)


def _metric_columns(
    runs: list[Run], names: list[str], run_names: Sequence[str] = ()
) -> tuple[dict[str, dict[tuple[str, str | None], object]], list[MetricColumn]]:
    """The last value of each asked-for metric per run and step, and the columns they make:
    one per metric, or one per step when two steps log it; then one per metric of the runs'
    own (``parent.log``), keyed by step None. A reused step shows the values its original
    step logged. Two queries for the page: its runs' steps, then their metrics."""
    own_columns = [MetricColumn(name, own=True) for name in run_names]
    if not (names or run_names) or not runs:
        return {}, [MetricColumn(name) for name in names] + own_columns
    logged_by: dict[str, list[tuple[str, str]]] = {}  # step that logged -> (run, step name)
    if names:
        for step_id, run_id, step_name, original_id in StepRun.objects.filter(
            run_id__in=[r.id for r in runs]
        ).values_list("id", "run_id", "name", "reused_from_id"):
            logged_by.setdefault(original_id or step_id, []).append((run_id, step_name))
    last: dict[str, dict[tuple[str, str], object]] = {}
    own: dict[str, dict[tuple[str, str | None], object]] = {}
    wanted = Q(step_run_id__in=list(logged_by), name__in=names) if names else Q(pk__in=[])
    if run_names:
        wanted |= Q(run_id__in=[r.id for r in runs], name__in=run_names)
    for step_id, run_id, name, value in (
        Metric.objects.filter(wanted, kind="scalar")
        .order_by("id")
        .values_list("step_run_id", "run_id", "name", "value")
    ):
        if step_id is None:
            own.setdefault(run_id, {})[(name, None)] = value
            continue
        for logged_run, step_name in logged_by[step_id]:
            last.setdefault(logged_run, {})[(name, step_name)] = value
    steps_of: dict[str, set[str]] = {}
    for by_step in last.values():
        for name, step_name in by_step:
            steps_of.setdefault(name, set()).add(step_name)
    columns: list[MetricColumn] = []
    values: dict[str, dict[tuple[str, str | None], object]] = own
    for name in names:
        steps = sorted(steps_of.get(name, ()))
        if len(steps) > 1:
            columns += [MetricColumn(name, step) for step in steps]
        else:
            columns.append(MetricColumn(name, steps=tuple(steps)))
    for run_id, by_step in last.items():
        for (name, step_name), value in by_step.items():
            key = (name, step_name) if len(steps_of[name]) > 1 else (name, "")
            values.setdefault(run_id, {})[key] = value
    return values, columns + own_columns


def page_state(filters: RunFilters, size: int = PAGE_SIZE) -> tuple[list[tuple], bool]:
    """What a refresh of the page compares, and whether any run on it goes on: the shown
    runs' ids, statuses, times, descriptions and tags in one query on the page's own index,
    and, while a run goes on, the newest of its asked-for metrics, its steps' or its own
    (a second query)."""
    runs = filtered(filters)
    if filters.after:
        runs = _after(runs, filters.after, filters.sort)
    rows: list[tuple] = list(
        runs.order_by(*SORTS[filters.sort]).values_list(
            "id", "status", "started_at", "ended_at", "description", "tags"
        )[: size + 1]
    )
    going_on = [row[0] for row in rows if row[1] not in TERMINAL]
    if (filters.metrics or filters.run_metrics) and going_on:
        newest = (
            Metric.objects.filter(
                Q(step_run__run_id__in=going_on, name__in=filters.metrics)
                | Q(run_id__in=going_on, name__in=filters.run_metrics)
            )
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        rows.append(("metrics", newest))
    return rows, bool(going_on)
