"""``Pipeline`` and ``StepSequence``: the graph is built, checked and snapshotted at construction."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from studio.core import snapshot
from studio.core.errors import StudioError
from studio.core.spec import (
    Arg,
    GraphSpec,
    InputSpec,
    OutputSpec,
    ParameterSpec,
    StepSpec,
    validate_graph,
)
from studio.sdk.core.experiment import Experiment
from studio.sdk.data import InputBinding, OutputFileDatasetConfig
from studio.sdk.data.data_reference import DataReference
from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.exceptions import UserErrorException
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import (
    PipelineParameter,
    _is_datapath_binding,
    check_dataset_value,
    parameter_value,
)
from studio.sdk.pipeline.core.published import PublishedPipeline
from studio.sdk.pipeline.core.run import PipelineRun


class StepSequence:
    """Steps that run one after another; an item may be a list of steps that run together."""

    def __init__(self, steps=None):
        self.steps = list(steps or [])


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class Pipeline:
    def __init__(
        self,
        workspace,
        steps,
        description: str | None = None,
        default_datastore=None,
        default_source_directory: str | None = None,
        resolve_closure: bool = True,
        **kwargs,
    ):
        for key in kwargs:
            if key != "enable_email_notification":
                raise ValueError(f"parameter {key} is not recognized for Pipeline ")
        self.workspace = workspace
        self.description = description
        self.default_source_directory = default_source_directory
        ordered, after = _flatten(steps)
        if resolve_closure:
            ordered = _closure(ordered)
        self._steps = ordered
        spec, self._snapshots, snapshot_files = _build(
            ordered, after, description, default_source_directory, workspace
        )
        try:
            # The server parses the graph with the same code: refuse here what it would refuse.
            self._spec = GraphSpec.from_dict(spec.to_dict())
        except StudioError as exc:
            raise ValueError(exc.message) from None
        errors = validate_graph(self._spec, snapshot_files=snapshot_files)
        if errors:
            raise ValueError(errors[0].message)

    def __repr__(self) -> str:
        return f"Pipeline(steps={[s.name for s in self._steps]})"

    @property
    def graph_spec(self) -> GraphSpec:
        return self._spec

    def validate(self) -> list[str]:
        return [e.message for e in validate_graph(self._spec)]

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id=None,
        credential_passthrough=None,
        **kwargs,
    ):
        return self._submit(
            Experiment(self.workspace, experiment_name),
            pipeline_parameters=pipeline_parameters,
            regenerate_outputs=regenerate_outputs,
            continue_on_step_failure=continue_on_step_failure,
            tags=None,
        )

    def _submit_from_experiment(self, experiment, tags=None, **kwargs):
        """``Experiment.submit(pipeline, ...)``: azureml's keywords for a Pipeline."""
        return self._submit(
            experiment,
            pipeline_parameters=kwargs.get("pipeline_parameters", kwargs.get("pipeline_params")),
            regenerate_outputs=kwargs.get("regenerate_outputs", False),
            continue_on_step_failure=kwargs.get("continue_on_step_failure", False),
            tags=tags,
        )

    def publish(
        self,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ):
        """Freeze this pipeline with its parameters and defaults behind a REST endpoint."""
        if not name:
            raise ValueError("A published pipeline needs a name")
        client = self.workspace._client
        data = self._post_with_snapshots(
            client,
            "publishedpipelines/",
            {
                "name": name,
                "description": description or "",
                "version": "" if version is None else str(version),
                "continue_on_step_failure": continue_on_step_failure,
                "graph": self._spec.to_dict(),
            },
        )
        return PublishedPipeline(self.workspace, data)

    def _upload_snapshots(self, client, recheck: bool = False) -> None:
        """Upload the snapshots the server does not hold (each source directory once)."""
        digests = [d for d in self._snapshots if recheck or d not in client.known_snapshots]
        if not digests:
            return
        missing = client.post("snapshots/missing/", {"digests": digests})["missing"]
        for digest in missing:
            client.request(
                "PUT",
                f"snapshots/{digest}/upload/",
                data=self._snapshots[digest],
                headers={"Content-Type": "application/zip"},
            )
        client.known_snapshots.update(digests)

    def _post_with_snapshots(self, client, path: str, body: dict) -> dict:
        """POST a body naming this pipeline's snapshots, uploading any the server lacks.

        The snapshots this client uploaded before are not checked again; if the server has
        lost one since (a new data directory), the refusal names it and they are checked and
        sent once more.
        """
        self._upload_snapshots(client)
        try:
            return client.post(path, body)
        except UserErrorException as exc:
            if not (exc.field or "").endswith(".snapshot"):
                raise
        self._upload_snapshots(client, recheck=True)
        return client.post(path, body)

    def _submit(
        self,
        experiment,
        pipeline_parameters=None,
        regenerate_outputs=False,
        continue_on_step_failure=False,
        tags=None,
    ):
        declared = {p.name: p for p in self._spec.parameters}
        for name, value in (pipeline_parameters or {}).items():
            if name not in declared:
                raise UserErrorException(f"Pipeline parameter with name {name} does not exist")
            check_dataset_value(name, declared[name].type, declared[name].default, value)
        client = experiment.workspace._client
        for step in self._spec.steps:
            promise = (
                "This step is eligible to reuse a previous run's output"
                if step.allow_reuse and not regenerate_outputs
                else "This step will run and generate new outputs"
            )
            print(f"Created step {step.name} [{step.node_id}][{step.snapshot[:8]}], ({promise})")
        data = self._post_with_snapshots(
            client,
            "runs/",
            {
                "experiment_name": experiment.name,
                "graph": self._spec.to_dict(),
                "pipeline_parameters": {
                    k: parameter_value(v, self.workspace)
                    for k, v in (pipeline_parameters or {}).items()
                },
                "regenerate_outputs": bool(regenerate_outputs),
                "continue_on_step_failure": bool(continue_on_step_failure),
                "tags": {str(k): str(v) for k, v in (tags or {}).items()},
                "description": self.description,
            },
        )
        print(f"Submitted PipelineRun {data['id']}")
        print(f"Link to Studio: {data['url']}")
        return PipelineRun(experiment, data["id"], _data=data)


