"""Runs side by side: a fixed number of queries for up to five runs of any size."""

from __future__ import annotations

from collections.abc import Callable

from runs.charts import overlay_figure
from runs.models import Metric, Run, StepRun

# step run id (the one that logs metrics) -> metric name -> values in logging order
Series = dict[str, dict[str, list]]


def _differs(values: list) -> bool:
    return len({repr(v) for v in values}) > 1


def compare_runs(runs: list[Run]) -> dict:
    """The runs' steps (matched by name), parameters and overlaid metric series, side by side."""
    steps, by_run, names = _steps_by_run(runs)
    series = _scalar_series(steps)
    rows = [_step_row(name, [by_run[r.id].get(name) for r in runs], series) for name in names]
    return {
        "rows": rows,
        "parameters": _parameter_rows(runs),
        "charts": _overlay_charts(runs, names, by_run, series),
    }


def _steps_by_run(
    runs: list[Run],
) -> tuple[list[StepRun], dict[str, dict[str, StepRun]], list[str]]:
    """All the runs' step runs (one query), each run's first step of each name, and the names
    in the order they first appear."""
    steps = list(StepRun.objects.filter(run__in=runs).order_by("position"))
    by_run: dict[str, dict[str, StepRun]] = {r.id: {} for r in runs}
    names: list[str] = []
    for step in steps:
        by_run[step.run_id].setdefault(step.name, step)
        if step.name not in names:
            names.append(step.name)
    return steps, by_run, names


def _scalar_series(steps: list[StepRun]) -> Series:
    """The scalar metrics the steps logged (one query)."""
    metric_rows = (
        Metric.objects.filter(step_run_id__in={s.log_step_id for s in steps}, kind="scalar")
        .order_by("id")
        .values_list("step_run_id", "name", "value")
    )
    series: Series = {}
    for step_id, name, value in metric_rows:
        series.setdefault(step_id, {}).setdefault(name, []).append(value)
    return series


def _field(cells: list[StepRun | None], getter: Callable[[StepRun], object]) -> dict:
    """One value per run (None where the run has no such step), and whether they differ."""
    values = [getter(c) if c is not None else None for c in cells]
    return {"values": values, "differs": _differs(values)}


def _step_row(name: str, cells: list[StepRun | None], series: Series) -> dict:
    """The row of one step name: its status, duration, reuse, outputs and last metric values."""
    metrics_names = sorted({m for c in cells if c for m in series.get(c.log_step_id, {})})
    return {
        "name": name,
        "status": _field(cells, lambda c: c.status),
        "duration": _field(
            cells, lambda c: round(c.duration.total_seconds(), 2) if c.duration else None
        ),
        "reuse": _field(
            cells,
            lambda c: (
                ("Reused" if c.reused_from_id else "Ran")
                + (f": {c.reuse_reason}" if c.reuse_reason and not c.reused_from_id else "")
            ),
        ),
        "outputs": _field(
            cells,
            lambda c: ", ".join(
                f"{k} {v.get('manifest', '')[:10]}" for k, v in sorted(c.outputs.items())
            ),
        ),
        "metrics": [
            {
                "name": m,
                **_field(
                    cells, lambda c, m=m: (series.get(c.log_step_id, {}).get(m) or [None])[-1]
                ),
            }
            for m in metrics_names
        ],
    }


def _parameter_rows(runs: list[Run]) -> list[dict]:
    """Every parameter any of the runs was given, with each run's value."""
    parameter_names = sorted({k for r in runs for k in r.parameters})
    return [
        {
            "name": p,
            "values": [r.parameters.get(p) for r in runs],
            "differs": _differs([r.parameters.get(p) for r in runs]),
        }
        for p in parameter_names
    ]


def _overlay_charts(
    runs: list[Run], names: list[str], by_run: dict[str, dict[str, StepRun]], series: Series
) -> list[dict]:
    """One chart per step and metric logged more than once: every run's series overlaid."""
    charts = []
    for name in names:
        metric_names = sorted(
            {
                m
                for r in runs
                if by_run[r.id].get(name)
                for m, v in series.get(by_run[r.id][name].log_step_id, {}).items()
                if len(v) > 1
            }
        )
        for metric in metric_names:
            lines = []
            for r in runs:
                step = by_run[r.id].get(name)
                values = series.get(step.log_step_id, {}).get(metric) if step else None
                if values:
                    lines.append(
                        (
                            f"Run {r.number} ({r.experiment.name})",
                            [v for v in values if isinstance(v, (int, float))],
                        )
                    )
            charts.append(
                {
                    "id": f"overlay-{len(charts)}",
                    "name": f"{name}: {metric}",
                    "figure": overlay_figure(f"{name}: {metric}", lines),
                }
            )
    return charts
