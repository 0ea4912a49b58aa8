"""Plotly figures as plain data: the pipeline graph, laid out left to right, and metric charts.

Pure functions over the graph spec and step statuses; unit-tested; drawn in the
page by one small script. Every name a figure shows goes through ``plotly_text``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

import igraph

from studio.core.spec import GraphSpec, InputSpec, layers
from studio.core.status import Status, colour


def plotly_text(value: object) -> str:
    """``value`` as plotly shows it literally.

    Plotly reads a subset of HTML in the text it draws (``<a href>`` becomes a live link,
    ``<b>`` bold, ``<br>`` a new line) and decodes entities: names are user data, so their
    ``&``, ``<`` and ``>`` reach it as entities and show as typed.
    """
    return html.escape(str(value), quote=False)


# The layout is igraph's Sugiyama layout (layering given, barycenter crossing reduction, dummy
# vertices on long edges returned as bend points): a maintained C library that lays out 300 steps
# in a few tens of milliseconds. Its layers run top to bottom; the graph is drawn left to right
# as in Azure ML studio, so its (position in layer, layer) becomes (x = layer, y = -position).
@dataclass(frozen=True)
class Edge:
    """An arrow from ``source`` to ``target`` (node keys) through ``points``, named by ``label``:
    the data it carries (the output's name, and the input's when it differs)."""

    source: str
    target: str
    label: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class GraphLayout:
    """Where each node sits: steps by node id, data nodes by key (``data_nodes`` labels them)."""

    positions: Mapping[str, tuple[float, float]]
    data_nodes: Mapping[str, str]
    edges: tuple[Edge, ...]


def graph_layout(
    spec: GraphSpec,
    parameters: Mapping[str, object] | None = None,
    dataset_names: Mapping[str, str] | None = None,
) -> GraphLayout:
    """The pipeline laid out left to right in layers, with few crossings.

    A step's layer is its depth (1 + its deepest upstream step's); a data node (a dataset,
    DataPath or DataReference the steps read) sits one layer before the first step reading it.
    Edges that span several layers bend around the nodes in between.
    """
    depth = layers(spec)
    keys = [s.node_id for s in spec.steps]
    data_nodes: dict[str, str] = {}
    labels: dict[tuple[str, str], list[str]] = {}
    for step in spec.steps:
        for port in step.inputs:
            if port.is_step_output:
                source = port.source_step
                name = port.source_output
                label = name if port.name == name else f"{name} \u2192 {port.name}"
            else:
                source, node_label = _data_node(port, parameters or {}, dataset_names or {})
                data_nodes.setdefault(source, node_label)
                label = port.name
            labels.setdefault((source, step.node_id), []).append(label)
        for up in step.run_after:
            labels.setdefault((up, step.node_id), [])
    keys += list(data_nodes)
    index = {key: i for i, key in enumerate(keys)}
    pairs = [pair for pair in labels if pair[0] in index]
    for pair in pairs:
        if pair[0] in data_nodes:
            depth[pair[0]] = min(depth.get(pair[0], depth[pair[1]]), depth[pair[1]] - 1)
    low = min(depth.values())
    graph = igraph.Graph(n=len(keys), edges=[(index[a], index[b]) for a, b in pairs], directed=True)
    placed = graph.layout_sugiyama(layers=[depth[key] - low for key in keys])
    coordinates = [tuple(placed[i]) for i in range(len(keys))]
    middle = (
        min(across for across, _ in coordinates) + max(across for across, _ in coordinates)
    ) / 2

    def point(across: float, layer: float) -> tuple[float, float]:
        return (float(layer), float(middle - across) + 0.0)

    positions = {key: point(*coordinates[index[key]]) for key in keys}
    edges = tuple(
        Edge(
            source=a,
            target=b,
            label=", ".join(dict.fromkeys(labels[(a, b)])),
            points=(
                positions[a],
                *(point(*bend) for bend in placed.edge_routing[i]),
                positions[b],
            ),
        )
        for i, (a, b) in enumerate(pairs)
    )
    return GraphLayout(positions=positions, data_nodes=data_nodes, edges=edges)


STEP_SIZE = 26
DATA_SIZE = 18
ARROW_SIZE = 11
STATUS_LEGEND = (
    Status.NOT_STARTED,
    Status.QUEUED,
    Status.RUNNING,
    Status.COMPLETED,
    Status.FAILED,
    Status.CANCELED,
)


def pipeline_figure(
    spec: GraphSpec,
    statuses: Mapping[str, str],
    step_ids: Mapping[str, str],
    reused: frozenset[str] | set[str] = frozenset(),
    dataset_names: Mapping[str, str] | None = None,
    parameters: Mapping[str, object] | None = None,
) -> dict:
    """A plotly figure of the pipeline: edges with arrows and the names of the data they carry,
    data nodes, then one marker per step coloured by its status.

    Reused steps (node ids in ``reused``) are drawn as diamonds, "(reused)" on hover.
    Dataset, DataPath and DataReference inputs are drawn as their own round nodes feeding the
    steps, as Azure ML studio draws dataset nodes; ``dataset_names`` labels datasets by id, and
    a run's ``parameters`` say which dataset a dataset parameter names. Each trace names itself
    in ``meta`` (edges, edge-labels, data, steps) for the page's script, which sizes markers and
    labels to the zoom; ``fit`` holds the ranges that show the whole graph.
    """
    placed = graph_layout(spec, parameters, dataset_names)
    positions = placed.positions
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    fit = {
        "x": [min(xs) - 0.5, max(xs) + 0.5],
        "y": [min(ys) - 0.8, max(ys) + 0.6],
    }
    rows = max(ys) - min(ys) + 1
    return {
        "data": [
            _edge_trace(placed),
            _edge_label_trace(spec, placed),
            _data_trace(placed),
            _step_trace(spec, positions, statuses, step_ids, reused),
        ],
        "layout": {
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "height": int(min(620, max(260, 70 * rows + 110))),
            "xaxis": {"visible": False, "range": fit["x"]},
            "yaxis": {"visible": False, "range": fit["y"]},
            "dragmode": "pan",
            "hovermode": "closest",
            "showlegend": False,
            "uirevision": "graph",
            "font": {"family": "Segoe UI, system-ui, sans-serif", "size": 12, "color": "#323130"},
            "plot_bgcolor": "rgba(0,0,0,0)",
            "paper_bgcolor": "rgba(0,0,0,0)",
        },
        "fit": fit,
    }


def graph_legend(of_a_run: bool = True) -> list[dict[str, str]]:
    """What the graph's colours and shapes mean, for the legend above it (a published
    pipeline's graph has no statuses: steps and data only)."""
    if not of_a_run:
        return [
            {"label": "step", "shape": "square", "colour": colour(Status.NOT_STARTED)},
            {"label": "data", "shape": "circle", "colour": DATA_COLOUR},
        ]
    return [
        *({"label": str(s), "shape": "square", "colour": colour(s)} for s in STATUS_LEGEND),
        {"label": "ran", "shape": "square", "colour": "#ffffff"},
        {"label": "reused", "shape": "diamond", "colour": "#ffffff"},
        {"label": "data", "shape": "circle", "colour": DATA_COLOUR},
    ]


