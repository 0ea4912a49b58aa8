"""``studio.sdk.pipeline.steps`` (``azureml.pipeline.steps``): PythonScriptStep, CommandStep,\nEstimatorStep, ModuleStep, ParallelRunStep."""

from __future__ import annotations

import logging
import os
import shlex
import warnings

from studio.sdk.core.script_run_config import ScriptRunConfig
from studio.sdk.data import InputBinding, OutputFileDatasetConfig
from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import PipelineParameter, _is_datapath_binding


def _compute_name(compute_target, runconfig) -> str | None:
    if compute_target is None:
        compute_target = getattr(runconfig, "target", None)
    if compute_target is None or compute_target == "local":
        return None  # the default compute target, where azureml would run "local"ly
    if isinstance(compute_target, str):
        return compute_target
    if isinstance(compute_target, tuple) and compute_target:
        return str(compute_target[0])
    name = getattr(compute_target, "name", None)
    if isinstance(name, str):
        return name
    raise ValueError(f"Invalid compute target type: {type(compute_target).__name__}")


class PythonScriptStep:
    """Runs ``python <script_name> <arguments>`` in a copy of ``source_directory``."""

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: list | None = None,
        compute_target=None,
        runconfig=None,
        runconfig_pipeline_params=None,
        inputs: list | None = None,
        outputs: list | None = None,
        params: dict | None = None,
        source_directory: str | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths=None,
    ):
        if not isinstance(script_name, str) or not script_name:
            raise ValueError("script_name is required")
        if hash_paths is not None:
            warnings.warn(
                "Parameter 'hash_paths' is deprecated: the whole source_directory is hashed.",
                stacklevel=2,
            )
        self.script_name = script_name
        self.name = name or script_name
        self.arguments = list(arguments or [])
        self.compute_target = _compute_name(compute_target, runconfig)
        self.runconfig = runconfig
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.params = dict(params or {})
        self.source_directory = source_directory
        self.allow_reuse = bool(allow_reuse)
        self.version = None if version is None else str(version)
        self._run_after: list[PythonScriptStep] = []
        for item in [*self.arguments, *self.inputs, *self.outputs, *self.params.values()]:
            if type(item).__name__ in ("TabularDataset", "FileDataset"):
                raise ValueError(
                    "Datasets cannot be used directly as arguments or inputs: use dataset.as_named_input(name)."
                )
        for output in self._produced():
            output._producers = [*getattr(output, "_producers", []), self]

    def __repr__(self) -> str:
        return f"PythonScriptStep(name={self.name!r}, script_name={self.script_name!r})"

    def run_after(self, step) -> None:
        """Run this step only after ``step`` has completed (a control edge, no data)."""
        self._run_after.append(step)

    def _consumed_identities(self) -> set:
        found = set()
        for item in self.inputs:
            if isinstance(item, (InputBinding, PipelineData, OutputFileDatasetConfig)):
                found.add(item._identity)
        for item in self.arguments:
            if isinstance(item, InputBinding):
                found.add(item._identity)
        return found

    def _produced(self) -> list:
        """Output identities: listed outputs, plus OutputFileDatasetConfigs in arguments not consumed here."""
        consumed = self._consumed_identities()
        produced = []
        for item in self.outputs:
            if (
                isinstance(item, (PipelineData, OutputFileDatasetConfig))
                and item._identity not in produced
            ):
                produced.append(item._identity)
        for item in self.arguments:
            if (
                isinstance(item, OutputFileDatasetConfig)
                and item._identity not in consumed
                and item._identity not in produced
            ):
                produced.append(item._identity)
        return produced

    def _used_parameters(self) -> list[PipelineParameter]:
        found = [
            v for v in [*self.arguments, *self.params.values()] if isinstance(v, PipelineParameter)
        ]
        found += [v[0] for v in [*self.arguments, *self.inputs] if _is_datapath_binding(v)]
        found += [
            v.dataset
            for v in [*self.arguments, *self.inputs]
            if isinstance(v, DatasetConsumptionConfig) and v._parameter is not None
        ]
        return found


log = logging.getLogger("studio.sdk.pipeline.steps")


class CommandStep(PythonScriptStep):
    """Runs a command (``python train.py 1 2``, ``ls -lrt``, ``./run.sh``) in a copy of
    ``source_directory``, inside the step's environment (its ``python`` is the environment's)."""

    command: str | None

    def __init__(
        self,
        command=None,
        name: str | None = None,
        compute_target=None,
        runconfig=None,
        runconfig_pipeline_params=None,
        inputs: list | None = None,
        outputs: list | None = None,
        params: dict | None = None,
        source_directory: str | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
    ):
        if runconfig is not None:
            if isinstance(runconfig, ScriptRunConfig):
                source_directory = source_directory or runconfig.source_directory
                if runconfig.command:
                    runconfig.run_config.command = runconfig.command
                runconfig = runconfig.run_config
            command = command or runconfig.command
        if not command:
            raise ValueError("command is required either from command directly or runconfig.")
        first = command[0] if isinstance(command, list) else command
        if not isinstance(first, str):
            raise ValueError("command must be a string, or a list that starts with one.")
        if not name:
            name = "CommandStep_" + first.split(" ", 1)[0]
        split = shlex.split(first)
        if not split:
            raise ValueError("command is required either from command directly or runconfig.")
        arguments = split[1:] + (list(command[1:]) if isinstance(command, list) else [])
        if source_directory and not os.path.isdir(source_directory):
            raise ValueError(
                "source_directory should be an existing directory or None for commands already "
                "in the target system."
            )
        super().__init__(
            script_name=split[0],
            name=name,
            arguments=arguments,
            compute_target=compute_target,
            runconfig=runconfig,
            runconfig_pipeline_params=runconfig_pipeline_params,
            inputs=inputs,
            outputs=outputs,
            params=params,
            source_directory=source_directory or os.getcwd(),
            allow_reuse=allow_reuse,
            version=version,
        )
        self.command = split[0]
        self.script_name = ""

    def __repr__(self) -> str:
        return f"CommandStep(name={self.name!r}, command={self.command!r})"


