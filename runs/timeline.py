"""A run's timeline as a plotly figure: one row per step, its queued, preparing and running time.

A pure function of plain step records (no database): the run page's Timeline view draws what
it returns, and asks for it again every two seconds while the run goes on. Bars are plotly
``bar`` traces laid horizontally (``orientation: "h"`` with a ``base``), reuse is a ``scatter``
marker: both are in plotly.js's basic bundle. Every name shown goes through ``plotly_text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from runs.charts import plotly_text
from studio.core.status import ACTIVE, WAITING, Status, colour

# Waiting is drawn thin and pale, preparing (until the environment is built) in its own colour,
# running thick in the colour of the step's status (its final one once it ended).
QUEUED_COLOUR = "#c8c6c4"
PREPARING_COLOUR = "#8764b8"
REUSED_COLOUR = colour(Status.COMPLETED)
LABEL_CHARS = 24


@dataclass(frozen=True)
class StepTimes:
    """When one step waited, prepared and ran, as the database recorded it.

    ``preparing`` is the environment build this step made or waited for (its start and end,
    the end None while it builds): the step prepares from its own start until the build's end.
    ``reused_from_run`` is the number of the run whose step it reused (None when it was not
    reused, or that run is gone).
    """

    step_id: str
    name: str
    status: str
    position: int = 0
    queued_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    preparing: tuple[datetime, datetime | None] | None = None
    reused: bool = False
    reused_from_run: int | None = None
    reused_from_experiment: str = ""


@dataclass(frozen=True)
class Segment:
    """A part of a step's row: ``kind`` is Queued, Preparing or the status it ran with."""

    kind: str
    start: float  # seconds since the run started
    end: float


def segments(step: StepTimes, origin: datetime, now: datetime) -> list[Segment]:
    """The bars of one step's row, in seconds since ``origin``; a step still waiting,
    preparing or running ends at ``now``. A reused step has no bar: it is a marker."""

    def at(moment: datetime) -> float:
        return (moment - origin).total_seconds()

    live = step.status in ACTIVE
    waiting = step.status in WAITING
    end_of_run = step.ended_at if step.ended_at and not live and not waiting else now
    parts: list[Segment] = []
    if step.queued_at is not None:
        # A step queued again (its worker shut down) keeps its old started_at until claimed.
        started = step.started_at if step.started_at and step.started_at >= step.queued_at else None
        queue_end = end_of_run if waiting or started is None else started
        if step.status != Status.NOT_STARTED:
            parts.append(Segment(str(Status.QUEUED), at(step.queued_at), at(queue_end)))
    if step.started_at is None or waiting or step.reused:
        return [p for p in parts if p.end > p.start]
    if step.queued_at is not None and step.started_at < step.queued_at:
        return [p for p in parts if p.end > p.start]
    running_from = step.started_at
    build = step.preparing
    if build is None and step.status == Status.PREPARING:
        build = (step.started_at, None)
    if build is not None:
        # It prepares from its start: the working folder is laid out, then the build runs.
        build_start = step.started_at
        build_end = min(build[1] or end_of_run, end_of_run)
        if step.status == Status.PREPARING:
            build_end = end_of_run
        if build_end > build_start:
            parts.append(Segment(str(Status.PREPARING), at(build_start), at(build_end)))
            running_from = max(running_from, build_end)
    if step.status != Status.PREPARING:
        parts.append(Segment(str(step.status), at(running_from), at(end_of_run)))
    return [p for p in parts if p.end > p.start]


def waited_for(
    build: tuple[datetime, datetime | None],
    started_at: datetime | None,
    ended_at: datetime | None,
) -> tuple[datetime, datetime | None] | None:
    """The part of another step's environment build that a step waited for (the same
    environment on the same host): from the step's start to the build's end, when the build
    went on after the step started and had begun before it ended; None when it was done before
    the step started, or built again after it ended."""
    begun, finished = build
    if started_at is None or (ended_at is not None and begun >= ended_at):
        return None
    if finished is not None and finished <= started_at:
        return None
    return (started_at, finished)


def ordered(steps: Sequence[StepTimes]) -> list[StepTimes]:
    """Rows in the order steps started (so steps that ran side by side sit together), then the
    steps still waiting in the order they were queued, then those never queued."""

    def key(step: StepTimes) -> tuple:
        if step.started_at is not None and step.status not in WAITING:
            return (0, step.started_at, step.position)
        if step.queued_at is not None:
            return (1, step.queued_at, step.position)
        return (2, step.position)

    return sorted(steps, key=key)


def short_name(name: str, limit: int = LABEL_CHARS) -> str:
    """``name`` cut in the middle to ``limit`` characters: the start and the end (often a
    number telling fan-out steps apart) both stay."""
    if len(name) <= limit:
        return name
    tail = (limit - 1) // 2
    return f"{name[: limit - 1 - tail]}…{name[-tail:]}"


