"""The pipeline graph as a plotly figure: layers left to right with few crossings, arrows and
named edges, colours by status; and the metric charts."""

from __future__ import annotations

import json
import time

from runs.charts import (
    graph_layout,
    graph_legend,
    metric_overlay,
    metric_panels,
    overlay_figure,
    pipeline_figure,
)
from studio.core.spec import GraphSpec, layers
from studio.core.status import colour


def _spec() -> GraphSpec:
    def step(node_id, inputs=(), outputs=(), run_after=()):
        return {
            "node_id": node_id,
            "name": f"step {node_id}",
            "script_name": "s.py",
            "snapshot": "a" * 64,
            "inputs": [{"name": i, "source_step": i, "source_output": i} for i in inputs],
            "outputs": [{"name": o} for o in outputs],
            "run_after": list(run_after),
        }

    return GraphSpec.from_dict(
        {
            "steps": [
                step("prep", outputs=["prep"]),
                step("left", inputs=["prep"], outputs=["left"]),
                step("right", inputs=["prep"], outputs=["right"]),
                step("join", inputs=["left", "right"]),
                step("report", run_after=["join"]),
            ]
        }
    )


def _step(node_id, inputs=(), run_after=(), outputs=None, data=()):
    return {
        "node_id": node_id,
        "name": f"step {node_id}",
        "script_name": "s.py",
        "snapshot": "a" * 64,
        "inputs": [{"name": i, "source_step": i, "source_output": i} for i in inputs] + list(data),
        "outputs": [{"name": node_id}] if outputs is None else outputs,
        "run_after": list(run_after),
    }


def _crossed() -> GraphSpec:
    """Two branches whose ends are listed the other way round: a layering that keeps the
    listed order draws a→d and b→c across each other."""
    return GraphSpec.from_dict(
        {
            "steps": [
                _step("root"),
                _step("a", ["root"]),
                _step("b", ["root"]),
                _step("c", ["b"]),
                _step("d", ["a"]),
                _step("e", ["b"]),
                _step("f", ["a"]),
            ]
        }
    )


def _listed_order_layout(spec: GraphSpec) -> dict[str, tuple[float, float]]:
    """The layering Studio drew before: each layer in listed order, no crossing reduction."""
    depth = layers(spec)
    by_layer: dict[int, list[str]] = {}
    for step in spec.steps:
        by_layer.setdefault(depth[step.node_id], []).append(step.node_id)
    return {
        node: (float(x), (len(nodes) - 1) / 2.0 - i)
        for x, nodes in by_layer.items()
        for i, node in enumerate(nodes)
    }


def _segments(polylines):
    return [
        (line, line_[i], line_[i + 1])
        for line, line_ in enumerate(polylines)
        for i in range(len(line_) - 1)
    ]


def _crossings(polylines) -> int:
    """Pairs of segments of different edges that cross (touching at an end is no crossing)."""

    def side(p, q, r):
        value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (value > 1e-9) - (value < -1e-9)

    segments = _segments(polylines)
    count = 0
    for i, (line1, p1, p2) in enumerate(segments):
        for line2, q1, q2 in segments[i + 1 :]:
            if line1 == line2 or {p1, p2} & {q1, q2}:
                continue
            if side(p1, p2, q1) * side(p1, p2, q2) < 0 and side(q1, q2, p1) * side(q1, q2, p2) < 0:
                count += 1
    return count


def test_graph_layout_puts_each_layer_one_column_to_the_right():
    positions = graph_layout(_spec()).positions
    assert {node: x for node, (x, _) in positions.items()} == {
        "prep": 0.0,
        "left": 1.0,
        "right": 1.0,
        "join": 2.0,
        "report": 3.0,
    }


def test_the_layout_crosses_fewer_edges_than_the_listed_order_did():
    spec = _crossed()
    old = _listed_order_layout(spec)
    old_lines = [(old[up], old[s.node_id]) for s in spec.steps for up in sorted(s.upstream())]
    new_lines = [edge.points for edge in graph_layout(spec).edges]
    assert _crossings(old_lines) > 0
    assert _crossings(new_lines) < _crossings(old_lines)
    assert _crossings(new_lines) == 0


def test_every_edge_points_left_to_right_and_no_two_nodes_overlap():
    spec = GraphSpec.from_dict(
        {
            "steps": [
                _step("n0"),
                *(_step(f"n{i}", [f"n{i // 2}"], run_after=[f"n{i - 1}"]) for i in range(1, 40)),
                _step("late", ["n0", "n39"]),
            ]
        }
    )
    placed = graph_layout(spec)
    assert len(placed.edges) == sum(len(s.upstream()) for s in spec.steps)
    for edge in placed.edges:
        xs = [x for x, _ in edge.points]
        assert xs == sorted(xs) and len(set(xs)) == len(xs), edge
        assert edge.points[0] == placed.positions[edge.source]
        assert edge.points[-1] == placed.positions[edge.target]
    spots = list(placed.positions.values())
    for i, (x1, y1) in enumerate(spots):
        for x2, y2 in spots[i + 1 :]:
            assert x1 != x2 or abs(y1 - y2) >= 1.0


