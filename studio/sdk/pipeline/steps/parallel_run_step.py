"""``ParallelRunConfig`` and ``ParallelRunStep`` (``azureml.pipeline.steps``): an entry script
run over mini-batches of a FileDataset or a TabularDataset, with azureml's arguments, defaults,
checks (in azureml's order) and messages."""

from __future__ import annotations

import json
import os

from studio.core.spec import (
    DEFAULT_APPEND_ROW_FILE_NAME,
    PARALLEL_PARAMETER_SETTINGS,
    mini_batch_size_to_int,
)
from studio.sdk.core.compute import AmlCompute
from studio.sdk.core.environment import Environment
from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.data import InputBinding, OutputFileDatasetConfig
from studio.sdk.data.datasets import DatasetConsumptionConfig, FileDataset, TabularDataset
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep

DEFAULT_MINI_BATCH_SIZE_FILEDATASET = 10
DEFAULT_MINI_BATCH_SIZE_TABULARDATASET = 1024 * 1024
FILE_TYPE_INPUT = "file"
TABULAR_TYPE_INPUT = "tabular"
ALLOWED_INPUT_TYPES = [
    "DatasetConsumptionConfig",
    "PipelineData",
    "OutputFileDatasetConfig",
    "InputBinding",
]
RESERVED_ARGUMENTS = [
    "mini_batch_size",
    "error_threshold",
    "allowed_failed_count",
    "allowed_failed_percent",
    "output",
    "output_action",
    "logging_level",
    "process_count_per_node",
    "run_invocation_timeout",
    "run_max_try",
    "append_row_file_name",
    "partition_keys",
]


class ParallelRunConfig:
    """How a ParallelRunStep runs: the entry script, its environment and compute target, the
    mini-batch size, the failures allowed and what becomes of run()'s results."""

    def __init__(
        self,
        environment,
        entry_script,
        error_threshold,
        output_action,
        compute_target,
        node_count,
        process_count_per_node=None,
        mini_batch_size=None,
        source_directory=None,
        description=None,
        logging_level=None,
        run_invocation_timeout=None,
        run_max_try=None,
        append_row_file_name=None,
        allowed_failed_count=None,
        allowed_failed_percent=None,
        partition_keys=None,
        environment_variables=None,
    ):
        self.mini_batch_size = mini_batch_size
        self.error_threshold = error_threshold
        self.allowed_failed_count = allowed_failed_count
        self.allowed_failed_percent = allowed_failed_percent
        self.output_action = output_action
        self.logging_level = "INFO" if logging_level is None else logging_level
        self.compute_target = compute_target
        self.node_count = node_count
        self.process_count_per_node = process_count_per_node
        self.entry_script = entry_script if entry_script is None else entry_script.strip()
        self.source_directory = (
            source_directory if source_directory is None else source_directory.strip()
        )
        self.description = description
        self.environment = environment
        self.run_invocation_timeout = (
            60 if run_invocation_timeout is None else run_invocation_timeout
        )
        self.run_max_try = 3 if run_max_try is None else run_max_try
        self.append_row_file_name = append_row_file_name
        self.partition_keys = partition_keys
        self.environment_variables = {} if environment_variables is None else environment_variables
        self._validate()

    def _validate(self) -> None:
        if self.environment is None:
            raise ValueError(
                "Parameter environment is required. It should be instance of "
                "studio.sdk.core.Environment."
            )
        if not isinstance(self.environment, Environment):
            raise ValueError(
                "Parameter environment must be an instance of studio.sdk.core.Environment."
                f" The actual value is {self.environment}."
            )
        if not isinstance(self.output_action, str) or self.output_action.lower() not in (
            "summary_only",
            "append_row",
        ):
            raise ValueError("Parameter output_action must be summary_only or append_row.")
        for name in ("error_threshold", "allowed_failed_count"):
            value = getattr(self, name)
            if name == "allowed_failed_count" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < -1:
                raise ValueError(
                    f"{name} '{value}' is not an int value greater than or equal to -1."
                )
        percent = self.allowed_failed_percent
        if percent is not None:
            if not isinstance(percent, (int, float)) or isinstance(percent, bool):
                raise ValueError(f"allowed_failed_percent '{percent}' is not an int or float.")
            if percent < 0 or percent > 100:
                raise ValueError(f"allowed_failed_percent '{percent}' is not between 0 and 100.")
        if self.mini_batch_size is not None and self.partition_keys is not None:
            raise ValueError(
                "Parameters mini_batch_size and partition_keys are mutually exclusive, "
                "because they specify different ways to partition the input datasets into "
                "mini-batches."
            )
        if self.mini_batch_size is not None and not isinstance(
            self.mini_batch_size, PipelineParameter
        ):
            self.mini_batch_size = mini_batch_size_to_int(self.mini_batch_size)
        if self.partition_keys is not None:
            self._validate_partition_keys()
        count = self.process_count_per_node
        if count is not None and not isinstance(count, PipelineParameter) and count < 1:
            raise ValueError("Parameter process_count_per_node must be an integer greater than 0.")
        if isinstance(self.compute_target, AmlCompute) and not isinstance(
            self.node_count, PipelineParameter
        ):
            maximum = self.compute_target._data.get("max_nodes", 1)
            if self.node_count > maximum or self.node_count <= 0:
                raise ValueError(
                    f"node_count '{self.node_count}' is not between 1 and max_nodes {maximum}."
                )
        if (
            not isinstance(self.run_invocation_timeout, PipelineParameter)
            and self.run_invocation_timeout <= 0
        ):
            raise ValueError("Parameter run_invocation_timeout must be an integer greater than 0.")
        if not isinstance(self.run_max_try, PipelineParameter) and self.run_max_try <= 0:
            raise ValueError("Parameter run_max_try must be an integer greater than 0.")
        if self.output_action.lower() == "append_row" and self.append_row_file_name is not None:
            if any(c in self.append_row_file_name for c in '~"#%&*:<>?/\\{|}'):
                raise ValueError("Parameter append_row_file_name must be a valid UNIX file name.")

    def _validate_partition_keys(self) -> None:
        keys = self.partition_keys
        if isinstance(keys, PipelineParameter):
            try:
                keys = json.loads(keys.default_value)
            except (TypeError, ValueError):
                raise ValueError(
                    "default_value of PipelineParameter partition_keys must be json dump result "
                    "of a list of str, try json.loads the value to validate."
                ) from None
            if not isinstance(keys, list):
                raise ValueError(
                    "default_value of PipelineParameter partition_keys must be json dump result "
                    "of a list of str."
                )
            for key in keys:
                if not isinstance(key, str):
                    raise ValueError(
                        f"Element {key} in default_value of PipelineParameter partition_keys is "
                        "not a str."
                    )
            return
        if not isinstance(keys, list):
            raise ValueError("Parameter partition_keys must be of type list.")
        for key in keys:
            if not isinstance(key, str):
                raise ValueError(f"Element {key} in partition_keys is not a str.")