def seconds_text(seconds: float) -> str:
    """A length of time as a person reads it: 0.4 s, 12.3 s, 4 min 05 s, 2 h 03 min."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def timeline_figure(steps: Sequence[StepTimes], origin: datetime, now: datetime) -> dict:
    """The plotly figure of a run's timeline: a row per step (top to bottom in the order they
    started), the x axis in time since ``origin`` (when the run started): seconds, or minutes
    or hours for a long run (see ``axis_unit``).

    One bar trace per kind of segment (Queued, Preparing, then each status a step ran with),
    so that a legend drawn from the traces names each colour once; one scatter trace marks
    reused steps at the moment reuse was decided, labelled "reused from run N". Every bar and
    marker carries its step run id as ``customdata``: clicking it selects the step.
    """
    rows = ordered(steps)
    bars: dict[str, dict] = {}
    reused: dict[str, list] = {"x": [], "y": [], "text": [], "hovertext": [], "customdata": []}
    latest = 0.0
    for row, step in enumerate(rows):
        name = plotly_text(step.name)
        for part in segments(step, origin, now):
            latest = max(latest, part.end)
            trace = bars.setdefault(part.kind, _bar_trace(part.kind))
            trace["x"].append(round(part.end - part.start, 3))
            trace["base"].append(round(part.start, 3))
            trace["y"].append(row)
            trace["customdata"].append(step.step_id)
            trace["hovertext"].append(
                f"<b>{name}</b><br>{_what(part, step)}"
                f"<br>from {seconds_text(part.start)} to {seconds_text(part.end)}"
            )
        if step.reused and step.started_at is not None:
            moment = (step.started_at - origin).total_seconds()
            latest = max(latest, moment)
            label = f"reused from run {step.reused_from_run}" if step.reused_from_run else "reused"
            where = (
                f" of experiment {plotly_text(step.reused_from_experiment)}"
                if step.reused_from_experiment
                else ""
            )
            reused["x"].append(round(moment, 3))
            reused["y"].append(row)
            reused["text"].append(label)
            reused["customdata"].append(step.step_id)
            reused["hovertext"].append(
                f"<b>{name}</b><br>{label.capitalize()}{where}<br>at {seconds_text(moment)}"
            )
    data = [bars[kind] for kind in _kinds() if kind in bars]
    if reused["x"]:
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "Reused",
                **reused,
                "textposition": "middle right",
                "textfont": {"size": 11, "color": "#605e5c"},
                "marker": {
                    "symbol": "diamond",
                    "size": 11,
                    "color": REUSED_COLOUR,
                    "line": {"color": "#ffffff", "width": 1},
                },
                "hoverinfo": "text",
                "cliponaxis": False,
            }
        )
    unit, size = axis_unit(latest)
    if size != 1:
        for trace in data:
            trace["x"] = [round(v / size, 4) for v in trace["x"]]
            if "base" in trace:
                trace["base"] = [round(v / size, 4) for v in trace["base"]]
    return {"data": data, "layout": _layout(rows, latest / size, unit)}


def axis_unit(seconds: float) -> tuple[str, int]:
    """The time axis's unit for a run this long, and its length in seconds: seconds up to ten
    minutes, minutes up to three hours, then hours."""
    if seconds <= 600:
        return "s", 1
    if seconds <= 3 * 3600:
        return "min", 60
    return "h", 3600


def _kinds() -> list[str]:
    """Legend order: waiting, preparing, then the statuses a step runs and ends with."""
    return [str(s) for s in Status if s != Status.NOT_STARTED]


def _what(part: Segment, step: StepTimes) -> str:
    """What a bar means, for its hover text."""
    length = seconds_text(part.end - part.start)
    if part.kind == Status.QUEUED:
        return (
            f"Waiting in the queue: {length}"
            if step.status in WAITING
            else f"Waited in the queue {length}"
        )
    if part.kind == Status.PREPARING:
        if step.status == Status.PREPARING:
            return f"Building its environment: {length}"
        return f"Built its environment in {length}"
    if step.status in ACTIVE:
        return f"{part.kind}: {length}"
    return f"{part.kind}: ran {length}"


def _bar_trace(kind: str) -> dict:
    thin = kind == Status.QUEUED
    fill = {Status.QUEUED: QUEUED_COLOUR, Status.PREPARING: PREPARING_COLOUR}.get(
        Status(kind), colour(kind)
    )
    return {
        "type": "bar",
        "orientation": "h",
        "name": "Waiting" if thin else kind,
        "x": [],
        "base": [],
        "y": [],
        "customdata": [],
        "hovertext": [],
        "hoverinfo": "text",
        "width": 0.3 if thin else 0.7,
        # An outline as wide as the fill: a step of a few milliseconds still shows.
        "marker": {"color": fill, "line": {"color": fill, "width": 1}},
    }


def _layout(rows: list[StepTimes], latest: float, unit: str) -> dict:
    """Rows of a fixed height (the page scrolls a tall chart inside its card), names cut
    short on the axis, the time axis on top."""
    row_height = 22 if len(rows) <= 40 else 16
    span = max(latest * 1.08, 1.0)
    return {
        "height": 56 + row_height * max(len(rows), 3),
        "margin": {"l": 8, "r": 24, "t": 32, "b": 8},
        "barmode": "overlay",
        "showlegend": False,  # the page shows the traces' names and colours above the chart
        "xaxis": {
            "side": "top",
            "ticksuffix": f" {unit}",
            # A little room before 0: a step reused at once is not drawn on its name.
            "range": [-0.03 * span, span],
            "gridcolor": "#edebe9",
            "zeroline": False,
            "automargin": True,
        },
        "yaxis": {
            "tickmode": "array",
            "tickvals": list(range(len(rows))),
            "ticktext": [plotly_text(short_name(s.name)) for s in rows],
            "range": [max(len(rows), 3) - 0.5, -0.5],
            "fixedrange": True,
            "automargin": True,
            "tickfont": {"size": 11},
            "showgrid": False,
        },
        "hovermode": "closest",
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "uirevision": "timeline",
    }
