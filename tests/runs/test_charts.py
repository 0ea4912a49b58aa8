"""The pipeline graph as a plotly figure: layers left to right, colours by status."""

from __future__ import annotations

import json

from runs.charts import graph_layout, metric_panels, overlay_figure, pipeline_figure
from studio.core.spec import GraphSpec
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


def test_graph_layout_puts_each_layer_one_column_to_the_right():
    positions = graph_layout(_spec())
    assert {node: x for node, (x, _) in positions.items()} == {
        "prep": 0.0,
        "left": 1.0,
        "right": 1.0,
        "join": 2.0,
        "report": 3.0,
    }


def test_graph_layout_spreads_a_layer_around_zero_in_step_order():
    positions = graph_layout(_spec())
    assert positions["left"][1] == 0.5
    assert positions["right"][1] == -0.5
    assert positions["prep"][1] == positions["join"][1] == 0.0


def test_pipeline_figure_colours_each_step_by_its_status():
    statuses = {"prep": "Completed", "left": "Failed", "right": "Running", "join": "Canceled"}
    figure = pipeline_figure(_spec(), statuses, {"prep": "id-prep"})
    nodes = figure["data"][1]
    assert nodes["text"] == ["step prep", "step left", "step right", "step join", "step report"]
    assert nodes["marker"]["color"] == [
        colour("Completed"),
        colour("Failed"),
        colour("Running"),
        colour("Canceled"),
        colour("NotStarted"),
    ]
    assert len(set(nodes["marker"]["color"][:4])) == 4
    assert nodes["hovertext"][1] == "step left: Failed"
    assert nodes["customdata"] == ["id-prep", "", "", "", ""]
    assert nodes["x"] == [0.0, 1.0, 1.0, 2.0, 3.0]


def test_pipeline_figure_draws_one_edge_per_dependency_from_left_to_right():
    edges = pipeline_figure(_spec(), {}, {})["data"][0]
    segments = [tuple(edges["x"][i : i + 2]) for i in range(0, len(edges["x"]), 3)]
    assert edges["x"][2::3] == [None] * 5
    assert sorted(segments) == [(0.0, 1.0), (0.0, 1.0), (1.0, 2.0), (1.0, 2.0), (2.0, 3.0)]


def test_pipeline_figure_is_plain_json_sized_to_the_graph():
    figure = pipeline_figure(_spec(), {}, {})
    assert json.loads(json.dumps(figure)) == figure
    low, high = figure["layout"]["xaxis"]["range"]
    assert -1 < low < 0 and 3 < high < 4  # every layer visible, first and last with a margin
    assert 220 <= figure["layout"]["height"] <= 700


def test_names_reach_plotly_as_text_not_markup():
    name = '<a href="https://example.com">x</a> & <br>'
    spec = GraphSpec.from_dict(
        {"steps": [{"node_id": "a", "name": name, "script_name": "s.py", "snapshot": "a" * 64}]}
    )
    figure = pipeline_figure(spec, {"a": "Completed"}, {"a": "id-a"})
    escaped = '&lt;a href="https://example.com"&gt;x&lt;/a&gt; &amp; &lt;br&gt;'
    assert figure["data"][1]["text"] == [escaped]
    assert figure["data"][1]["hovertext"] == [f"{escaped}: Completed"]
    chart = metric_panels([{"name": name, "value": v} for v in (1.0, 2.0)])["charts"][0]
    assert chart["name"] == name  # the page escapes it itself
    assert chart["figure"]["data"][0]["name"] == escaped
    assert chart["figure"]["layout"]["title"]["text"] == escaped
    overlay = overlay_figure(name, [(name, [1.0, 2.0])])
    assert overlay["data"][0]["name"] == escaped
    assert overlay["layout"]["title"]["text"] == escaped
