"""studio.sdk.contrib.notebook as azureml.contrib.notebook: the handler's options and messages,
the run config's arguments, and the graph a NotebookRunnerStep becomes."""

from __future__ import annotations

import json

import pytest

from studio.core.spec import Arg, GraphSpec
from studio.core.validation import validate_graph
from studio.sdk.contrib.notebook import (
    AzureMLNotebookHandler,
    NotebookRunConfig,
    NotebookRunnerStep,
    PapermillExecutionHandler,
)
from studio.sdk.pipeline.core import Pipeline, PipelineData, PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "train.ipynb").write_text(json.dumps({"cells": [], "nbformat": 4}))
    (folder / "score.py").write_text("print('score')\n")
    return str(folder)


def test_the_handler_takes_papermills_options_and_refuses_others():
    handler = AzureMLNotebookHandler(timeout=600, progress_bar=False, log_output=True)
    assert handler.papermill_args == {
        "progress_bar": False,
        "log_output": True,
        "engine_name": "azureml_engine",
    }
    assert handler.execution_args == {"history": True, "timeout": 600}
    with pytest.raises(Exception, match=r"^Unsupported option: report_mode$"):
        AzureMLNotebookHandler(report_mode=True)
    assert issubclass(PapermillExecutionHandler, AzureMLNotebookHandler)


def test_the_run_config_has_azuremls_arguments_and_output_notebook(source):
    handler = AzureMLNotebookHandler(timeout=60)
    config = NotebookRunConfig(source, "train.ipynb", parameters={"a": 1}, handler=handler)
    assert config.arguments == [
        "-i",
        "train.ipynb",
        "-o",
        "train.output.ipynb",
        "-e",
        json.dumps({"history": True, "timeout": 60}),
        "-p",
        json.dumps({"engine_name": "azureml_engine"}),
        "-n",
        json.dumps({"a": 1}),
    ]
    assert config.output_notebook == "train.output.ipynb"
    assert isinstance(NotebookRunConfig(source, "train.ipynb").handler, AzureMLNotebookHandler)
    with pytest.raises(TypeError, match="not JSON serializable"):
        NotebookRunConfig(source, "train.ipynb", parameters={"when": object()})


def test_the_step_needs_a_name_a_run_config_and_a_compute_target(source):
    config = NotebookRunConfig(source, "train.ipynb")
    message = r"^name, notebook_run_config, compute_target parameters are required$"
    for kwargs in (
        {"notebook_run_config": config, "compute_target": "local"},
        {"name": "n", "compute_target": "local"},
        {"name": "n", "notebook_run_config": config},
    ):
        with pytest.raises(ValueError, match=message):
            NotebookRunnerStep(**kwargs)


def test_parameters_inputs_outputs_and_params_reach_the_notebook(source):
    raw = PipelineData("raw")
    scored = PipelineData("scored")
    PythonScriptStep(  # produces raw: the pipeline finds it through the notebook step
        name="produce", script_name="score.py", outputs=[raw], source_directory=source
    )
    rate = PipelineParameter("rate", default_value=0.1)
    config = NotebookRunConfig(
        source,
        "train.ipynb",
        output_notebook="outputs/trained.ipynb",
        parameters={"label": "x", "rate": 1, "tags": ["a", "b"]},
        handler=AzureMLNotebookHandler(timeout=30, log_output=True, kernel_name="python3"),
    )
    step = NotebookRunnerStep(
        name="train",
        notebook_run_config=config,
        params={"rate": rate, "epochs": 5},
        inputs=[raw],
        outputs=[scored],
        compute_target="local",
        output_notebook_pipeline_data_name="notebook_result",
    )
    pipeline = Pipeline(workspace=None, steps=[step])
    spec = pipeline.graph_spec
    node = next(s for s in spec.steps if s.name == "train")
    assert sorted(s.name for s in spec.steps) == ["produce", "train"]  # pulled in by its input
    notebook = node.notebook
    assert notebook is not None
    assert (notebook.path, notebook.output, notebook.output_data) == (
        "train.ipynb",
        "trained.ipynb",
        "notebook_result",
    )
    assert dict(notebook.parameters) == {
        "label": Arg("literal", '"x"'),
        "rate": Arg("parameter", "rate"),  # params win over the run config's parameters
        "tags": Arg("literal", '["a", "b"]'),
        "raw": Arg("input", "raw"),
        "scored": Arg("output", "scored"),
        "epochs": Arg("literal", "5"),
    }
    assert (notebook.timeout, notebook.log_output, notebook.progress_bar) == (30, True, True)
    assert {o.name for o in node.outputs} == {"scored", "notebook_result"}
    assert node.arguments == () and node.script_name == "train.ipynb"
    assert GraphSpec.from_dict(spec.to_dict()) == spec
    assert pipeline.validate() == []
    assert validate_graph(spec) == []


def test_a_missing_notebook_is_named(source):
    config = NotebookRunConfig(source, "lost.ipynb")
    step = NotebookRunnerStep(name="lost", notebook_run_config=config, compute_target="local")
    with pytest.raises(ValueError, match=r"Step \[lost\]: notebook not found at: .*lost\.ipynb"):
        Pipeline(workspace=None, steps=[step])