def _flatten(steps) -> tuple[list, dict]:
    """The steps in order, and the control edges that StepSequence adds (step → steps before it)."""
    ordered: list = []
    after: dict = {}

    def add(step):
        if not any(step is s for s in ordered):
            ordered.append(step)

    def items_of(item) -> list:
        if isinstance(item, (list, tuple)):
            return [s for sub in item for s in items_of(sub)]
        if isinstance(item, StepSequence):
            return [s for sub in item.steps for s in items_of(sub)]
        if isinstance(item, (PipelineData, OutputFileDatasetConfig)):
            producers = getattr(item._identity, "_producers", [])
            if not producers:
                raise ValueError(
                    f"Cannot build graph as step output [{item.name}] does not have a producer"
                )
            return [producers[0]]
        if hasattr(item, "script_name"):
            return [item]
        raise ValueError(f"Not a pipeline step: {item!r}")

    def walk(item):
        if isinstance(item, StepSequence):
            previous: list = []
            for sub in item.steps:
                current = items_of(sub)
                for step in current:
                    after.setdefault(id(step), []).extend(previous)
                walk(sub)
                previous = current
        elif isinstance(item, (list, tuple)):
            for sub in item:
                walk(sub)
        else:
            for step in items_of(item):
                add(step)

    walk(steps if isinstance(steps, (list, tuple, StepSequence)) else [steps])
    return ordered, after


def _closure(steps: list) -> list:
    """Pull in the producers of every input and the steps named by run_after."""
    result = list(steps)
    index = 0
    while index < len(result):
        step = result[index]
        for identity in step._consumed_identities():
            for producer in getattr(identity, "_producers", [])[:1]:
                if not any(producer is s for s in result):
                    result.append(producer)
        for other in step._run_after:
            if not any(other is s for s in result):
                result.append(other)
        index += 1
    return result


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


