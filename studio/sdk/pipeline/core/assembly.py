"""How a ``Pipeline`` turns its steps into the graph spec the server runs.

Each step gets a stable node id, each source directory one snapshot, each output the name
its consumers read it by; a step's inputs, outputs and arguments become ports and
arguments of its ``StepSpec``, with azureml's messages for what azureml refuses.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import snapshot
from studio.core.environments import Definition, parse_definition
from studio.core.spec import (
    MAX_TIMEOUT_SECONDS,
    Arg,
    GraphSpec,
    InputSpec,
    NotebookSpec,
    OutputSpec,
    ParallelSpec,
    ParameterSpec,
    StepSpec,
)
from studio.sdk.data import InputBinding, OutputFileDatasetConfig
from studio.sdk.data.data_reference import DataReference
from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import PipelineParameter, _is_datapath_binding


def short_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass
class Assembly:
    """The graph of ``steps`` (in order; ``after``: the control edges a StepSequence adds)."""

    steps: list
    after: dict
    default_source_directory: str | None
    workspace: object = None
    node_ids: dict = field(default_factory=dict)
    producer_of: dict = field(default_factory=dict)
    output_name: dict = field(default_factory=dict)
    parameters: dict[str, PipelineParameter] = field(default_factory=dict)
    snapshots: dict[str, bytes] = field(default_factory=dict)  # digest -> zip
    snapshot_files: dict[str, list[str]] = field(default_factory=dict)  # digest -> files
    digests: dict[str, str] = field(default_factory=dict)  # source directory -> digest

    def __post_init__(self) -> None:
        for position, step in enumerate(self.steps):
            self.node_ids[id(step)] = short_digest(f"{position}\0{step.name}\0{step.script_name}")
        self._name_outputs()

    def _name_outputs(self) -> None:
        """Who produces each output, and under which name its consumers read it."""
        for step in self.steps:
            for position, identity in enumerate(step._produced()):
                known = self.producer_of.get(id(identity))
                if known is not None and known is not step:
                    raise ValueError(
                        f"Step output {_display_name(identity)} can not be used as an output for "
                        f"step {step.name}, as it is already an output of step {known.name}."
                    )
                self.producer_of[id(identity)] = step
                self.output_name[id(identity)] = (
                    getattr(identity, "output_name", None)
                    or identity.name
                    or f"output_{short_digest(self.node_ids[id(step)] + str(position))}"
                )

    def graph(self, description: str | None) -> GraphSpec:
        specs = [self.step_spec(step) for step in self.steps]
        parameters = tuple(
            ParameterSpec(p.name, p.type, p._spec_default(self.workspace))
            for p in self.parameters.values()
        )
        return GraphSpec(steps=tuple(specs), parameters=parameters, description=description)

    def step_spec(self, step) -> StepSpec:
        digest = self._snapshot_of(step)
        self._collect_parameters(step)
        ports = _Ports(self, step)
        ports.add_listed_inputs()
        arguments = tuple(ports.argument(a) for a in step.arguments)
        params = tuple((str(k), ports.argument(v)) for k, v in step.params.items())
        notebook = _notebook_of(step, ports)
        run_after = [
            self.node_ids[id(s)]
            for s in [*step._run_after, *self.after.get(id(step), [])]
            if id(s) in self.node_ids
        ]
        return StepSpec(
            node_id=self.node_ids[id(step)],
            name=step.name,
            script_name=Path(step.script_name).as_posix() if step.script_name else "",
            snapshot=digest,
            compute_target=step.compute_target,
            arguments=arguments,
            inputs=tuple(ports.inputs.values()),
            outputs=tuple(self._outputs_of(step)),
            params=params,
            allow_reuse=step.allow_reuse,
            version=step.version,
            run_after=tuple(dict.fromkeys(run_after)),
            environment=_definition_of(step.runconfig) or _module_environment(step),
            command=getattr(step, "command", None),
            timeout_seconds=_timeout_of(step.runconfig),
            notebook=notebook,
            module=getattr(step, "_module_ref", None),
            parallel=_parallel_of(step, ports, self.output_name),
        )

    def _snapshot_of(self, step) -> str:
        """The digest of the step's source directory (snapshotted once per directory)."""
        stored = getattr(step, "_stored_snapshot", None)
        if stored is not None:  # a module version's snapshot, on the server already
            digest, files = stored
            self.snapshot_files[digest] = files
            return digest
        source = step.source_directory or self.default_source_directory or os.getcwd()
        script = Path(source) / step.script_name
        command = getattr(step, "command", None)
        what = "notebook" if hasattr(step, "notebook_run_config") else "script"
        if not command and not script.is_file():
            raise ValueError(
                f"Step [{step.name}]: {what} not found at: {script.resolve()}. Make sure to "
                "specify an appropriate source_directory on the Step or "
                "default_source_directory on the Pipeline."
            )
        key = str(Path(source).resolve())
        if key not in self.digests:
            digest, data, files = snapshot.build(source)
            self.digests[key] = digest
            self.snapshots[digest] = data
            self.snapshot_files[digest] = files
        if (
            not command
            and Path(step.script_name).as_posix() not in self.snapshot_files[self.digests[key]]
        ):
            raise ValueError(
                f"Step [{step.name}]: {what} not found at: {script.resolve()} in the snapshot of "
                "the source directory (is it listed in .amlignore or .gitignore, or a symbolic "
                "link?)"
            )
        return self.digests[key]

    def _collect_parameters(self, step) -> None:
        for parameter in step._used_parameters():
            known = self.parameters.get(parameter.name)
            if known is not None and (
                known.default_value != parameter.default_value
                or type(known.default_value) is not type(parameter.default_value)
            ):
                raise ValueError(
                    f"Graph already has pipeline parameter with same name {parameter.name} but "
                    f"different default values {known.default_value}, {parameter.default_value}"
                )
            self.parameters[parameter.name] = parameter

    def _outputs_of(self, step) -> list[OutputSpec]:
        outputs = []
        for identity in step._produced():
            used = next(
                (
                    o
                    for o in [*step.outputs, *step.arguments]
                    if getattr(o, "_identity", None) is identity
                ),
                identity,
            )
            kind = (
                "PipelineData" if isinstance(identity, PipelineData) else "OutputFileDatasetConfig"
            )
            register = used._register_spec() if isinstance(used, OutputFileDatasetConfig) else None
            if isinstance(identity, OutputFileDatasetConfig):
                datastore, path = identity._datastore_name, identity._path_template
            else:
                datastore, path = getattr(identity.datastore, "name", identity.datastore), None
            outputs.append(
                OutputSpec(
                    name=self.output_name[id(identity)],
                    kind=kind,
                    mode=used.mode,
                    datastore=datastore,
                    path=path,
                    register=tuple(register.items()) if register else (),
                    is_file=getattr(identity, "_is_file", False),
                )
            )
        return outputs


