"""The graph spec: parsing untrusted JSON and every reason a graph cannot run."""

from __future__ import annotations

import copy
import re

import pytest

from studio.core.errors import StudioError
from studio.core.spec import GraphSpec, layers, topological_order
from studio.core.validation import validate_graph

DIGEST = "a" * 64
OTHER_DIGEST = "b" * 64


def _step(node_id: str, name: str | None = None, **extra) -> dict:
    data = {
        "node_id": node_id,
        "name": name or node_id,
        "script_name": "train.py",
        "snapshot": DIGEST,
    }
    data.update(extra)
    return data


def _input(name: str, source_step: str, source_output: str) -> dict:
    return {"name": name, "source_step": source_step, "source_output": source_output}


def _graph(*steps: dict, parameters: list | None = None) -> dict:
    return {"description": "a pipeline", "parameters": parameters or [], "steps": list(steps)}


def _messages(spec: GraphSpec, **kwargs) -> list[str]:
    return [e.message for e in validate_graph(spec, **kwargs)]


def _chain() -> dict:
    return _graph(
        _step("prep", outputs=[{"name": "prepared"}]),
        _step(
            "train",
            inputs=[_input("prepared", "prep", "prepared")],
            outputs=[{"name": "model", "kind": "PipelineData", "mode": "upload"}],
            arguments=[
                {"kind": "literal", "value": "--data"},
                {"kind": "input", "value": "prepared"},
                {"kind": "output", "value": "model"},
                {"kind": "parameter", "value": "rate"},
            ],
            params={"rate": {"kind": "parameter", "value": "rate"}},
            compute_target="cpu",
            version="2",
            allow_reuse=False,
        ),
        parameters=[{"name": "rate", "type": "float", "default": 0.1}],
    )


# --- from_dict ---------------------------------------------------------------------------


BAD_SHAPES = [
    (lambda g: "not a graph", "graph"),
    (lambda g: {**g, "steps": "prep"}, "graph.steps"),
    (lambda g: {**g, "steps": []}, "graph.steps"),
    (lambda g: {**g, "description": 5}, "graph.description"),
    (lambda g: {**g, "parameters": {"rate": 1}}, "graph.parameters"),
    (
        lambda g: {**g, "parameters": [{"name": "rate", "type": "float", "default": "0.1"}]},
        "graph.parameters[0].default",
    ),
    (
        lambda g: {**g, "parameters": [{"name": "rate", "type": "complex", "default": 1}]},
        "graph.parameters[0].type",
    ),
    (
        lambda g: {**g, "parameters": [{"name": "bad name", "type": "int", "default": 1}]},
        "graph.parameters[0].name",
    ),
    (
        lambda g: {**g, "parameters": [{"name": "flag", "type": "int", "default": True}]},
        "graph.parameters[0].default",
    ),
    (lambda g: {**g, "steps": [g["steps"][0], "train"]}, "graph.steps[1]"),
    (lambda g: _without(g, 1, "node_id"), "graph.steps[1].node_id"),
    (lambda g: _with(g, 1, node_id="has space"), "graph.steps[1].node_id"),
    (lambda g: _with(g, 1, name=7), "graph.steps[1].name"),
    (lambda g: _without(g, 0, "script_name"), "graph.steps[0].script_name"),
    (lambda g: _with(g, 0, snapshot="abc"), "graph.steps[0].snapshot"),
    (lambda g: _with(g, 1, arguments="--data"), "graph.steps[1].arguments"),
    (
        lambda g: _with(g, 1, arguments=[{"kind": "env", "value": "x"}]),
        "graph.steps[1].arguments[0].kind",
    ),
    (
        lambda g: _with(g, 1, arguments=[{"kind": "literal", "value": 3}]),
        "graph.steps[1].arguments[0].value",
    ),
    (lambda g: _with(g, 1, inputs={"prepared": "prep"}), "graph.steps[1].inputs"),
    (
        lambda g: _with(g, 1, inputs=[{"name": "prepared", "source_step": "prep"}]),
        "graph.steps[1].inputs[0].source_output",
    ),
    (
        lambda g: _with(g, 1, inputs=[{**_input("p", "prep", "prepared"), "mode": "copy"}]),
        "graph.steps[1].inputs[0].mode",
    ),
    (
        lambda g: _with(g, 0, outputs=[{"name": "prepared", "kind": "Dataset"}]),
        "graph.steps[0].outputs[0].kind",
    ),
    (
        lambda g: _with(g, 0, outputs=[{"name": "prepared", "mode": "download"}]),
        "graph.steps[0].outputs[0].mode",
    ),
    (lambda g: _with(g, 1, params=["rate"]), "graph.steps[1].params"),
    (lambda g: _with(g, 1, params={"rate": 0.1}), "graph.steps[1].params.rate"),
    (lambda g: _with(g, 1, allow_reuse="yes"), "graph.steps[1].allow_reuse"),
    (lambda g: _with(g, 1, run_after="prep"), "graph.steps[1].run_after"),
    (lambda g: _with(g, 1, run_after=[1]), "graph.steps[1].run_after[0]"),
    (lambda g: _with(g, 1, compute_target="x" * 300), "graph.steps[1].compute_target"),
    (lambda g: _with(g, 1, script_name="train\x00.py"), "graph.steps[1].script_name"),
]