class EstimatorStep(PythonScriptStep):
    """Deprecated in azureml: runs the estimator's entry script like a PythonScriptStep."""

    def __init__(
        self,
        name: str | None = None,
        estimator=None,
        estimator_entry_script_arguments: list | None = None,
        runconfig_pipeline_params=None,
        inputs: list | None = None,
        outputs: list | None = None,
        compute_target=None,
        allow_reuse: bool = True,
        version: str | None = None,
    ):
        log.warning(
            "'EstimatorStep' is deprecated. Please use 'CommandStep' from "
            "'studio.sdk.pipeline.steps.CommandStep' instead. For an example see "
            "https://github.com/Azure/MachineLearningNotebooks/blob/master/how-to-use-azureml/"
            "machine-learning-pipelines/intro-to-pipelines/aml-pipelines-with-commandstep.ipynb."
        )
        if estimator is None or compute_target is None:
            raise ValueError("Estimator, compute_target parameters are required")
        run_config = estimator.run_config
        if run_config.arguments:
            raise ValueError(
                "script_params in Estimator should not be provided to EstimatorStep. "
                "Please use estimator_entry_script_arguments instead."
            )
        if estimator_entry_script_arguments is None:
            raise ValueError(
                "estimator_entry_script_arguments is a required parameter. If the Estimator's entry "
                "script does not accept commandline arguments, set the parameter value to empty list"
            )
        if run_config.data:
            raise ValueError(
                "Unable to create EstimatorStep as inputs are specified in the Estimator. Please "
                "specify all the inputs in EstimatorStep instead."
            )
        run_config._target = None
        super().__init__(
            script_name=run_config.script,
            name=name,
            arguments=estimator_entry_script_arguments,
            compute_target=compute_target,
            runconfig=run_config,
            runconfig_pipeline_params=runconfig_pipeline_params,
            inputs=inputs,
            outputs=outputs,
            source_directory=estimator.source_directory,
            allow_reuse=allow_reuse,
            version=version,
        )


def _unsupported(step: str, reason: str):
    """A step of azureml's that needs an Azure service Studio does not have."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{step} is not supported by Studio: {reason} (see the README, "
            "'Differences from Azure ML')."
        )

    return type(step, (), {"__init__": __init__, "__doc__": f"Not supported: {reason}"})


AdlaStep = _unsupported(
    "AdlaStep", "Azure Data Lake Analytics is an Azure service; use a PythonScriptStep"
)
AutoMLStep = _unsupported(
    "AutoMLStep", "automated ML is an Azure service; train in a PythonScriptStep"
)
AzureBatchStep = _unsupported(
    "AzureBatchStep", "Azure Batch is an Azure service; run the program from a PythonScriptStep"
)
DatabricksStep = _unsupported(
    "DatabricksStep", "Databricks is an Azure service; use a PythonScriptStep"
)
DataTransferStep = _unsupported(
    "DataTransferStep",
    "copy data in a PythonScriptStep with an OutputFileDatasetConfig(destination=(datastore, path))",
)
HyperDriveStep = _unsupported(
    "HyperDriveStep",
    "run one PythonScriptStep per configuration (a fan-out) and compare their metrics",
)
KustoStep = _unsupported(
    "KustoStep", "Azure Data Explorer is an Azure service; query it from a PythonScriptStep"
)
MpiStep = _unsupported(
    "MpiStep", "steps run one process each; start your own processes from a PythonScriptStep"
)
SynapseSparkStep = _unsupported(
    "SynapseSparkStep", "Synapse is an Azure service; use a PythonScriptStep"
)


from studio.sdk.pipeline.steps.module_step import ModuleStep  # noqa: E402
from studio.sdk.pipeline.steps.parallel_run_step import (  # noqa: E402
    ParallelRunConfig,
    ParallelRunStep,
)

__all__ = [
    "AdlaStep",
    "AutoMLStep",
    "AzureBatchStep",
    "CommandStep",
    "DataTransferStep",
    "DatabricksStep",
    "EstimatorStep",
    "HyperDriveStep",
    "KustoStep",
    "ModuleStep",
    "MpiStep",
    "ParallelRunConfig",
    "ParallelRunStep",
    "PythonScriptStep",
    "SynapseSparkStep",
]