class _Ports:
    """One step's input ports (by name) and how its arguments refer to them."""

    def __init__(self, assembly: Assembly, step) -> None:
        self.assembly = assembly
        self.step = step
        self.inputs: dict[str, InputSpec] = {}
        self.produced = {id(i) for i in step._produced()}
        self.listed = {id(i._identity) for i in step.inputs if hasattr(i, "_identity")}
        self.listed_datapaths = {i[0].name for i in step.inputs if _is_datapath_binding(i)}

    def add_listed_inputs(self) -> None:
        for item in self.step.inputs:
            if _is_datapath_binding(item):
                self.datapath_port(item)
            elif isinstance(item, DatasetConsumptionConfig):
                self.add(_dataset_port(item, self.assembly.workspace))
            elif isinstance(item, DataReference):
                self.add(_reference_port(item))
            elif isinstance(item, (InputBinding, PipelineData, OutputFileDatasetConfig)):
                self.output_port(item)
            else:
                raise ValueError(f"Step [{self.step.name}]: unsupported input {item!r}")

    def add(self, port: InputSpec) -> str:
        existing = self.inputs.get(port.name)
        if existing is not None and existing != port:
            raise ValueError(f"[{port.name}] is repeated. Input port names must be unique.")
        self.inputs[port.name] = port
        return port.name

    def output_port(self, item) -> str:
        """An input fed by another step's output."""
        identity = item._identity
        producer = self.assembly.producer_of.get(id(identity))
        if producer is None:
            raise ValueError(
                f"Cannot build graph as step output [{_display_name(identity)}] does not have a "
                "producer"
            )
        source_name = self.assembly.output_name[id(identity)]
        binding = isinstance(item, InputBinding)
        port = InputSpec(
            name=(item.name if binding else None) or source_name,
            source_step=self.assembly.node_ids[id(producer)],
            source_output=source_name,
            mode=item.mode if binding else "mount",
        )
        existing = self.inputs.get(port.name)
        if existing is not None and (existing.source_step, existing.source_output) != (
            port.source_step,
            port.source_output,
        ):
            raise ValueError(f"[{port.name}] is repeated. Input port names must be unique.")
        self.inputs[port.name] = port
        return port.name

    def datapath_port(self, item) -> str:
        parameter, binding = item
        if parameter.type != "datapath":
            raise ValueError(
                f"Pipeline parameter {parameter.name} bound with DataPathComputeBinding must "
                "have a DataPath default"
            )
        self.inputs[parameter.name] = InputSpec(
            name=parameter.name, mode=binding.mode, parameter=parameter.name
        )
        return parameter.name

    def argument(self, value) -> Arg:
        """What a value in the step's arguments (or params) is to the step's command line."""
        if isinstance(value, PipelineParameter):
            return Arg("parameter", value.name)
        if isinstance(value, DatasetConsumptionConfig):
            return Arg("input", self.add(_dataset_port(value, self.assembly.workspace)))
        if isinstance(value, DataReference):
            return Arg("input", self._listed_reference(value))
        if _is_datapath_binding(value):
            if value[0].name not in self.listed_datapaths:
                raise ValueError(f"Parameterized datapath {value[0].name} is not in input list")
            return Arg("input", self.datapath_port(value))
        if isinstance(value, InputBinding):
            return Arg("input", self.output_port(value))
        if isinstance(value, (PipelineData, OutputFileDatasetConfig)):
            return self._data_argument(value)
        if isinstance(value, (str, int, float, bool)):
            return Arg("literal", str(value))
        raise ValueError(
            f"Step [{self.step.name}]: unsupported argument {value!r} of type "
            f"{type(value).__name__}"
        )

    def _listed_reference(self, value: DataReference) -> str:
        if not any(
            isinstance(i, DataReference) and i.data_reference_name == value.data_reference_name
            for i in self.step.inputs
        ):
            raise ValueError(
                f"Input {value.data_reference_name} appears in arguments list but is not in the "
                "input list"
            )
        return self.add(_reference_port(value))

    def _data_argument(self, value) -> Arg:
        """PipelineData or OutputFileDatasetConfig: this step's output, or an input it reads."""
        identity = value._identity
        if id(identity) in self.produced:
            return Arg("output", self.assembly.output_name[id(identity)])
        if id(identity) in self.listed or isinstance(value, OutputFileDatasetConfig):
            return Arg("input", self.output_port(value))
        raise ValueError(
            f"Input/Output {value.name} appears in arguments list but is not in the input/output "
            "lists"
        )


