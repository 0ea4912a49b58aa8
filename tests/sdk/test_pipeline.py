"""Building a pipeline with the SDK: the graph is built, checked and snapshotted at construction."""

from __future__ import annotations

import re

import pytest

from studio.core.snapshot import build
from studio.core.spec import Arg, GraphSpec
from studio.core.validation import validate_graph
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline, PipelineData, PipelineParameter, StepSequence
from studio.sdk.pipeline.steps import PythonScriptStep


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    for script in ("prep.py", "train.py", "score.py"):
        (folder / script).write_text(f"print({script!r})\n")
    return str(folder)


def _step(source: str, name: str, script: str = "train.py", **kwargs) -> PythonScriptStep:
    return PythonScriptStep(script_name=script, name=name, source_directory=source, **kwargs)


def _by_name(pipeline: Pipeline) -> dict:
    return {s.name: s for s in pipeline.graph_spec.steps}


def test_it_builds_a_chain_whose_spec_the_server_would_accept(source):
    prepared = PipelineData("prepared")
    prep = _step(source, "prep", "prep.py", arguments=["--out", prepared], outputs=[prepared])
    train = _step(
        source,
        "train",
        arguments=["--data", prepared.as_input("data")],
        inputs=[prepared.as_input("data")],
    )
    pipeline = Pipeline(workspace=None, steps=[train, prep])

    spec = pipeline.graph_spec
    steps = _by_name(pipeline)
    assert [o.name for o in steps["prep"].outputs] == ["prepared"]
    assert steps["prep"].outputs[0].kind == "PipelineData"
    assert steps["train"].inputs[0].source_step == steps["prep"].node_id
    assert steps["train"].arguments == (Arg("literal", "--data"), Arg("input", "data"))
    assert GraphSpec.from_dict(spec.to_dict()) == spec
    digest = build(source)[0]
    assert {s.snapshot for s in spec.steps} == {digest}
    assert validate_graph(spec, snapshot_files={digest: ["prep.py", "train.py", "score.py"]}) == []
    assert pipeline.validate() == []


def test_it_refuses_a_step_whose_script_is_missing(source):
    with pytest.raises(ValueError, match=r"Step \[lost\]: script not found at: .*missing\.py"):
        Pipeline(workspace=None, steps=[_step(source, "lost", "missing.py")])


def test_it_uses_the_default_source_directory_for_a_step_without_one(source, tmp_path):
    step = PythonScriptStep(script_name="train.py", name="train")
    pipeline = Pipeline(workspace=None, steps=[step], default_source_directory=source)
    assert pipeline.graph_spec.steps[0].snapshot == build(source)[0]
    with pytest.raises(ValueError, match="script not found at"):
        Pipeline(workspace=None, steps=[step], default_source_directory=str(tmp_path))


def test_it_refuses_the_same_output_on_two_steps(source):
    shared = OutputFileDatasetConfig("shared")
    first = _step(source, "first", outputs=[shared])
    second = _step(source, "second", outputs=[shared])
    with pytest.raises(ValueError, match="already an output of step") as caught:
        Pipeline(workspace=None, steps=[first, second])
    assert str(caught.value) == (
        "Step output shared can not be used as an output for step second, as it is already an output of step first."
    )


def test_it_refuses_pipeline_data_in_arguments_but_not_in_inputs_or_outputs(source):
    data = PipelineData("features")
    producer = _step(source, "prep", "prep.py", outputs=[data])
    consumer = _step(source, "train", arguments=["--features", data])
    with pytest.raises(
        ValueError,
        match="Input/Output features appears in arguments list but is not in the input/output lists",
    ):
        Pipeline(workspace=None, steps=[producer, consumer])


def test_it_refuses_an_unknown_keyword():
    with pytest.raises(ValueError, match="enable_cache") as caught:
        Pipeline(workspace=None, steps=[], enable_cache=True)
    assert str(caught.value) == "parameter enable_cache is not recognized for Pipeline "


def test_it_accepts_the_email_notification_keyword(source):
    Pipeline(workspace=None, steps=[_step(source, "train")], enable_email_notification=True)


@pytest.mark.parametrize("default", [[1], {"a": 1}, None, 1j])
def test_a_pipeline_parameter_refuses_an_unsupported_default_type(default):
    with pytest.raises(
        ValueError, match=f"^Default value is of unsupported type: {type(default).__name__}$"
    ):
        PipelineParameter("rate", default)


def test_it_refuses_one_parameter_name_with_two_defaults(source):
    one = _step(source, "one", arguments=[PipelineParameter("rate", 0.1)])
    two = _step(source, "two", arguments=[PipelineParameter("rate", 0.2)])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Graph already has pipeline parameter with same name rate but different default "
            "values 0.1, 0.2"
        ),
    ):
        Pipeline(workspace=None, steps=[one, two])


def test_it_refuses_one_parameter_name_with_defaults_of_two_types(source):
    one = _step(source, "one", arguments=[PipelineParameter("count", 1)])
    two = _step(source, "two", arguments=[PipelineParameter("count", True)])
    with pytest.raises(ValueError, match="same name count but different default values"):
        Pipeline(workspace=None, steps=[one, two])


def test_it_shares_one_parameter_used_by_two_steps(source):
    rate = PipelineParameter("rate", 0.1)
    pipeline = Pipeline(
        workspace=None,
        steps=[_step(source, "one", arguments=[rate]), _step(source, "two", params={"lr": rate})],
    )
    assert [(p.name, p.type, p.default) for p in pipeline.graph_spec.parameters] == [
        ("rate", "float", 0.1)
    ]