DATA_COLOUR = "#8764b8"
LINE = {"color": "#a19f9d", "width": 1.5}


def _edge_trace(placed: GraphLayout) -> dict:
    """Every edge as one polyline (None between edges) ending in an arrowhead.

    The arrowhead is a marker at the edge's last point turned along its last segment
    (``angleref: previous``) and moved back by ``standoff`` pixels to touch the target's
    outline; the other points have markers of size 0.
    """
    x: list[float | None] = []
    y: list[float | None] = []
    sizes: list[int] = []
    standoff: list[float] = []
    for edge in placed.edges:
        reach = (DATA_SIZE if edge.target in placed.data_nodes else STEP_SIZE) / 2 + 2
        for i, (px, py) in enumerate(edge.points):
            last = i == len(edge.points) - 1
            x.append(px)
            y.append(py)
            sizes.append(ARROW_SIZE if last else 0)
            standoff.append(reach if last else 0)
        x.append(None)
        y.append(None)
        sizes.append(0)
        standoff.append(0)
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "meta": "edges",
        "x": x,
        "y": y,
        # Many edges (a wide fan-out) are drawn lighter, so that they do not hide the nodes.
        "line": {"color": "#c8c6c4", "width": 1} if len(placed.edges) > 60 else LINE,
        "marker": {
            "symbol": "arrow",
            "angleref": "previous",
            "size": sizes,
            "standoff": standoff,
            "color": "#8a8886",
        },
        "hoverinfo": "skip",
        "showlegend": False,
    }