def test_a_long_edge_bends_around_the_nodes_between_its_ends():
    spec = GraphSpec.from_dict(
        {"steps": [_step("a"), _step("b", ["a"]), _step("c", ["b"]), _step("d", ["c", "a"])]}
    )
    placed = graph_layout(spec)
    long = next(e for e in placed.edges if (e.source, e.target) == ("a", "d"))
    assert [x for x, _ in long.points] == [0.0, 1.0, 2.0, 3.0]
    assert not set(long.points[1:-1]) & set(placed.positions.values())


def test_data_nodes_sit_one_layer_before_the_first_step_that_reads_them():
    raw = {"name": "raw", "datastore": "workspaceblobstore", "path": "demo/raw"}
    spec = GraphSpec.from_dict(
        {
            "steps": [
                _step("prep", data=[raw]),
                _step("train", ["prep"]),
                _step("score", ["train"], data=[{"name": "holdout", "dataset": "d1"}]),
            ]
        }
    )
    placed = graph_layout(spec, {}, {"d1": "holdout:3"})
    assert placed.data_nodes == {
        "ref:workspaceblobstore/demo/raw": "demo/raw",
        "dataset:d1": "holdout:3",
    }
    assert placed.positions["ref:workspaceblobstore/demo/raw"][0] == 0.0
    assert placed.positions["prep"][0] == 1.0
    assert placed.positions["dataset:d1"][0] == placed.positions["score"][0] - 1 == 2.0
    reads = {(e.source, e.target): e.label for e in placed.edges}
    assert reads[("dataset:d1", "score")] == "holdout"
    assert reads[("ref:workspaceblobstore/demo/raw", "prep")] == "raw"


def test_edges_are_named_by_the_output_and_the_input_they_join():
    spec = GraphSpec.from_dict(
        {
            "steps": [
                _step("prep", outputs=[{"name": "clean"}, {"name": "stats"}]),
                {
                    **_step("train"),
                    "inputs": [
                        {"name": "clean", "source_step": "prep", "source_output": "clean"},
                        {"name": "summary", "source_step": "prep", "source_output": "stats"},
                    ],
                },
                _step("report", run_after=["train"]),
            ]
        }
    )
    labels = {(e.source, e.target): e.label for e in graph_layout(spec).edges}
    # Two outputs into one step make one edge; a run_after edge carries no data.
    assert labels == {("prep", "train"): "clean, stats \u2192 summary", ("train", "report"): ""}


def test_a_300_step_fan_out_is_laid_out_quickly_and_the_same_each_time():
    spec = GraphSpec.from_dict(
        {
            "steps": [
                _step("split"),
                *(_step(f"s{i}", ["split"]) for i in range(298)),
                _step("merge", run_after=[f"s{i}" for i in range(298)]),
            ]
        }
    )
    started = time.perf_counter()
    figure = pipeline_figure(spec, {}, {})
    assert time.perf_counter() - started < 2.0
    assert figure == pipeline_figure(spec, {}, {})
    steps = _trace(figure, "steps")
    assert len(set(zip(steps["x"], steps["y"], strict=True))) == 300


def _trace(figure: dict, meta: str) -> dict:
    return next(t for t in figure["data"] if t["meta"] == meta)


def test_pipeline_figure_colours_each_step_by_its_status_and_shapes_reuse():
    statuses = {"prep": "Completed", "left": "Failed", "right": "Running", "join": "Canceled"}
    figure = pipeline_figure(_spec(), statuses, {"prep": "id-prep"}, reused={"prep"})
    nodes = _trace(figure, "steps")
    assert figure["data"][-1] is nodes  # drawn last: on top of the edges
    assert nodes["text"] == ["step prep", "step left", "step right", "step join", "step report"]
    assert nodes["marker"]["color"] == [
        colour("Completed"),
        colour("Failed"),
        colour("Running"),
        colour("Canceled"),
        colour("NotStarted"),
    ]
    assert len(set(nodes["marker"]["color"][:4])) == 4
    assert nodes["marker"]["symbol"] == ["diamond", "square", "square", "square", "square"]
    assert nodes["hovertext"][:2] == ["step prep: Completed (reused)", "step left: Failed"]
    assert nodes["customdata"] == ["id-prep", "", "", "", ""]
    assert nodes["x"] == [0.0, 1.0, 1.0, 2.0, 3.0]


