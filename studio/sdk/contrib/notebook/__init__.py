"""``studio.sdk.contrib.notebook`` (``azureml.contrib.notebook``): run a Jupyter notebook as a
pipeline step with papermill, its parameters injected into the cell tagged ``parameters``.

The notebook runs in the step's environment, in its sandbox, with a kernel on the step's own
Python; the executed notebook is kept in the step's ``outputs/`` and shown on the run page.
"""

from __future__ import annotations

import json
import os

from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.core.script_run_config import ScriptRunConfig
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep

# What azureml's handler script is called; the step runs studio.sdk.contrib.notebook._runner.
HANDLER_SCRIPT = "papermill_notebook_run_handler.py"


def _insert_suffix(filename: str, suffix: str = "output") -> str:
    base = os.path.splitext(filename)
    return base[0] + ".output" + base[1]


class NotebookExecutionHandler:
    """The base class of notebook execution handlers: how a notebook is run."""

    def __init__(self, handler_script: str, dependencies: list | None = None):
        self._script_source = handler_script
        self.script = os.path.basename(handler_script)
        # In Studio the notebook runtime is injected: these are never installed.
        self.dependencies = dependencies if dependencies else []

    def _argument_handling_contract(self, notebook, output_notebook, parameters=None) -> list:
        return [
            "-i",
            notebook,
            "-o",
            output_notebook if output_notebook else _insert_suffix(notebook),
            "-p",
            json.dumps(parameters),
        ]


class AzureMLNotebookHandler(NotebookExecutionHandler):
    """Runs the notebook with papermill. ``timeout``: the seconds each cell may run (None: no
    limit); ``progress_bar``, ``log_output`` (cell outputs in the step's log as they run),
    ``kernel_name`` and ``cwd`` as papermill takes them. ``history`` is accepted: scrapbook
    scraps are not logged as metrics (use ``Run.get_context().log`` in the notebook)."""

    supported_options = ["progress_bar", "log_output", "kernel_name", "cwd"]

    def __init__(self, history: bool = True, timeout: int | None = None, **kwargs):
        super().__init__(HANDLER_SCRIPT)
        for key in kwargs:
            if key not in self.supported_options:
                raise Exception(f"Unsupported option: {key}")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0
        ):
            raise ValueError(f"timeout must be a positive whole number of seconds, not {timeout!r}")
        kwargs["engine_name"] = "azureml_engine"
        self.papermill_args = kwargs
        self.execution_args = {"history": history, "timeout": timeout}

    def _argument_handling_contract(self, notebook, output_notebook, parameters=None) -> list:
        if not output_notebook:
            output_notebook = _insert_suffix(notebook)
        return [
            "-i",
            notebook,
            "-o",
            output_notebook,
            "-e",
            json.dumps(self.execution_args),
            "-p",
            json.dumps(self.papermill_args),
            "-n",
            json.dumps(parameters),
        ]


class PapermillExecutionHandler(AzureMLNotebookHandler):
    """Papermill-based notebook execution handler (DEPRECATED): use AzureMLNotebookHandler."""


class NotebookRunConfig(ScriptRunConfig):
    """A notebook run: ``notebook`` in ``source_directory``, run by ``handler`` (an
    AzureMLNotebookHandler by default) with ``parameters``; the executed notebook is saved as
    ``output_notebook`` (``<notebook>.output.ipynb`` by default) in the step's ``outputs/``."""

    def __init__(
        self,
        source_directory,
        notebook,
        output_notebook=None,
        parameters=None,
        handler=None,
        run_config: RunConfiguration | None = None,
        _telemetry_values=None,
    ):
        super().__init__(
            source_directory, run_config=run_config, _telemetry_values=_telemetry_values
        )
        if handler is None:
            handler = AzureMLNotebookHandler()
        if not isinstance(handler, NotebookExecutionHandler):
            raise TypeError(
                "handler must be a NotebookExecutionHandler such as AzureMLNotebookHandler"
            )
        if not isinstance(notebook, str) or not notebook:
            raise ValueError("notebook must be the file name of a notebook in source_directory")
        self.arguments = handler._argument_handling_contract(notebook, output_notebook, parameters)
        self.script = handler.script
        self.notebook = notebook
        self.output_notebook = output_notebook or _insert_suffix(notebook)
        self.parameters = dict(parameters or {})
        self.handler = handler


class NotebookRunnerStep(PythonScriptStep):
    """Runs a notebook as a pipeline step. Its ``inputs`` and ``outputs`` reach the notebook as
    parameters named after them (their local paths), and so do ``params`` (pipeline parameters
    with their value in the run), over the ``parameters`` of the NotebookRunConfig."""

    def __init__(
        self,
        name=None,
        notebook_run_config=None,
        runconfig_pipeline_params=None,
        compute_target=None,
        params=None,
        inputs=None,
        outputs=None,
        allow_reuse=True,
        version=None,
        output_notebook_pipeline_data_name=None,
    ):
        if None in [name, notebook_run_config, compute_target]:
            raise ValueError("name, notebook_run_config, compute_target parameters are required")
        if not isinstance(notebook_run_config, NotebookRunConfig):
            raise TypeError("notebook_run_config must be a NotebookRunConfig")
        self.notebook_run_config = notebook_run_config
        self._output_notebook_pipeline_data_name = output_notebook_pipeline_data_name
        outputs = list(outputs or [])
        if output_notebook_pipeline_data_name:
            outputs.append(
                PipelineData(
                    name=output_notebook_pipeline_data_name,
                    pipeline_output_name=output_notebook_pipeline_data_name,
                )
            )
        super().__init__(
            script_name=notebook_run_config.notebook,
            name=name,
            arguments=[],
            compute_target=compute_target,
            runconfig=notebook_run_config.run_config,
            runconfig_pipeline_params=runconfig_pipeline_params,
            inputs=inputs,
            outputs=outputs,
            params=params,
            source_directory=notebook_run_config.source_directory,
            allow_reuse=allow_reuse,
            version=version,
        )

    def __repr__(self) -> str:
        return (
            f"NotebookRunnerStep(name={self.name!r}, "
            f"notebook={self.notebook_run_config.notebook!r})"
        )

    def _notebook_values(self) -> dict:
        """What the notebook is given, before the run resolves them: the run config's
        parameters, then each input and output by name, then ``params``."""
        values: dict = dict(self.notebook_run_config.parameters)
        for item in [*self.inputs, *self.outputs]:
            if getattr(item, "name", None) == self._output_notebook_pipeline_data_name:
                continue
            values[_io_name(item)] = item
        values.update(self.params)
        return values


def _io_name(item) -> str | None:
    name = getattr(item, "data_reference_name", None) or getattr(item, "name", None)
    if isinstance(item, tuple) and item and isinstance(item[0], PipelineParameter):
        name = item[0].name
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"Type: {type(item)} not supported. Input or output should be of one of these types: "
            "PipelineData, OutputPortBinding, InputPortBinding, DataReference, PortDataReference, "
            "DatasetConsumptionConfig, PipelineOutputFileDataset."
        )
    return name


__all__ = [
    "AzureMLNotebookHandler",
    "NotebookExecutionHandler",
    "NotebookRunConfig",
    "NotebookRunnerStep",
    "PapermillExecutionHandler",
]