def _with(graph: dict, index: int, **changes) -> dict:
    graph = copy.deepcopy(graph)
    graph["steps"][index].update(changes)
    return graph


def _without(graph: dict, index: int, key: str) -> dict:
    graph = copy.deepcopy(graph)
    del graph["steps"][index][key]
    return graph


@pytest.mark.parametrize(("mutate", "field"), BAD_SHAPES)
def test_it_refuses_a_bad_shape_naming_the_field(mutate, field):
    with pytest.raises(StudioError) as caught:
        GraphSpec.from_dict(mutate(_chain()))
    assert caught.value.field == field
    assert str(caught.value) == caught.value.message


def test_it_says_a_pipeline_needs_a_step():
    with pytest.raises(StudioError, match=re.escape("A pipeline needs at least one step.")):
        GraphSpec.from_dict({"steps": []})


def test_it_accepts_a_well_formed_graph_with_defaults_filled_in():
    spec = GraphSpec.from_dict({"steps": [_step("only")]})
    only = spec.steps[0]
    assert (only.allow_reuse, only.compute_target, only.arguments, only.run_after) == (
        True,
        None,
        (),
        (),
    )
    assert spec.parameters == ()
    assert validate_graph(spec) == []


def test_it_accepts_an_int_default_for_a_float_parameter():
    spec = GraphSpec.from_dict(
        _graph(_step("a"), parameters=[{"name": "rate", "type": "float", "default": 1}])
    )
    assert spec.parameter("rate").default == 1
    assert spec.parameter("missing") is None


def test_it_round_trips_through_to_dict():
    spec = GraphSpec.from_dict(_chain())
    again = GraphSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.to_dict() == spec.to_dict()
    train = again.step("train")
    assert train.params[0][0] == "rate"
    assert train.outputs[0].kind == "PipelineData"
    assert train.outputs[0].mode == "upload"
    assert (train.allow_reuse, train.version, train.compute_target) == (False, "2", "cpu")


def test_a_valid_chain_has_no_errors():
    assert _messages(GraphSpec.from_dict(_chain())) == []


# --- validate_graph -----------------------------------------------------------------------


def test_it_reports_a_cycle_naming_a_node_on_it():
    graph = _graph(
        _step("a", name="first", inputs=[_input("y", "b", "y")], outputs=[{"name": "x"}]),
        _step("b", name="second", inputs=[_input("x", "a", "x")], outputs=[{"name": "y"}]),
        _step("c", name="third"),
    )
    messages = _messages(GraphSpec.from_dict(graph))
    cycles = [m for m in messages if m.startswith("Cycle detected")]
    assert cycles in (
        ["Cycle detected including node first(a)"],
        ["Cycle detected including node second(b)"],
    )


def test_it_reports_a_step_that_runs_after_itself_as_a_cycle():
    spec = GraphSpec.from_dict(_graph(_step("a", name="loop", run_after=["a"])))
    assert "Cycle detected including node loop(a)" in _messages(spec)


def test_it_reports_an_input_not_connected_to_a_previous_step():
    graph = _graph(
        _step("a", outputs=[{"name": "x"}]),
        _step(
            "b",
            name="train",
            inputs=[_input("data", "a", "missing"), _input("other", "ghost", "x")],
        ),
    )
    messages = _messages(GraphSpec.from_dict(graph))
    assert "Input data on step train is not connected to any previous step." in messages
    assert "Input other on step train is not connected to any previous step." in messages