class ParallelRunStep(PythonScriptStep):
    """Runs ``parallel_run_config.entry_script`` over mini-batches of ``inputs`` (all
    FileDatasets or all TabularDatasets): ``init()`` once per process, ``run(mini_batch)`` once
    per mini-batch. ``side_inputs`` reach every process whole; ``arguments`` (keyword arguments
    only) reach the script."""

    def __init__(
        self,
        name,
        parallel_run_config,
        inputs,
        output=None,
        side_inputs=None,
        arguments=None,
        allow_reuse=True,
    ):
        self.parallel_run_config = parallel_run_config
        self._parallel_inputs = inputs
        self._parallel_output = output
        self._side_inputs = list(side_inputs or [])
        self._input_ds_type = None
        self._validate_arguments(arguments)
        self._validate_inputs()
        if parallel_run_config.output_action.lower() != "summary_only" and output is None:
            raise Exception("Please specify output parameter.")
        if not isinstance(parallel_run_config, ParallelRunConfig):
            raise Exception(
                "Param parallel_run_config must be a studio.sdk.pipeline.steps.ParallelRunConfig"
            )
        self.mini_batch_size = parallel_run_config.mini_batch_size
        if self.mini_batch_size is None:
            self.mini_batch_size = (
                DEFAULT_MINI_BATCH_SIZE_FILEDATASET
                if self._input_ds_type == FILE_TYPE_INPUT
                else DEFAULT_MINI_BATCH_SIZE_TABULARDATASET
            )
        self._validate_source_directory()
        self._validate_entry_script()
        step_inputs = [
            i.as_mount()
            if isinstance(i, DatasetConsumptionConfig)
            and self._input_ds_type == FILE_TYPE_INPUT
            and i.mode == "direct"
            else i
            for i in inputs
        ]
        self._parallel_inputs = step_inputs
        super().__init__(
            script_name=parallel_run_config.entry_script or "",
            name=name,
            arguments=list(arguments or []),
            compute_target=parallel_run_config.compute_target,
            inputs=[*step_inputs, *self._side_inputs],
            outputs=[output] if output is not None else [],
            source_directory=parallel_run_config.source_directory,
            allow_reuse=allow_reuse,
        )
        self.runconfig = _runconfig(parallel_run_config)

    def __repr__(self) -> str:
        return (
            f"ParallelRunStep(name={self.name!r}, "
            f"entry_script={self.parallel_run_config.entry_script!r})"
        )

    @staticmethod
    def _validate_arguments(arguments) -> None:
        if not arguments:
            return
        first = arguments[0]
        if not isinstance(first, str) or not first.startswith("-"):
            raise ValueError(
                f"Found invalid argument '{first}'. As your arguments will be merged with "
                "reserved argument, you can only use keyword argument."
            )
        for item in arguments:
            if isinstance(item, str) and item.startswith("--"):
                name = item[2:].split("=")[0]
                if name in RESERVED_ARGUMENTS:
                    raise ValueError(
                        f"'{name}' is a reserved argument in ParallelRunStep, please use another "
                        "argument name instead."
                    )

    def _validate_inputs(self) -> None:
        inputs = self._parallel_inputs
        assert isinstance(inputs, list) and inputs != [], (
            "The parameter 'inputs' must be a list and have at least one element"
            " or rank_mini_batch_count must be greater than zero."
        )
        self._input_ds_type = _input_type(inputs[0])
        for item in inputs:
            if _input_type(item) != self._input_ds_type:
                raise Exception("All inputs of step must be same type")

    def _validate_source_directory(self) -> None:
        source = self.parallel_run_config.source_directory
        if source:
            if not os.path.exists(source):
                raise ValueError(
                    f"The value '{source}' specified in source_directory doesn't exist."
                )
            if not os.path.isdir(source):
                raise ValueError(
                    f"The value '{source}' specified in source_directory is not a directory."
                )

    def _validate_entry_script(self) -> None:
        source = self.parallel_run_config.source_directory
        script = self.parallel_run_config.entry_script
        if script and source:
            full_path = os.path.join(source, script)
            if not os.path.exists(full_path):
                raise ValueError(f"The value '{script}' specified in entry_script doesn't exist.")
            if not os.path.isfile(full_path):
                raise ValueError(f"The value '{script}' specified in entry_script is not a file.")

    def _used_parameters(self) -> list[PipelineParameter]:
        config = self.parallel_run_config
        settings = [getattr(config, name) for name in PARALLEL_PARAMETER_SETTINGS]
        return [*super()._used_parameters(), *(v for v in settings if _is_parameter(v))]

    def _parallel_settings(self) -> dict:
        """The config's settings as the graph spec keeps them, and the pipeline parameters
        that give some of them in the run."""
        config = self.parallel_run_config
        values = {
            "mini_batch_size": self.mini_batch_size,
            "node_count": config.node_count,
            "process_count_per_node": config.process_count_per_node,
            "run_invocation_timeout": config.run_invocation_timeout,
            "run_max_try": config.run_max_try,
            "logging_level": config.logging_level,
        }
        parameters = {}
        for setting, value in list(values.items()):
            if _is_parameter(value):
                parameters[setting] = value.name
                default = value.default_value
                values[setting] = (
                    mini_batch_size_to_int(default) if setting == "mini_batch_size" else default
                )
        keys = config.partition_keys
        if _is_parameter(keys):
            keys = json.loads(keys.default_value)
        action = config.output_action.lower()
        return {
            "input_kind": self._input_ds_type,
            "error_threshold": config.error_threshold,
            "output_action": action,
            "append_row_file_name": config.append_row_file_name or DEFAULT_APPEND_ROW_FILE_NAME,
            "allowed_failed_count": config.allowed_failed_count,
            "allowed_failed_percent": config.allowed_failed_percent,
            "partition_keys": tuple(keys or ()),
            "parameters": tuple(sorted(parameters.items())),
            **values,
        }


