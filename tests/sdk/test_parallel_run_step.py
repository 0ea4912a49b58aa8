"""ParallelRunConfig and ParallelRunStep as azureml.pipeline.steps has them: the arguments,
defaults, checks in azureml's order and messages, written the way Microsoft's batch inference
examples call them; and the graph spec a ParallelRunStep becomes."""

from __future__ import annotations

import re

import pytest

from studio.core.spec import GraphSpec
from studio.core.validation import validate_graph
from studio.sdk.core import Environment
from studio.sdk.core.compute import ComputeTarget
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.data.datasets import DatasetConsumptionConfig, FileDataset, TabularDataset
from studio.sdk.pipeline.core import Pipeline, PipelineData, PipelineParameter
from studio.sdk.pipeline.steps import ParallelRunConfig, ParallelRunStep, PythonScriptStep

DIGIT_SCRIPT = """
import argparse
import os

import numpy as np
from azureml_user.parallel_run import EntryScript


def init():
    global model
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_name", dest="model_name", required=True)
    args, _ = parser.parse_known_args()


def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""


@pytest.fixture
def scripts_folder(tmp_path):
    folder = tmp_path / "Code"
    folder.mkdir()
    (folder / "digit_identification.py").write_text(DIGIT_SCRIPT)
    (folder / "iris_score.py").write_text(
        "def init():\n    pass\n\n\ndef run(df):\n    return df\n"
    )
    (folder / "prep.py").write_text("print('prep')\n")
    return str(folder)


@pytest.fixture
def batch_env():
    env = Environment(name="parallelenv")
    env.python.conda_dependencies.add_pip_package("pillow")
    return env


def _file_config(scripts_folder, batch_env, **overrides):
    arguments = {
        "environment": batch_env,
        "entry_script": "digit_identification.py",
        "source_directory": scripts_folder,
        "output_action": "append_row",
        "mini_batch_size": "5",
        "error_threshold": 10,
        "compute_target": "cpu-cluster",
        "process_count_per_node": 2,
        "node_count": 2,
    }
    arguments.update(overrides)
    return ParallelRunConfig(**arguments)


def _files(name="mnist"):
    """A FileDataset known to the server by id (as Dataset.get_by_name returns one)."""
    return FileDataset([["workspaceblobstore", "mnist/"]], data={"id": "f1", "name": name})


def _table():
    return TabularDataset([["workspaceblobstore", "iris/"]], data={"id": "t1", "name": "iris"})


def test_the_config_has_azuremls_defaults(scripts_folder, batch_env):
    config = ParallelRunConfig(
        environment=batch_env,
        entry_script=" digit_identification.py ",
        error_threshold=10,
        output_action="summary_only",
        compute_target="cpu-cluster",
        node_count=1,
        source_directory=scripts_folder,
    )
    assert config.entry_script == "digit_identification.py"
    assert config.mini_batch_size is None and config.process_count_per_node is None
    assert (config.logging_level, config.run_invocation_timeout, config.run_max_try) == (
        "INFO",
        60,
        3,
    )
    assert config.environment_variables == {}
    assert config.append_row_file_name is None and config.partition_keys is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5), (5, 5), ("1KB", 1024), ("1MB", 1048576), ("10mb", 10485760), ("1GB", 1024**3)],
)
def test_mini_batch_size_is_a_count_or_a_size(scripts_folder, batch_env, value, expected):
    config = _file_config(scripts_folder, batch_env, mini_batch_size=value)
    assert config.mini_batch_size == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"environment": None},
            "Parameter environment is required. It should be instance of "
            "studio.sdk.core.Environment.",
        ),
        (
            {"environment": "env"},
            "Parameter environment must be an instance of studio.sdk.core.Environment. "
            "The actual value is env.",
        ),
        ({"output_action": "write"}, "Parameter output_action must be summary_only or append_row."),
        (
            {"error_threshold": -2},
            "error_threshold '-2' is not an int value greater than or equal to -1.",
        ),
        (
            {"error_threshold": "10"},
            "error_threshold '10' is not an int value greater than or equal to -1.",
        ),
        (
            {"allowed_failed_count": -5},
            "allowed_failed_count '-5' is not an int value greater than or equal to -1.",
        ),
        ({"allowed_failed_percent": "5"}, "allowed_failed_percent '5' is not an int or float."),
        (
            {"allowed_failed_percent": 100.5},
            "allowed_failed_percent '100.5' is not between 0 and 100.",
        ),
        (
            {"partition_keys": ["user"]},
            "Parameters mini_batch_size and partition_keys are mutually exclusive, because they "
            "specify different ways to partition the input datasets into mini-batches.",
        ),
        ({"mini_batch_size": 1.5}, "Parameter mini_batch_size must be of type int or str."),
        (
            {"mini_batch_size": "1 MB"},
            r"Parameter mini_batch_size must follow regex rule ^\d+([kKmMgG][bB])*$.",
        ),
        (
            {"mini_batch_size": None, "partition_keys": "user"},
            "Parameter partition_keys must be of type list.",
        ),
        (
            {"mini_batch_size": None, "partition_keys": ["user", 3]},
            "Element 3 in partition_keys is not a str.",
        ),
        (
            {"process_count_per_node": 0},
            "Parameter process_count_per_node must be an integer greater than 0.",
        ),
        (
            {"run_invocation_timeout": 0},
            "Parameter run_invocation_timeout must be an integer greater than 0.",
        ),
        ({"run_max_try": -1}, "Parameter run_max_try must be an integer greater than 0."),
        (
            {"append_row_file_name": "out/rows.txt"},
            "Parameter append_row_file_name must be a valid UNIX file name.",
        ),
    ],
)
def test_a_bad_config_gets_azuremls_message(scripts_folder, batch_env, overrides, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as raised:
        _file_config(scripts_folder, batch_env, **overrides)
    assert str(raised.value) == message


def test_the_config_checks_in_azuremls_order(scripts_folder, batch_env):
    with pytest.raises(ValueError, match=r"^Parameter output_action"):
        _file_config(scripts_folder, batch_env, output_action="write", error_threshold=-5)
    with pytest.raises(ValueError, match=r"^error_threshold"):
        _file_config(scripts_folder, batch_env, error_threshold=-5, run_max_try=0)
    with pytest.raises(ValueError, match=r"^Parameter run_invocation_timeout"):
        _file_config(scripts_folder, batch_env, run_invocation_timeout=0, run_max_try=0)


def test_a_summary_only_file_name_is_not_checked(scripts_folder, batch_env):
    config = _file_config(
        scripts_folder, batch_env, output_action="summary_only", append_row_file_name="a/b"
    )
    assert config.append_row_file_name == "a/b"


def test_partition_keys_from_a_pipeline_parameter_must_be_a_json_list(scripts_folder, batch_env):
    keys = PipelineParameter("keys", default_value='["user"]')
    config = _file_config(scripts_folder, batch_env, mini_batch_size=None, partition_keys=keys)
    assert config.partition_keys is keys
    with pytest.raises(ValueError, match="must be json dump result of a list of str, try"):
        _file_config(
            scripts_folder,
            batch_env,
            mini_batch_size=None,
            partition_keys=PipelineParameter("keys", default_value="user"),
        )


def test_node_count_is_checked_against_an_aml_computes_max_nodes(scripts_folder, batch_env):
    cluster = ComputeTarget._from_dict(
        None, {"name": "cpu-cluster", "kind": "AmlCompute", "max_nodes": 2}
    )
    assert _file_config(scripts_folder, batch_env, compute_target=cluster).node_count == 2
    with pytest.raises(ValueError, match=r"^node_count '3' is not between 1 and max_nodes 2\.$"):
        _file_config(scripts_folder, batch_env, compute_target=cluster, node_count=3)


def test_the_file_example_becomes_a_parallel_step(scripts_folder, batch_env):
    """file-dataset-image-classification: a FileDataset through a pipeline parameter."""
    pipeline_param = PipelineParameter(name="mnist_param", default_value=_files())
    input_mnist_ds_consumption = DatasetConsumptionConfig("minist_param_config", pipeline_param)
    output_dir = PipelineData(name="inferences")
    parallel_run_config = _file_config(scripts_folder, batch_env)
    parallelrun_step = ParallelRunStep(
        name="predict-digits-mnist",
        parallel_run_config=parallel_run_config,
        inputs=[input_mnist_ds_consumption],
        output=output_dir,
        arguments=["--model_name", "mnist"],
        allow_reuse=True,
    )
    assert parallelrun_step.inputs[0].mode == "mount"  # file inputs are mounted, as in azureml
    assert parallelrun_step.runconfig.environment is batch_env
    assert parallelrun_step.runconfig.node_count == 2
    pipeline = Pipeline(workspace=object(), steps=[parallelrun_step])
    node = pipeline.graph_spec.steps[0]
    assert (node.script_name, node.compute_target) == ("digit_identification.py", "cpu-cluster")
    assert [a.value for a in node.arguments] == ["--model_name", "mnist"]
    assert [(i.name, i.mode, i.dataset_parameter) for i in node.inputs] == [
        ("minist_param_config", "mount", "mnist_param")
    ]
    parallel = node.parallel
    assert (parallel.input_kind, parallel.inputs, parallel.output) == (
        "file",
        ("minist_param_config",),
        "inferences",
    )
    assert (parallel.mini_batch_size, parallel.error_threshold, parallel.output_action) == (
        5,
        10,
        "append_row",
    )
    assert (parallel.node_count, parallel.process_count_per_node) == (2, 2)
    assert parallel.append_row_file_name == "parallel_run_step.txt"
    assert "pillow" in str(node.environment.to_dict())
    assert GraphSpec.from_dict(pipeline.graph_spec.to_dict()) == pipeline.graph_spec
    assert validate_graph(pipeline.graph_spec) == []


def test_the_tabular_example_becomes_a_parallel_step(scripts_folder, batch_env):
    """tabular-dataset-inference-iris: a TabularDataset, 1 MB mini-batches by default."""
    named_iris_ds = _table().as_named_input("iris_data")
    output_folder = PipelineData(name="inferences")
    parallel_run_config = ParallelRunConfig(
        source_directory=scripts_folder,
        entry_script="iris_score.py",
        error_threshold=5,
        output_action="append_row",
        append_row_file_name="iris_outputs.txt",
        environment=batch_env,
        compute_target="cpu-cluster",
        node_count=3,
        run_invocation_timeout=600,
    )
    distributed_csv_iris_step = ParallelRunStep(
        name="example-iris",
        inputs=[named_iris_ds],
        output=output_folder,
        parallel_run_config=parallel_run_config,
        arguments=["--model_name", "iris-prs"],
        allow_reuse=False,
    )
    assert distributed_csv_iris_step.mini_batch_size == 1024 * 1024
    node = Pipeline(workspace=object(), steps=[distributed_csv_iris_step]).graph_spec.steps[0]
    assert node.allow_reuse is False
    parallel = node.parallel
    assert (parallel.input_kind, parallel.inputs, parallel.mini_batch_size) == (
        "tabular",
        ("iris_data",),
        1048576,
    )
    assert (parallel.append_row_file_name, parallel.run_invocation_timeout) == (
        "iris_outputs.txt",
        600,
    )
    assert (parallel.node_count, parallel.process_count_per_node) == (3, None)  # its CPUs


def test_a_file_dataset_gets_ten_files_per_mini_batch_by_default(scripts_folder, batch_env):
    config = _file_config(scripts_folder, batch_env, mini_batch_size=None)
    step = ParallelRunStep(
        name="score",
        parallel_run_config=config,
        inputs=[_files().as_named_input("images")],
        output=PipelineData("scores"),
    )
    assert step.mini_batch_size == 10
    assert config.mini_batch_size is None


def test_side_inputs_reach_the_step_but_are_not_split(scripts_folder, batch_env):
    labels = PipelineData("labels")
    PythonScriptStep(
        name="prep", script_name="prep.py", outputs=[labels], source_directory=scripts_folder
    )
    config = _file_config(scripts_folder, batch_env, output_action="summary_only")
    step = ParallelRunStep(
        name="score",
        parallel_run_config=config,
        inputs=[_files().as_named_input("images")],
        side_inputs=[labels.as_mount("labels")],
        arguments=["--labels_dir", labels.as_mount("labels")],
    )
    spec = Pipeline(workspace=object(), steps=[step]).graph_spec
    node = next(s for s in spec.steps if s.name == "score")
    assert sorted(i.name for i in node.inputs) == ["images", "labels"]
    assert node.parallel.inputs == ("images",)
    assert node.parallel.output is None and node.outputs == ()
    assert validate_graph(spec) == []


def test_settings_from_pipeline_parameters_are_named_with_their_defaults(scripts_folder, batch_env):
    nodes = PipelineParameter(name="node_count", default_value=2)
    size = PipelineParameter(name="batch_size", default_value="2KB")
    config = _file_config(scripts_folder, batch_env, node_count=nodes, mini_batch_size=size)
    step = ParallelRunStep(
        name="score",
        parallel_run_config=config,
        inputs=[_files().as_named_input("images")],
        output=OutputFileDatasetConfig(name="scores"),
    )
    spec = Pipeline(workspace=object(), steps=[step]).graph_spec
    parallel = spec.steps[0].parallel
    assert (parallel.node_count, parallel.mini_batch_size) == (2, 2048)
    assert dict(parallel.parameters) == {
        "node_count": "node_count",
        "mini_batch_size": "batch_size",
    }
    assert {p.name for p in spec.parameters} == {"node_count", "batch_size"}
    assert validate_graph(spec) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["model", "--x"],
            "Found invalid argument 'model'. As your arguments will be merged with reserved "
            "argument, you can only use keyword argument.",
        ),
        (
            ["--mini_batch_size", "3"],
            "'mini_batch_size' is a reserved argument in ParallelRunStep, please use another "
            "argument name instead.",
        ),
        (
            ["--x", "1", "--output=out"],
            "'output' is a reserved argument in ParallelRunStep, please use another argument "
            "name instead.",
        ),
    ],
)
def test_arguments_are_keywords_and_not_reserved(scripts_folder, batch_env, arguments, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as raised:
        ParallelRunStep(
            name="score",
            parallel_run_config=_file_config(scripts_folder, batch_env),
            inputs=[_files().as_named_input("images")],
            output=PipelineData("scores"),
            arguments=arguments,
        )
    assert str(raised.value) == message


def test_the_step_checks_its_inputs_output_and_script(scripts_folder, batch_env, tmp_path):
    config = _file_config(scripts_folder, batch_env)
    images = _files().as_named_input("images")

    def step(**kwargs):
        arguments = {
            "name": "score",
            "parallel_run_config": config,
            "inputs": [images],
            "output": PipelineData("scores"),
        }
        arguments.update(kwargs)
        return ParallelRunStep(**arguments)

    with pytest.raises(AssertionError, match="The parameter 'inputs' must be a list"):
        step(inputs=[])
    with pytest.raises(Exception, match=r"^All inputs of step must be same type$"):
        step(inputs=[images, _table().as_named_input("iris")])
    with pytest.raises(Exception, match=r"^Step input must be of any type: "):
        step(inputs=["mnist/"])
    with pytest.raises(Exception, match=r"^Please specify output parameter.$"):
        step(output=None)
    missing = _file_config(scripts_folder, batch_env, entry_script="lost.py")
    with pytest.raises(
        ValueError, match=r"^The value 'lost.py' specified in entry_script doesn't exist.$"
    ):
        step(parallel_run_config=missing)
    gone = _file_config(str(tmp_path / "gone"), batch_env)
    with pytest.raises(ValueError, match=r"specified in source_directory doesn't exist.$"):
        step(parallel_run_config=gone)


def test_a_tabular_input_must_be_direct():
    with pytest.raises(Exception, match="does not support mount"):
        DatasetConsumptionConfig("iris", _table(), mode="mount")