def test_it_reports_an_output_produced_by_two_steps():
    graph = _graph(
        _step("a", name="prep", outputs=[{"name": "x"}]),
        _step("b", name="clean", outputs=[{"name": "x"}]),
    )
    assert _messages(GraphSpec.from_dict(graph)) == [
        "Step output x can not be used as an output for step clean, as it is already an output of step prep."
    ]


def test_it_reports_arguments_naming_unlisted_inputs_outputs_and_parameters():
    graph = _graph(
        _step(
            "a",
            name="train",
            arguments=[{"kind": "input", "value": "data"}, {"kind": "output", "value": "model"}],
            params={"lr": {"kind": "parameter", "value": "rate"}},
        )
    )
    assert _messages(GraphSpec.from_dict(graph)) == [
        "Input data appears in arguments list but is not in the input list",
        "Output model appears in arguments list but is not in the output list",
        "Pipeline parameter rate used by step train is not defined.",
    ]


def test_it_reports_an_unknown_compute_target_only_when_targets_are_given():
    spec = GraphSpec.from_dict(
        _graph(_step("a", name="train", compute_target="gpu"), _step("b", compute_target="local"))
    )
    assert _messages(spec) == []
    errors = validate_graph(spec, compute_targets=["local"])
    assert [(e.field, e.message) for e in errors] == [
        ("graph.steps[0].compute_target", "Step [train]: compute target gpu does not exist.")
    ]


def test_it_reports_a_script_missing_from_the_snapshot_only_when_files_are_given():
    spec = GraphSpec.from_dict(_graph(_step("a", name="train", script_name="src/train.py")))
    assert _messages(spec) == []
    errors = validate_graph(spec, snapshot_files={DIGEST: ["src/other.py", "train.py"]})
    assert [e.field for e in errors] == ["graph.steps[0].script_name"]
    assert errors[0].message.startswith("Step [train]: script not found at: src/train.py.")
    assert validate_graph(spec, snapshot_files={DIGEST: ["src/train.py"]}) == []


def test_it_reports_a_snapshot_that_was_not_uploaded():
    spec = GraphSpec.from_dict(_graph(_step("a", name="train")))
    errors = validate_graph(spec, snapshot_files={OTHER_DIGEST: ["train.py"]})
    assert [(e.field, e.message) for e in errors] == [
        ("graph.steps[0].snapshot", f"Step [train]: snapshot {DIGEST} has not been uploaded.")
    ]


@pytest.mark.parametrize(
    "script", ["../train.py", "/etc/train.py", "src/../../train.py", "..\\train.py", " "]
)
def test_it_reports_a_script_outside_the_source_directory(script):
    spec = GraphSpec.from_dict(_graph(_step("a", name="train", script_name=script)))
    errors = validate_graph(spec)
    assert [e.field for e in errors] == ["graph.steps[0].script_name"]
    assert "script_name must be a path inside source_directory" in errors[0].message


@pytest.mark.parametrize("port", ["1st", "has-dash", "has space", ""])
def test_it_reports_a_bad_port_name(port):
    graph = _graph(
        _step("a", outputs=[{"name": "ok"}]), _step("b", inputs=[_input(port, "a", "ok")])
    )
    messages = _messages(GraphSpec.from_dict(graph))
    assert (
        f"[{port}] is not a valid input name as it may contain only letters, digits, and underscores."
        in messages
    )


def test_it_reports_a_bad_output_name():
    spec = GraphSpec.from_dict(_graph(_step("a", outputs=[{"name": "my-output"}])))
    assert any(m.startswith("[my-output] is not a valid") for m in _messages(spec))


def test_it_reports_repeated_input_port_names():
    graph = _graph(
        _step("a", outputs=[{"name": "x"}, {"name": "y"}]),
        _step("b", inputs=[_input("data", "a", "x"), _input("data", "a", "y")]),
    )
    assert "[data] is repeated. Input port names must be unique." in _messages(
        GraphSpec.from_dict(graph)
    )


