"""Plotly figures as plain data: the pipeline graph, laid out left to right.

Pure functions over the graph spec and step statuses; unit-tested; drawn in the
page by one small script. Every name a figure shows goes through ``plotly_text``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from studio.core.spec import GraphSpec, InputSpec, layers
from studio.core.status import colour


def plotly_text(value: object) -> str:
    """``value`` as plotly shows it literally.

    Plotly reads a subset of HTML in the text it draws (``<a href>`` becomes a live link,
    ``<b>`` bold, ``<br>`` a new line) and decodes entities: names are user data, so their
    ``&``, ``<`` and ``>`` reach it as entities and show as typed.
    """
    return html.escape(str(value), quote=False)


def graph_layout(spec: GraphSpec) -> dict[str, tuple[float, float]]:
    """(x, y) per node id: x is the layer, y spreads the steps of a layer around 0."""
    depth = layers(spec)
    by_layer: dict[int, list[str]] = {}
    for step in spec.steps:
        by_layer.setdefault(depth[step.node_id], []).append(step.node_id)
    positions = {}
    for x, nodes in by_layer.items():
        count = len(nodes)
        for i, node in enumerate(nodes):
            positions[node] = (float(x), (count - 1) / 2.0 - i)
    return positions


def pipeline_figure(
    spec: GraphSpec,
    statuses: Mapping[str, str],
    step_ids: Mapping[str, str],
    reused: frozenset[str] | set[str] = frozenset(),
    dataset_names: Mapping[str, str] | None = None,
    parameters: Mapping[str, object] | None = None,
) -> dict:
    """A plotly figure of the pipeline: edges, then one marker per step coloured by status.

    Reused steps (node ids in ``reused``) are drawn as diamonds and labelled "(reused)".
    Dataset, DataPath and DataReference inputs are drawn as their own round nodes feeding the
    steps, as Azure ML studio draws dataset nodes; ``dataset_names`` labels datasets by id, and
    a run's ``parameters`` say which dataset a dataset parameter names.
    """
    positions = graph_layout(spec)
    edge_x, edge_y, data_nodes = _edges(spec, positions, parameters or {}, dataset_names or {})
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": edge_x,
                "y": edge_y,
                "line": {"color": "#a19f9d", "width": 2},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            _step_trace(spec, positions, statuses, step_ids, reused),
            _data_trace(data_nodes),
        ],
        "layout": _pipeline_layout(positions, bool(data_nodes)),
    }


def _edges(
    spec: GraphSpec,
    positions: Mapping[str, tuple[float, float]],
    parameters: Mapping,
    dataset_names: Mapping[str, str],
) -> tuple[list[float | None], list[float | None], dict[str, tuple[float, float, str]]]:
    """The edges as plotly line coordinates (None between segments), and the data nodes.

    Step-to-step edges come first, then one edge from each data node to each step reading it;
    a data node (x, y, label) sits up and to the left of the first step that reads it.
    """
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for step in spec.steps:
        x1, y1 = positions[step.node_id]
        for up in sorted(step.upstream()):
            if up in positions:
                x0, y0 = positions[up]
                edge_x += [x0, x1, None]
                edge_y += [y0, y1, None]
    data_nodes: dict[str, tuple[float, float, str]] = {}
    for step in spec.steps:
        x1, y1 = positions[step.node_id]
        for port in step.inputs:
            if port.is_step_output:
                continue
            key, label = _data_node(port, parameters, dataset_names)
            if key not in data_nodes:
                data_nodes[key] = (x1 - 0.5, y1 + 0.35, label)
            x0, y0, _ = data_nodes[key]
            edge_x += [x0, x1, None]
            edge_y += [y0, y1, None]
    return edge_x, edge_y, data_nodes


def _step_trace(
    spec: GraphSpec,
    positions: Mapping[str, tuple[float, float]],
    statuses: Mapping[str, str],
    step_ids: Mapping[str, str],
    reused: frozenset[str] | set[str],
) -> dict:
    """One square (a diamond when reused) per step, coloured by its status."""
    nodes = [s for s in spec.steps]
    status_of = [statuses.get(s.node_id, "NotStarted") for s in nodes]
    return {
        "type": "scatter",
        "mode": "markers+text",
        "x": [positions[s.node_id][0] for s in nodes],
        "y": [positions[s.node_id][1] for s in nodes],
        "text": [
            plotly_text(f"{s.name} (reused)" if s.node_id in reused else s.name) for s in nodes
        ],
        "textposition": "bottom center",
        "customdata": [step_ids.get(s.node_id, "") for s in nodes],
        "hovertext": [
            plotly_text(f"{s.name}: {st}{' (reused)' if s.node_id in reused else ''}")
            for s, st in zip(nodes, status_of, strict=True)
        ],
        "hoverinfo": "text",
        "marker": {
            "size": 26,
            "symbol": ["diamond" if s.node_id in reused else "square" for s in nodes],
            "color": [colour(st) for st in status_of],
            "line": {"color": "#323130", "width": 1},
        },
        "showlegend": False,
        "cliponaxis": False,
    }


def _data_trace(data_nodes: Mapping[str, tuple[float, float, str]]) -> dict:
    """One round node per dataset or data path the steps read."""
    return {
        "type": "scatter",
        "mode": "markers+text",
        "x": [x for x, _, _ in data_nodes.values()],
        "y": [y for _, y, _ in data_nodes.values()],
        "text": [plotly_text(label) for _, _, label in data_nodes.values()],
        "textposition": "top center",
        "hovertext": [plotly_text(f"input: {label}") for _, _, label in data_nodes.values()],
        "hoverinfo": "text",
        "marker": {
            "size": 18,
            "symbol": "circle",
            "color": "#8764b8",
            "line": {"color": "#323130", "width": 1},
        },
        "showlegend": False,
        "cliponaxis": False,
    }


def _pipeline_layout(positions: Mapping[str, tuple[float, float]], has_data_nodes: bool) -> dict:
    """Axes sized to the graph (with room on the left for data nodes), no grid, pan to move."""
    width = max((p[0] for p in positions.values()), default=0)
    height = max((abs(p[1]) for p in positions.values()), default=0)
    return {
        "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        "height": int(min(700, max(220, 90 * (2 * height + 1) + 60))),
        "xaxis": {"visible": False, "range": [-1.0 if has_data_nodes else -0.8, width + 0.8]},
        "yaxis": {"visible": False, "range": [-height - 0.8, height + 0.6]},
        "dragmode": "pan",
        "font": {"family": "Segoe UI, system-ui, sans-serif", "size": 12, "color": "#323130"},
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
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
    where = f"{port.datastore}/{port.path}"
    return f"ref:{where}", where


def metric_panels(metrics: list[dict]) -> dict:
    """Metrics of one step as charts, tables and images (plain data for the Metrics tab).

    ``metrics`` are rows with name, kind and value, in logging order. A name logged
    several times with ``log`` is a series drawn as a line; ``log_list`` is drawn as
    a line too; rows and tables become tables; images are listed by artifact path.
    """
    series: dict[str, list] = {}
    lists: dict[str, list] = {}
    tables: dict[str, dict[str, list]] = {}
    images: dict[str, str] = {}
    for row in metrics:
        name, kind, value = row["name"], row.get("kind", "scalar"), row["value"]
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
        }
        for name, columns in tables.items()
    }
    return {"scalars": scalars, "charts": charts, "tables": table_rows, "images": images}


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