def _runconfig(config: ParallelRunConfig) -> RunConfiguration:
    """The step's run configuration, as azureml makes it: the config's environment and
    environment variables, ``node_count`` nodes."""
    run_config = RunConfiguration()
    node_count = config.node_count
    run_config.node_count = node_count.default_value if _is_parameter(node_count) else node_count
    run_config.environment = config.environment
    run_config.environment_variables.update(config.environment_variables)
    return run_config


def _is_parameter(value) -> bool:
    return isinstance(value, PipelineParameter)


def _input_type(item) -> str:
    """FILE_TYPE_INPUT or TABULAR_TYPE_INPUT: what run() is given for this input."""
    if isinstance(item, DatasetConsumptionConfig):
        dataset = item.dataset
        if isinstance(dataset, PipelineParameter):
            dataset = dataset.default_value
        if isinstance(dataset, TabularDataset):
            if item.mode != "direct":
                raise Exception("Please ensure input dataset consumption mode is direct")
            return TABULAR_TYPE_INPUT
        if isinstance(dataset, FileDataset):
            return FILE_TYPE_INPUT
    if isinstance(item, (PipelineData, OutputFileDatasetConfig, InputBinding)):
        return FILE_TYPE_INPUT
    raise Exception(f"Step input must be of any type: {ALLOWED_INPUT_TYPES}, found {type(item)}")