def _dataset_port(item, workspace) -> InputSpec:
    """A dataset input: saved on the server (unregistered definitions anonymously) and named;
    or the dataset-typed pipeline parameter it reads."""
    if workspace is None:
        raise ValueError("A pipeline with dataset inputs needs a workspace")
    parameter = item._parameter
    if parameter is not None:
        name = item.name or f"input_{parameter.name}"
        return InputSpec(name=name, mode=item.mode, dataset_parameter=parameter.name)
    dataset_id = item.dataset._ensure_saved(workspace)
    name = item.name or f"input_{dataset_id.replace('-', '')[:8]}"
    return InputSpec(name=name, mode=item.mode, dataset=dataset_id)


def _reference_port(item: DataReference) -> InputSpec:
    """A DataReference input: a fixed path on a datastore."""
    if item.mode == "upload":
        raise ValueError(
            f"DataReference {item.data_reference_name} in upload mode is an output: use "
            "OutputFileDatasetConfig(destination=(datastore, path)) for a step's output."
        )
    return InputSpec(
        name=item.data_reference_name,
        mode=item.mode,
        datastore=item.datastore_name,
        path=item.path_on_datastore or "",
    )


def _notebook_of(step, ports: _Ports) -> NotebookSpec | None:
    """A NotebookRunnerStep's notebook: its parameters literal (as JSON) or resolved in the
    run (pipeline parameters, inputs and outputs)."""
    config = getattr(step, "notebook_run_config", None)
    if config is None:
        return None
    parameters = []
    for name, value in step._notebook_values().items():
        if isinstance(value, (PipelineParameter, DatasetConsumptionConfig, DataReference)) or (
            _is_datapath_binding(value)
            or isinstance(value, (InputBinding, PipelineData, OutputFileDatasetConfig))
        ):
            parameters.append((str(name), ports.argument(value)))
        else:
            parameters.append((str(name), Arg("literal", json.dumps(value))))
    handler = config.handler
    options = getattr(handler, "papermill_args", {})
    output = Path(config.output_notebook).as_posix()
    return NotebookSpec(
        path=Path(config.notebook).as_posix(),
        output=output[len("outputs/") :] if output.startswith("outputs/") else output,
        parameters=tuple(parameters),
        timeout=getattr(handler, "execution_args", {}).get("timeout"),
        progress_bar=bool(options.get("progress_bar", True)),
        log_output=bool(options.get("log_output", False)),
        kernel=options.get("kernel_name") or "python3",
        cwd=options.get("cwd"),
        output_data=step._output_notebook_pipeline_data_name or None,
    )