def test_params_become_spec_params(source):
    rate = PipelineParameter("rate", 0.5)
    step = _step(source, "train", params={"lr": rate, "epochs": 3, "name": "run"})
    spec_step = Pipeline(workspace=None, steps=[step]).graph_spec.steps[0]
    assert dict(spec_step.params) == {
        "lr": Arg("parameter", "rate"),
        "epochs": Arg("literal", "3"),
        "name": Arg("literal", "run"),
    }


def test_a_step_sequence_adds_run_after_edges(source):
    prep, train, score_a, score_b = (
        _step(source, n) for n in ("prep", "train", "score_a", "score_b")
    )
    pipeline = Pipeline(workspace=None, steps=StepSequence(steps=[prep, train, [score_a, score_b]]))
    steps = _by_name(pipeline)
    assert list(steps) == ["prep", "train", "score_a", "score_b"]
    assert steps["prep"].run_after == ()
    assert steps["train"].run_after == (steps["prep"].node_id,)
    assert steps["score_a"].run_after == (steps["train"].node_id,)
    assert steps["score_b"].run_after == (steps["train"].node_id,)


def test_run_after_adds_a_control_edge(source):
    first, second = _step(source, "first"), _step(source, "second")
    second.run_after(first)
    steps = _by_name(Pipeline(workspace=None, steps=[second]))
    assert steps["second"].run_after == (steps["first"].node_id,)


def test_resolve_closure_pulls_in_a_producer_that_was_not_listed(source):
    prepared = OutputFileDatasetConfig("prepared")
    _step(source, "prep", "prep.py", arguments=["--out", prepared])  # produces it, never listed
    train = _step(source, "train", arguments=["--data", prepared.as_input()])
    steps = _by_name(Pipeline(workspace=None, steps=[train]))
    assert set(steps) == {"train", "prep"}
    assert steps["train"].inputs[0].source_step == steps["prep"].node_id


def test_without_resolve_closure_an_unlisted_producer_is_an_error(source):
    prepared = OutputFileDatasetConfig("prepared")
    _step(source, "prep", "prep.py", arguments=["--out", prepared])
    train = _step(source, "train", arguments=["--data", prepared.as_input()])
    with pytest.raises(ValueError, match=r"not connected|does not have a producer"):
        Pipeline(workspace=None, steps=[train], resolve_closure=False)


def _unnamed_output_pipeline(source: str) -> Pipeline:
    out = OutputFileDatasetConfig()
    prep = _step(source, "prep", "prep.py", arguments=["--out", out])
    train = _step(source, "train", arguments=["--in", out.as_input("data")])
    return Pipeline(workspace=None, steps=[prep, train])


def test_an_unnamed_output_gets_the_same_name_on_every_build(source):
    first, second = _unnamed_output_pipeline(source), _unnamed_output_pipeline(source)
    name = _by_name(first)["prep"].outputs[0].name
    assert name.startswith("output_")
    assert _by_name(second)["prep"].outputs[0].name == name
    assert _by_name(first)["train"].inputs[0].source_output == name
    assert first.graph_spec == second.graph_spec


def test_two_unnamed_outputs_of_one_step_get_different_names(source):
    step = _step(
        source, "prep", "prep.py", arguments=[OutputFileDatasetConfig(), OutputFileDatasetConfig()]
    )
    outputs = Pipeline(workspace=None, steps=[step]).graph_spec.steps[0].outputs
    assert len({o.name for o in outputs}) == 2


def test_two_steps_may_share_a_name(source):
    pipeline = Pipeline(workspace=None, steps=[_step(source, "train"), _step(source, "train")])
    spec = pipeline.graph_spec
    assert [s.name for s in spec.steps] == ["train", "train"]
    assert len({s.node_id for s in spec.steps}) == 2


def test_the_same_step_listed_twice_is_one_node(source):
    step = _step(source, "train")
    assert len(Pipeline(workspace=None, steps=[step, step]).graph_spec.steps) == 1


def test_a_step_keeps_its_compute_target_reuse_flag_and_version(source):
    step = _step(source, "train", compute_target="gpu", allow_reuse=False, version=2)
    spec_step = Pipeline(workspace=None, steps=[step]).graph_spec.steps[0]
    assert (spec_step.compute_target, spec_step.allow_reuse, spec_step.version) == (
        "gpu",
        False,
        "2",
    )


def test_a_step_refuses_an_unsupported_argument(source):
    with pytest.raises(ValueError, match="unsupported argument"):
        Pipeline(workspace=None, steps=[_step(source, "train", arguments=[object()])])


def test_an_output_in_upload_mode_keeps_its_mode(source):
    out = OutputFileDatasetConfig("model").as_upload()
    spec_step = Pipeline(
        workspace=None, steps=[_step(source, "train", arguments=[out])]
    ).graph_spec.steps[0]
    assert (spec_step.outputs[0].name, spec_step.outputs[0].mode) == ("model", "upload")
    assert spec_step.arguments == (Arg("output", "model"),)


def test_it_snapshots_each_source_directory_once(source, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "score.py").write_text("print('other')\n")
    pipeline = Pipeline(
        workspace=None,
        steps=[_step(source, "a"), _step(source, "b"), _step(str(other), "c", "score.py")],
    )
    assert set(pipeline._snapshots) == {build(source)[0], build(other)[0]}


def test_it_refuses_at_construction_a_parameter_name_the_server_would_refuse(source):
    with pytest.raises(ValueError, match=r"learning-rate"):
        PipelineParameter("learning-rate", 0.1)


def test_it_refuses_at_construction_a_script_that_amlignore_leaves_out_of_the_snapshot(source):
    with open(f"{source}/.amlignore", "w") as fh:
        fh.write("train.py\n")
    with pytest.raises(ValueError, match="script not found at"):
        Pipeline(workspace=None, steps=[_step(source, "train")])