def test_every_edge_ends_in_an_arrowhead_at_its_target():
    figure = pipeline_figure(_spec(), {}, {})
    edges = _trace(figure, "edges")
    assert edges["marker"]["symbol"] == "arrow"
    assert edges["marker"]["angleref"] == "previous"  # turned along the edge's last segment
    heads = [i for i, size in enumerate(edges["marker"]["size"]) if size]
    assert len(heads) == 5 == edges["x"].count(None)
    for i in heads:
        assert edges["x"][i + 1] is None  # the last point of an edge
        assert edges["marker"]["standoff"][i] > 0  # stops at the target's outline


def test_edge_labels_sit_on_the_edges_they_name():
    figure = pipeline_figure(_spec(), {}, {})
    labels = _trace(figure, "edge-labels")
    assert sorted(labels["text"]) == ["left", "prep", "prep", "right"]  # run_after: no label
    assert "step prep \u2192 step left: prep" in labels["hovertext"]
    assert all(0 < x < 3 for x in labels["x"])


def test_the_legend_gives_the_status_colours_and_the_shapes():
    legend = {item["label"]: item for item in graph_legend()}
    assert legend["Completed"]["colour"] == colour("Completed")
    assert legend["Failed"]["colour"] == colour("Failed")
    assert legend["reused"]["shape"] == "diamond"
    assert legend["data"]["shape"] == "circle"
    assert "Completed" not in {i["label"] for i in graph_legend(of_a_run=False)}


def test_pipeline_figure_is_plain_json_sized_to_the_graph():
    figure = pipeline_figure(_spec(), {}, {})
    assert json.loads(json.dumps(figure)) == figure
    low, high = figure["layout"]["xaxis"]["range"]
    assert -1 < low < 0 and 3 < high < 4  # every layer visible, first and last with a margin
    assert figure["fit"]["x"] == [low, high]
    assert 260 <= figure["layout"]["height"] <= 620
    assert figure["layout"]["uirevision"]  # a live redraw keeps the user's zoom


def test_names_reach_plotly_as_text_not_markup():
    name = '<a href="https://example.com">x</a> & <br>'
    spec = GraphSpec.from_dict(
        {"steps": [{"node_id": "a", "name": name, "script_name": "s.py", "snapshot": "a" * 64}]}
    )
    figure = pipeline_figure(spec, {"a": "Completed"}, {"a": "id-a"})
    escaped = '&lt;a href="https://example.com"&gt;x&lt;/a&gt; &amp; &lt;br&gt;'
    assert _trace(figure, "steps")["text"] == [escaped]
    assert _trace(figure, "steps")["hovertext"] == [f"{escaped}: Completed"]
    chart = metric_panels([{"name": name, "value": v} for v in (1.0, 2.0)])["charts"][0]
    assert chart["name"] == name  # the page escapes it itself
    assert chart["figure"]["data"][0]["name"] == escaped
    assert chart["figure"]["layout"]["title"]["text"] == escaped
    overlay = overlay_figure(name, [(name, [1.0, 2.0])])
    assert overlay["data"][0]["name"] == escaped
    assert overlay["layout"]["title"]["text"] == escaped


def test_metric_panels_keep_each_names_last_description():
    rows = [
        {"name": "loss", "value": 0.5, "description": "training loss"},
        {"name": "loss", "value": 0.25, "description": ""},
        {"name": "lr", "value": 0.01, "description": "learning rate"},
        {"name": "cm", "kind": "table", "value": {"a": [1]}, "description": "confusion"},
        {"name": "seen", "value": 3},
    ]
    panels = metric_panels(rows)
    assert panels["descriptions"] == {
        "loss": "training loss",
        "lr": "learning rate",
        "cm": "confusion",
    }
    assert panels["charts"][0]["description"] == "training loss"
    assert panels["tables"]["cm"]["description"] == "confusion"
    assert panels["scalar_rows"] == [
        {"name": "lr", "value": 0.01, "description": "learning rate"},
        {"name": "seen", "value": 3, "description": ""},
    ]


def test_an_overlay_draws_the_chosen_series_on_one_chart():
    rows = [{"name": n, "value": v} for v in (1.0, 0.5, 0.25) for n in ("loss", "val_loss", "acc")]
    charts = metric_panels(rows)["charts"]
    overlay = metric_overlay(charts, ["val_loss", "loss"])
    assert overlay is not None and overlay["id"] == "metric-overlay"
    assert [t["name"] for t in overlay["figure"]["data"]] == ["loss", "val_loss"]
    assert overlay["figure"]["data"][1]["y"] == [1.0, 0.5, 0.25]
    assert overlay["figure"]["layout"]["showlegend"] is True
    assert metric_overlay(charts, ["loss"]) is None
    assert metric_overlay(charts, ["loss", "nothing"]) is None
