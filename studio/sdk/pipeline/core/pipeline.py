"""``Pipeline`` and ``StepSequence``: the graph is built, checked and snapshotted at construction."""

from __future__ import annotations

from studio.core.errors import StudioError
from studio.core.spec import (
    GraphSpec,
)
from studio.core.validation import validate_graph
from studio.sdk._names import checked_name
from studio.sdk.core.experiment import Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.exceptions import UserErrorException
from studio.sdk.pipeline.core.assembly import Assembly
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import (
    check_dataset_value,
    parameter_value,
)
from studio.sdk.pipeline.core.published import PublishedPipeline
from studio.sdk.pipeline.core.run import PipelineRun


class StepSequence:
    """Steps that run one after another; an item may be a list of steps that run together."""

    def __init__(self, steps=None):
        self.steps = list(steps or [])


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
        assembly = Assembly(ordered, after, default_source_directory, workspace)
        spec = assembly.graph(description)
        self._snapshots, snapshot_files = assembly.snapshots, assembly.snapshot_files
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
    ) -> PipelineRun:
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
    ) -> PublishedPipeline:
        """Freeze this pipeline with its parameters and defaults behind a REST endpoint."""
        if not name:
            raise ValueError("A published pipeline needs a name")
        checked_name("published pipeline", name)
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

    def _check_parameters(self, pipeline_parameters: dict | None) -> None:
        """Refuse values for parameters the pipeline does not declare, as azureml does."""
        declared = {p.name: p for p in self._spec.parameters}
        for name, value in (pipeline_parameters or {}).items():
            if name not in declared:
                raise UserErrorException(f"Pipeline parameter with name {name} does not exist")
            check_dataset_value(name, declared[name].type, declared[name].default, value)

    def _parameter_values(self, pipeline_parameters: dict | None) -> dict:
        """The values as the server takes them (a dataset or a DataPath by reference)."""
        return {
            k: parameter_value(v, self.workspace) for k, v in (pipeline_parameters or {}).items()
        }

    def _submit(
        self,
        experiment,
        pipeline_parameters=None,
        regenerate_outputs=False,
        continue_on_step_failure=False,
        tags=None,
    ):
        self._check_parameters(pipeline_parameters)
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
                "pipeline_parameters": self._parameter_values(pipeline_parameters),
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