def _edge_label_trace(spec: GraphSpec, placed: GraphLayout) -> dict:
    """The name of the data each edge carries, midway along its longest segment."""
    names = {s.node_id: s.name for s in spec.steps} | dict(placed.data_nodes)
    labelled = [e for e in placed.edges if e.label]
    middles = [_middle_of_longest_segment(e.points) for e in labelled]
    return {
        "type": "scatter",
        "mode": "text",
        "meta": "edge-labels",
        "x": [x for x, _ in middles],
        "y": [y for _, y in middles],
        "text": [plotly_text(e.label) for e in labelled],
        "textposition": "top center",
        "textfont": {"size": 10, "color": "#605e5c"},
        "hovertext": [
            plotly_text(f"{names[e.source]} \u2192 {names[e.target]}: {e.label}") for e in labelled
        ],
        "hoverinfo": "text",
        "showlegend": False,
    }


def _middle_of_longest_segment(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    (x0, y0), (x1, y1) = max(
        pairwise(points),
        key=lambda ends: (ends[1][0] - ends[0][0]) ** 2 + (ends[1][1] - ends[0][1]) ** 2,
    )
    return (x0 + x1) / 2, (y0 + y1) / 2


def _step_trace(
    spec: GraphSpec,
    positions: Mapping[str, tuple[float, float]],
    statuses: Mapping[str, str],
    step_ids: Mapping[str, str],
    reused: frozenset[str] | set[str],
) -> dict:
    """One square (a diamond when reused) per step, coloured by its status."""
    nodes = list(spec.steps)
    status_of = [statuses.get(s.node_id, "NotStarted") for s in nodes]
    return {
        "type": "scatter",
        "mode": "markers+text",
        "meta": "steps",
        "x": [positions[s.node_id][0] for s in nodes],
        "y": [positions[s.node_id][1] for s in nodes],
        "text": [plotly_text(s.name) for s in nodes],
        "textposition": "bottom center",
        "customdata": [step_ids.get(s.node_id, "") for s in nodes],
        "hovertext": [
            plotly_text(f"{s.name}: {st}{' (reused)' if s.node_id in reused else ''}")
            for s, st in zip(nodes, status_of, strict=True)
        ],
        "hoverinfo": "text",
        "marker": {
            "size": STEP_SIZE,
            "symbol": ["diamond" if s.node_id in reused else "square" for s in nodes],
            "color": [colour(st) for st in status_of],
            "line": {"color": "#323130", "width": 1},
        },
        "showlegend": False,
    }


def _data_trace(placed: GraphLayout) -> dict:
    """One round node per dataset or data path the steps read."""
    keys = list(placed.data_nodes)
    return {
        "type": "scatter",
        "mode": "markers+text",
        "meta": "data",
        "x": [placed.positions[k][0] for k in keys],
        "y": [placed.positions[k][1] for k in keys],
        "text": [plotly_text(placed.data_nodes[k]) for k in keys],
        "textposition": "bottom center",
        "hovertext": [
            plotly_text(f"input: {k[4:] if k.startswith('ref:') else placed.data_nodes[k]}")
            for k in keys
        ],
        "hoverinfo": "text",
        "marker": {
            "size": DATA_SIZE,
            "symbol": "circle",
            "color": DATA_COLOUR,
            "line": {"color": "#323130", "width": 1},
        },
        "showlegend": False,
    }


def _data_node(
    port: InputSpec, parameters: Mapping, dataset_names: Mapping[str, str]
) -> tuple[str, str]:
    """(node key, label) of the data an input reads."""
    if port.dataset:
        return f"dataset:{port.dataset}", dataset_names.get(port.dataset, "dataset")
    if port.dataset_parameter:
        value = parameters.get(port.dataset_parameter)
        name = dataset_names.get(value["id"]) if isinstance(value, Mapping) else None
        label = f"{port.dataset_parameter}: {name}" if name else f"Dataset {port.dataset_parameter}"
        return f"param:{port.dataset_parameter}", label
    if port.parameter:
        return f"param:{port.parameter}", f"DataPath {port.parameter}"
    return f"ref:{port.datastore}/{port.path}", port.path


def metric_panels(metrics: list[dict]) -> dict:
    """Metrics of one step as charts, tables and images (plain data for the Metrics tab).

    ``metrics`` are rows with name, kind, value and (optionally) description, in logging
    order. A name logged several times with ``log`` is a series drawn as a line;
    ``log_list`` is drawn as a line too; rows and tables become tables; images are listed
    by artifact path. ``descriptions`` holds each name's last non-empty description.
    """
    series: dict[str, list] = {}
    lists: dict[str, list] = {}
    tables: dict[str, dict[str, list]] = {}
    images: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for row in metrics:
        name, kind, value = row["name"], row.get("kind", "scalar"), row["value"]
        if row.get("description"):
            descriptions[name] = row["description"]
        if kind == "scalar":
            series.setdefault(name, []).append(value)
        elif kind == "list":
            lists[name] = value
        elif kind == "row":
            table = tables.setdefault(name, {})
            for column, cell in value.items():
                table.setdefault(column, []).append(cell)
        elif kind == "table":
            tables[name] = {k: list(v) for k, v in value.items()}
        elif kind == "image":
            images[name] = value
    scalars = {n: v[0] for n, v in series.items() if len(v) == 1}
    charts = []
    for name, values in [*((n, v) for n, v in series.items() if len(v) > 1), *lists.items()]:
        numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if not numeric:
            continue
        charts.append(
            {
                "id": f"metric-chart-{len(charts)}",
                "name": name,
                "description": descriptions.get(name, ""),
                "figure": {
                    "data": [
                        {
                            "type": "scatter",
                            "mode": "lines+markers",
                            "name": plotly_text(name),
                            "y": numeric,
                            "x": list(range(len(numeric))),
                        }
                    ],
                    "layout": _metric_layout(name),
                },
            }
        )
    table_rows = {
        name: {
            "columns": list(columns),
            "rows": [list(r) for r in zip(*columns.values(), strict=False)],
            "description": descriptions.get(name, ""),
        }
        for name, columns in tables.items()
    }
    return {
        "scalars": scalars,
        "scalar_rows": [
            {"name": n, "value": v, "description": descriptions.get(n, "")}
            for n, v in scalars.items()
        ],
        "charts": charts,
        "tables": table_rows,
        "images": images,
        "descriptions": descriptions,
    }


def metric_overlay(charts: list[dict], names: list[str]) -> dict | None:
    """The chosen series of a step's charts (``metric_panels``) drawn on one chart, in the order
    of the charts; None unless two or more of the names are charts."""
    chosen = [c for c in charts if c["name"] in names]
    if len(chosen) < 2:
        return None
    title = ", ".join(c["name"] for c in chosen)
    return {
        "id": "metric-overlay",
        "name": title,
        "figure": overlay_figure(title, [(c["name"], c["figure"]["data"][0]["y"]) for c in chosen]),
    }


def _metric_layout(title: str) -> dict:
    return {
        "title": {"text": plotly_text(title), "font": {"size": 13}},
        "height": 240,
        "margin": {"l": 40, "r": 10, "t": 30, "b": 30},
        "font": {"family": "Segoe UI, system-ui, sans-serif", "size": 11, "color": "#323130"},
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {"title": {"text": "step"}},
    }


def overlay_figure(name: str, runs: list[tuple[str, list]]) -> dict:
    """One metric series of several runs on one chart (the Compare page)."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": plotly_text(label),
                "y": values,
                "x": list(range(len(values))),
            }
            for label, values in runs
        ],
        "layout": {
            **_metric_layout(name),
            "showlegend": True,
            "height": 300,
            "legend": {"orientation": "h", "y": -0.35},
        },
    }