def test_it_reports_a_node_id_used_twice_and_an_unknown_run_after():
    graph = _graph(_step("a", name="one"), _step("a", name="two", run_after=["nowhere"]))
    messages = _messages(GraphSpec.from_dict(graph))
    assert "Node id a is used by two steps." in messages
    assert "Step two runs after an unknown step nowhere." in messages


def test_it_reports_a_pipeline_parameter_declared_twice():
    graph = _graph(
        _step("a"),
        parameters=[
            {"name": "rate", "type": "float", "default": 0.1},
            {"name": "rate", "type": "int", "default": 3},
        ],
    )
    try:
        messages = _messages(GraphSpec.from_dict(graph))
    except StudioError as exc:
        messages = [exc.message]
    assert any("rate" in m for m in messages)


# --- order --------------------------------------------------------------------------------


def _diamond() -> GraphSpec:
    return GraphSpec.from_dict(
        _graph(
            _step("join", inputs=[_input("l", "left", "l"), _input("r", "right", "r")]),
            _step("right", inputs=[_input("s", "start", "s")], outputs=[{"name": "r"}]),
            _step("left", inputs=[_input("s", "start", "s")], outputs=[{"name": "l"}]),
            _step("start", outputs=[{"name": "s"}]),
            _step("lone"),
            _step("after", run_after=["join"]),
        )
    )


def test_topological_order_puts_every_step_after_its_upstream_keeping_input_order():
    assert topological_order(_diamond()) == ["start", "lone", "right", "left", "join", "after"]


def test_layers_give_each_step_one_more_than_its_deepest_upstream():
    assert layers(_diamond()) == {
        "start": 0,
        "lone": 0,
        "right": 1,
        "left": 1,
        "join": 2,
        "after": 3,
    }


def test_topological_order_refuses_a_cycle():
    spec = GraphSpec.from_dict(_graph(_step("a", run_after=["b"]), _step("b", run_after=["a"])))
    with pytest.raises(StudioError, match="cycle"):
        topological_order(spec)


def test_upstream_joins_inputs_and_run_after():
    assert _diamond().upstream()["join"] == {"left", "right"}
    assert _diamond().upstream()["after"] == {"join"}


def _graph_with_input(port: dict, parameters=()) -> dict:
    return {
        "parameters": list(parameters),
        "steps": [
            {
                "node_id": "a",
                "name": "a",
                "script_name": "a.py",
                "snapshot": "a" * 64,
                "inputs": [port],
            }
        ],
    }


def test_an_input_names_one_source_only():
    from studio.core.spec import StudioError

    with pytest.raises(StudioError, match="names more than one source: dataset, datastore"):
        GraphSpec.from_dict(
            _graph_with_input({"name": "x", "dataset": "d", "datastore": "s", "path": "p"})
        )
    with pytest.raises(StudioError, match="names a path but no datastore"):
        GraphSpec.from_dict(_graph_with_input({"name": "x", "path": "p"}))


def test_a_data_reference_and_a_dataset_parameter_are_inputs_that_no_step_produces():
    reference = GraphSpec.from_dict(
        _graph_with_input({"name": "ref", "datastore": "workspaceblobstore", "path": "t/a.csv"})
    )
    port = reference.steps[0].inputs[0]
    assert port.is_datapath and not port.is_step_output
    assert port.datapath({}) == {"datastore": "workspaceblobstore", "path": "t/a.csv"}
    assert validate_graph(reference) == []
    assert "unknown datastore" in validate_graph(reference, datastores=[])[0].message

    parameter = {"name": "ds", "type": "dataset", "default": {"id": "d1", "kind": "file"}}
    by_parameter = GraphSpec.from_dict(
        _graph_with_input({"name": "in", "dataset_parameter": "ds"}, [parameter])
    )
    port = by_parameter.steps[0].inputs[0]
    assert port.is_dataset and port.dataset_id({"ds": {"id": "d2", "kind": "file"}}) == "d2"
    assert validate_graph(by_parameter, datasets=["d1"]) == []
    assert "unknown dataset d1" in validate_graph(by_parameter, datasets=[])[0].message
    wrong = GraphSpec.from_dict(
        _graph_with_input(
            {"name": "in", "dataset_parameter": "ds"},
            [{"name": "ds", "type": "int", "default": 1}],
        )
    )
    assert "not a Dataset pipeline parameter" in validate_graph(wrong)[0].message