def _build(
    steps: list, after: dict, description, default_source_directory, workspace=None
) -> tuple[GraphSpec, dict[str, bytes], dict[str, list[str]]]:
    node_ids = {}
    for position, step in enumerate(steps):
        node_ids[id(step)] = _short(f"{position}\0{step.name}\0{step.script_name}")

    # Who produces each output, and under which name.
    producer_of: dict = {}
    output_name: dict = {}
    for step in steps:
        for position, identity in enumerate(step._produced()):
            if id(identity) in producer_of and producer_of[id(identity)] is not step:
                raise ValueError(
                    f"Step output {_display_name(identity)} can not be used as an output for step {step.name}, "
                    f"as it is already an output of step {producer_of[id(identity)].name}."
                )
            producer_of[id(identity)] = step
            output_name[id(identity)] = (
                getattr(identity, "output_name", None)
                or identity.name
                or f"output_{_short(node_ids[id(step)] + str(position))}"
            )

    parameters: dict[str, PipelineParameter] = {}
    snapshots: dict[str, bytes] = {}
    snapshot_files: dict[str, list[str]] = {}
    digests: dict[str, str] = {}

    def build(step) -> StepSpec:
        source = step.source_directory or default_source_directory or os.getcwd()
        script = Path(source) / step.script_name
        if not script.is_file():
            raise ValueError(
                f"Step [{step.name}]: script not found at: {script.resolve()}. Make sure to specify an appropriate "
                "source_directory on the Step or default_source_directory on the Pipeline."
            )
        key = str(Path(source).resolve())
        if key not in digests:
            digest, data, files = snapshot.build(source)
            digests[key] = digest
            snapshots[digest] = data
            snapshot_files[digest] = files
        if Path(step.script_name).as_posix() not in snapshot_files[digests[key]]:
            raise ValueError(
                f"Step [{step.name}]: script not found at: {script.resolve()} in the snapshot of the source directory "
                "(is it listed in .amlignore or .gitignore, or a symbolic link?)"
            )

        for parameter in step._used_parameters():
            known = parameters.get(parameter.name)
            if known is not None and (
                known.default_value != parameter.default_value
                or type(known.default_value) is not type(parameter.default_value)
            ):
                raise ValueError(
                    f"Graph already has pipeline parameter with same name {parameter.name} but different default values "
                    f"{known.default_value}, {parameter.default_value}"
                )
            parameters[parameter.name] = parameter

        produced = {id(i) for i in step._produced()}
        inputs: dict[str, InputSpec] = {}

        def input_port(item) -> str:
            identity = item._identity
            producer = producer_of.get(id(identity))
            if producer is None:
                raise ValueError(
                    f"Cannot build graph as step output [{_display_name(identity)}] does not have a producer"
                )
            source_name = output_name[id(identity)]
            port = (item.name if isinstance(item, InputBinding) else None) or source_name
            mode = item.mode if isinstance(item, InputBinding) else "mount"
            existing = inputs.get(port)
            if existing is not None and (existing.source_step, existing.source_output) != (
                node_ids[id(producer)],
                source_name,
            ):
                raise ValueError(f"[{port}] is repeated. Input port names must be unique.")
            inputs[port] = InputSpec(
                name=port, source_step=node_ids[id(producer)], source_output=source_name, mode=mode
            )
            return port

        def dataset_port(item) -> str:
            port = _dataset_port(item, workspace)
            existing = inputs.get(port.name)
            if existing is not None and existing != port:
                raise ValueError(f"[{port.name}] is repeated. Input port names must be unique.")
            inputs[port.name] = port
            return port.name

        def reference_port(item) -> str:
            port = _reference_port(item)
            existing = inputs.get(port.name)
            if existing is not None and existing != port:
                raise ValueError(f"[{port.name}] is repeated. Input port names must be unique.")
            inputs[port.name] = port
            return port.name

        def datapath_port(item) -> str:
            parameter, binding = item
            if parameter.type != "datapath":
                raise ValueError(
                    f"Pipeline parameter {parameter.name} bound with DataPathComputeBinding must have a DataPath default"
                )
            inputs[parameter.name] = InputSpec(
                name=parameter.name, mode=binding.mode, parameter=parameter.name
            )
            return parameter.name

        listed_datapaths = {item[0].name for item in step.inputs if _is_datapath_binding(item)}
        for item in step.inputs:
            if _is_datapath_binding(item):
                datapath_port(item)
            elif isinstance(item, DatasetConsumptionConfig):
                dataset_port(item)
            elif isinstance(item, DataReference):
                reference_port(item)
            elif isinstance(item, (InputBinding, PipelineData, OutputFileDatasetConfig)):
                input_port(item)
            else:
                raise ValueError(f"Step [{step.name}]: unsupported input {item!r}")

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
                    name=output_name[id(identity)],
                    kind=kind,
                    mode=used.mode,
                    datastore=datastore,
                    path=path,
                    register=tuple(register.items()) if register else (),
                    is_file=getattr(identity, "_is_file", False),
                )
            )

        listed_inputs = {id(i._identity) for i in step.inputs if hasattr(i, "_identity")}

        def to_arg(value) -> Arg:
            if isinstance(value, PipelineParameter):
                return Arg("parameter", value.name)
            if isinstance(value, DatasetConsumptionConfig):
                return Arg("input", dataset_port(value))
            if isinstance(value, DataReference):
                if not any(
                    isinstance(i, DataReference)
                    and i.data_reference_name == value.data_reference_name
                    for i in step.inputs
                ):
                    raise ValueError(
                        f"Input {value.data_reference_name} appears in arguments list but is not in the input list"
                    )
                return Arg("input", reference_port(value))
            if _is_datapath_binding(value):
                if value[0].name not in listed_datapaths:
                    raise ValueError(f"Parameterized datapath {value[0].name} is not in input list")
                return Arg("input", datapath_port(value))
            if isinstance(value, InputBinding):
                return Arg("input", input_port(value))
            if isinstance(value, (PipelineData, OutputFileDatasetConfig)):
                identity = value._identity
                if id(identity) in produced:
                    return Arg("output", output_name[id(identity)])
                if id(identity) in listed_inputs or isinstance(value, OutputFileDatasetConfig):
                    return Arg("input", input_port(value))
                raise ValueError(
                    f"Input/Output {value.name} appears in arguments list but is not in the input/output lists"
                )
            if isinstance(value, (str, int, float, bool)):
                return Arg("literal", str(value))
            raise ValueError(
                f"Step [{step.name}]: unsupported argument {value!r} of type {type(value).__name__}"
            )

        arguments = tuple(to_arg(a) for a in step.arguments)
        params = tuple((str(k), to_arg(v)) for k, v in step.params.items())
        run_after = [
            node_ids[id(s)]
            for s in [*step._run_after, *after.get(id(step), [])]
            if id(s) in node_ids
        ]
        return StepSpec(
            node_id=node_ids[id(step)],
            name=step.name,
            script_name=Path(step.script_name).as_posix(),
            snapshot=digests[key],
            compute_target=step.compute_target,
            arguments=arguments,
            inputs=tuple(inputs.values()),
            outputs=tuple(outputs),
            params=params,
            allow_reuse=step.allow_reuse,
            version=step.version,
            run_after=tuple(dict.fromkeys(run_after)),
            environment=_environment_label(step.runconfig),
        )

    specs = [build(step) for step in steps]

    spec = GraphSpec(
        steps=tuple(specs),
        parameters=tuple(
            ParameterSpec(p.name, p.type, p._spec_default(workspace)) for p in parameters.values()
        ),
        description=description,
    )
    return spec, snapshots, snapshot_files


def _environment_label(runconfig) -> str | None:
    """What the step records of its environment (part of its fingerprint)."""
    environment = getattr(runconfig, "environment", None)
    if environment is None:
        return None
    if hasattr(environment, "_label"):
        return environment._label()
    return str(getattr(environment, "name", environment))


def _display_name(identity) -> str:
    return identity.name or "(unnamed output)"
