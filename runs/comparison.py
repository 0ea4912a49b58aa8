"""Runs side by side: a fixed number of queries for up to five runs of any size."""

from __future__ import annotations

from runs.charts import overlay_figure
from runs.models import Metric, Run, StepRun


def _differs(values: list) -> bool:
    return len({repr(v) for v in values}) > 1


def compare_runs(runs: list[Run]) -> dict:
    steps = list(StepRun.objects.filter(run__in=runs).order_by("position"))
    by_run: dict[str, dict[str, StepRun]] = {r.id: {} for r in runs}
    names: list[str] = []
    for step in steps:
        by_run[step.run_id].setdefault(step.name, step)
        if step.name not in names:
            names.append(step.name)
    metric_rows = (
        Metric.objects.filter(step_run_id__in={s.log_step_id for s in steps}, kind="scalar")
        .order_by("id")
        .values_list("step_run_id", "name", "value")
    )
    series: dict[str, dict[str, list]] = {}
    for step_id, name, value in metric_rows:
        series.setdefault(step_id, {}).setdefault(name, []).append(value)

    rows = []
    for name in names:
        cells = [by_run[r.id].get(name) for r in runs]

        def field(getter, cells=cells):
            values = [getter(c) if c is not None else None for c in cells]
            return {"values": values, "differs": _differs(values)}

        metrics_names = sorted({m for c in cells if c for m in series.get(c.log_step_id, {})})
        rows.append(
            {
                "name": name,
                "status": field(lambda c: c.status),
                "duration": field(
                    lambda c: round(c.duration.total_seconds(), 2) if c.duration else None
                ),
                "reuse": field(
                    lambda c: (
                        ("Reused" if c.reused_from_id else "Ran")
                        + (f": {c.reuse_reason}" if c.reuse_reason and not c.reused_from_id else "")
                    )
                ),
                "outputs": field(
                    lambda c: ", ".join(
                        f"{k} {v.get('manifest', '')[:10]}" for k, v in sorted(c.outputs.items())
                    )
                ),
                "metrics": [
                    {
                        "name": m,
                        **field(
                            lambda c, m=m: (series.get(c.log_step_id, {}).get(m) or [None])[-1]
                        ),
                    }
                    for m in metrics_names
                ],
            }
        )
    parameter_names = sorted({k for r in runs for k in r.parameters})
    parameters = [
        {
            "name": p,
            "values": [r.parameters.get(p) for r in runs],
            "differs": _differs([r.parameters.get(p) for r in runs]),
        }
        for p in parameter_names
    ]
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
    return {"rows": rows, "parameters": parameters, "charts": charts}