def _parallel_of(step, ports: _Ports, output_name: dict) -> ParallelSpec | None:
    """A ParallelRunStep's settings: the input ports it splits into mini-batches (its other
    inputs are side inputs) and the output its rows are appended to."""
    if not hasattr(step, "parallel_run_config"):
        return None
    output = step._parallel_output
    return ParallelSpec(
        inputs=tuple(dict.fromkeys(ports.argument(i).value for i in step._parallel_inputs)),
        output=output_name[id(output._identity)] if output is not None else None,
        **step._parallel_settings(),
    )


def _timeout_of(runconfig) -> int | None:
    """The run configuration's ``max_run_duration_seconds`` (None: no limit of its own)."""
    seconds = getattr(runconfig, "max_run_duration_seconds", None)
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError(
            f"max_run_duration_seconds must be a positive number of seconds, not {seconds!r}."
        )
    return max(1, min(int(seconds), MAX_TIMEOUT_SECONDS))


def _definition_of(runconfig) -> Definition | None:
    definition = _environment_definition(runconfig)
    return parse_definition(definition) if definition is not None else None


def _module_environment(step) -> Definition | None:
    """A ModuleStep without a run configuration runs in its module version's environment."""
    stored = getattr(step, "_module_environment", None)
    return parse_definition(stored) if stored is not None else None


def _environment_definition(runconfig) -> dict | None:
    """The step's environment as the server builds it: the run configuration's environment,
    with its ``environment_variables`` and Docker choice."""
    environment = getattr(runconfig, "environment", None)
    if environment is None or not hasattr(environment, "_definition"):
        return None
    docker = getattr(getattr(runconfig, "docker", None), "use_docker", False)
    return environment._definition(
        extra_variables=getattr(runconfig, "environment_variables", None) or {},
        docker=bool(docker),
    )


def _display_name(identity) -> str:
    return identity.name or "(unnamed output)"
