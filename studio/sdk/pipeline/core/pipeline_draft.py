"""``PipelineDraft``: a mutable pipeline that submits runs and publishes pipelines."""

from __future__ import annotations

import builtins
import json
import os
from collections import OrderedDict

from studio.core.spec import GraphSpec
from studio.sdk.core.experiment import Experiment
from studio.sdk.exceptions import UserErrorException
from studio.sdk.pipeline.core.graph import parameter_value
from studio.sdk.pipeline.core.pipeline import Pipeline
from studio.sdk.pipeline.core.published import PublishedPipeline
from studio.sdk.pipeline.core.run import PipelineRun


class PipelineDraft:
    """A pipeline kept on the server with the settings of its next run (experiment, parameter
    values, continue on step failure), edited with :meth:`update`, run with :meth:`submit_run`
    and published with :meth:`publish` as often as wanted."""

    def __init__(
        self,
        workspace,
        id,
        name=None,
        description=None,
        experiment_name=None,
        tags=None,
        properties=None,
        graph_draft_id=None,
        parent_pipeline_id=None,
        parent_pipeline_run_id=None,
        parent_step_run_ids=None,
        parent_pipeline_draft_id=None,
        last_submitted_pipeline_run_id=None,
        _pipeline_draft_provider=None,
    ):
        self._workspace = workspace
        self._id = id
        self._name = name
        self._description = description
        self._tags = tags
        self._properties = properties
        self._parent_pipeline_id = parent_pipeline_id
        self._parent_pipeline_run_id = parent_pipeline_run_id
        self._parent_step_run_ids = parent_step_run_ids
        self._parent_pipeline_draft_id = parent_pipeline_draft_id
        self._last_submitted_pipeline_run_id = last_submitted_pipeline_run_id
        self._graph_draft_id = graph_draft_id
        self._experiment_name = experiment_name
        self._pipeline_draft_provider = _pipeline_draft_provider

    @classmethod
    def _from_data(cls, workspace, data: dict) -> PipelineDraft:
        return cls(
            workspace,
            data["id"],
            name=data["name"],
            description=data["description"],
            experiment_name=data["experiment_name"],
            tags=data["tags"],
            properties=data["properties"],
            graph_draft_id=data["graph_draft_id"],
            parent_pipeline_id=data["parent_pipeline_id"],
            parent_pipeline_run_id=data["parent_pipeline_run_id"],
            parent_step_run_ids=data["parent_step_run_ids"],
            parent_pipeline_draft_id=data["parent_pipeline_draft_id"],
            last_submitted_pipeline_run_id=data["last_submitted_pipeline_run_id"],
        )

    def _load(self, data: dict) -> None:
        self.__dict__.update(PipelineDraft._from_data(self._workspace, data).__dict__)

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def tags(self) -> dict | None:
        return self._tags

    @property
    def properties(self) -> dict | None:
        return self._properties

    @property
    def parent_pipeline_id(self) -> str | None:
        return self._parent_pipeline_id

    @property
    def parent_pipeline_run_id(self) -> str | None:
        return self._parent_pipeline_run_id

    @property
    def parent_step_run_ids(self) -> builtins.list | None:
        return self._parent_step_run_ids

    @property
    def parent_pipeline_draft_id(self) -> str | None:
        return self._parent_pipeline_draft_id

    @property
    def last_submitted_pipeline_run_id(self) -> str | None:
        return self._last_submitted_pipeline_run_id

    @staticmethod
    def get(workspace, id, _workflow_provider=None, _service_endpoint=None) -> PipelineDraft:
        return PipelineDraft._from_data(workspace, workspace._client.get(f"pipelinedrafts/{id}/"))

    @staticmethod
    def create(
        workspace,
        pipeline,
        name=None,
        description=None,
        experiment_name=None,
        pipeline_parameters=None,
        continue_on_step_failure=None,
        tags=None,
        properties=None,
        _workflow_provider=None,
        _service_endpoint=None,
    ) -> PipelineDraft:
        """A new draft of a Pipeline (with the name, experiment and settings given), or a copy
        of a PublishedPipeline's, a PipelineRun's or another PipelineDraft's pipeline."""
        if type(pipeline) not in (Pipeline, PublishedPipeline, PipelineDraft, PipelineRun):
            raise ValueError(
                "pipeline should be of type Pipeline, PublishedPipeline, PipelineDraft, or PipelineRun"
            )
        client = workspace._client
        if type(pipeline) is Pipeline:
            pipeline._check_parameters(pipeline_parameters)
            if name is None:
                raise ValueError("name can not be None")
            if experiment_name is None:
                raise ValueError("experiment_name can not be None")
            body = {
                "name": name,
                "description": description or "",
                "experiment_name": experiment_name,
                "graph": pipeline.graph_spec.to_dict(),
                "pipeline_parameters": pipeline._parameter_values(pipeline_parameters),
                "continue_on_step_failure": continue_on_step_failure,
                "tags": _strings(tags),
                "properties": _strings(properties),
            }
            data = pipeline._post_with_snapshots(client, "pipelinedrafts/", body)
        else:
            field = {
                PipelineDraft: "pipeline_draft_id",
                PublishedPipeline: "published_pipeline_id",
                PipelineRun: "pipeline_run_id",
            }[type(pipeline)]
            data = client.post("pipelinedrafts/clone/", {field: pipeline.id})
        return PipelineDraft._from_data(workspace, data)

    def get_graph(self, _workflow_provider=None) -> GraphSpec:
        """The draft's pipeline graph: its steps, their ports and the pipeline parameters."""
        data = self._workspace._client.get(f"pipelinedrafts/{self.id}/")
        return GraphSpec.from_dict(data["graph"])

    def submit_run(self, _workflow_provider=None) -> PipelineRun:
        """Start a run of the draft in its experiment; returns its PipelineRun."""
        data = self._workspace._client.post(
            f"pipelinedrafts/{self.id}/submit/", {"experiment_name": self._experiment_name}
        )
        self._last_submitted_pipeline_run_id = data["id"]
        print(f"Submitted PipelineRun {data['id']}")
        print(f"Link to Studio: {data['url']}")
        experiment = Experiment(self._workspace, data["experiment"], _create=False)
        return PipelineRun(experiment, data["id"], _data=data)

    def _submit_from_experiment(self, experiment, tags=None, **kwargs):
        """``Experiment.submit(pipeline_draft)``: a run in that experiment."""
        self._experiment_name = experiment.name
        return self.submit_run()

    def publish(self, _workflow_provider=None) -> PublishedPipeline:
        """Publish the draft's pipeline, its parameter values as the defaults."""
        data = self._workspace._client.post(f"pipelinedrafts/{self.id}/publish/", {})
        return PublishedPipeline(self._workspace, data)

    def delete(self, _workflow_provider=None) -> None:
        self._workspace._client.request("DELETE", f"pipelinedrafts/{self.id}/")

    def update(
        self,
        pipeline=None,
        name=None,
        description=None,
        experiment_name=None,
        tags=None,
        pipeline_parameters=None,
        continue_on_step_failure=None,
        _workflow_provider=None,
    ) -> None:
        """Change what is given: the pipeline, the name, description, experiment, tags, the
        parameter values (all of them) and continue_on_step_failure."""
        body: dict = {}
        if pipeline is not None:
            if not isinstance(pipeline, Pipeline):
                raise ValueError("pipeline should be of type Pipeline")
            pipeline._check_parameters(pipeline_parameters)
            body["graph"] = pipeline.graph_spec.to_dict()
        if pipeline_parameters is not None:
            values = (
                pipeline._parameter_values(pipeline_parameters)
                if pipeline is not None
                else _values(self._workspace, pipeline_parameters)
            )
            body["pipeline_parameters"] = values
        given = {
            "name": name,
            "description": description,
            "experiment_name": experiment_name,
            "continue_on_step_failure": continue_on_step_failure,
            "tags": _strings(tags) if tags is not None else None,
        }
        body.update({k: v for k, v in given.items() if v is not None})
        client = self._workspace._client
        path = f"pipelinedrafts/{self.id}/"
        if pipeline is not None:
            self._patch_with_snapshots(pipeline, client, path, body)
        else:
            self._load(client.request("PATCH", path, json=body))

    def _patch_with_snapshots(self, pipeline, client, path: str, body: dict) -> None:
        pipeline._upload_snapshots(client)
        try:
            self._load(client.request("PATCH", path, json=body))
            return
        except UserErrorException as exc:
            if not (exc.field or "").endswith(".snapshot"):
                raise
        pipeline._upload_snapshots(client, recheck=True)
        self._load(client.request("PATCH", path, json=body))

    @staticmethod
    def list(workspace, tags=None, _workflow_provider=None) -> builtins.list[PipelineDraft]:
        """The workspace's drafts, or those that carry every tag given (name: value)."""
        params = {"tags": json.dumps(_strings(tags))} if tags else {}
        rows = workspace._client.get("pipelinedrafts/", **params)
        return [PipelineDraft._from_data(workspace, row) for row in rows]

    def save(self, path=None, _workflow_provider=None) -> None:
        """Write the draft's pipeline as YAML to ``path`` (a folder: ``<path>/<name>.yml``;
        None: the current folder)."""
        if not path:
            path = os.getcwd()
        if os.path.exists(path) and os.path.isdir(path):
            path = os.path.join(path, f"{self.name}.yml")
        import yaml

        with open(path, "w") as outfile:
            yaml.safe_dump(
                _pipeline_yaml(self.name or "", self.get_graph()), outfile, sort_keys=False
            )

    def _get_base_info_dict(self) -> OrderedDict:
        return OrderedDict(
            [
                ("Name", self.name),
                ("Id", self.id),
                ("Tags", self.tags),
                ("Properties", self.properties),
                ("Last Submitted Pipeline Run Id", self.last_submitted_pipeline_run_id),
            ]
        )

    def __str__(self) -> str:
        info = self._get_base_info_dict()
        formatted_info = ",\n".join(f"{k}: {v}" for k, v in info.items())
        return f"Pipeline({formatted_info})"

    def __repr__(self) -> str:
        return self.__str__()


def _strings(values) -> dict:
    return {str(k): str(v) for k, v in (values or {}).items()}


def _values(workspace, pipeline_parameters: dict) -> dict:
    return {k: parameter_value(v, workspace) for k, v in pipeline_parameters.items()}


_YAML_TYPES = {"str": "string", "int": "int", "float": "float", "bool": "bool"}


def _pipeline_yaml(name: str, spec: GraphSpec) -> dict:
    """The draft as azureml's pipeline YAML: ``pipeline: {name, parameters, data_references,
    steps}``, each step with its script, compute target, arguments, inputs and outputs."""
    parameters = {
        p.name: {"type": _YAML_TYPES.get(p.type, p.type), "default": p.default}
        for p in spec.parameters
    }
    data_references = {
        i.name: {"datastore": i.datastore, "path_on_datastore": i.path}
        for s in spec.steps
        for i in s.inputs
        if i.datastore
    }
    by_id = {s.node_id: s.name for s in spec.steps}
    steps = {}
    for s in spec.steps:
        inputs = {}
        for i in s.inputs:
            if i.is_step_output:
                source = f"{i.source_output}{i.source_step}"
            else:
                source = i.parameter or i.dataset_parameter or i.dataset or i.name
            inputs[i.name] = {"source": source, "type": i.mode}
        outputs = {
            o.name: {
                "destination": f"{o.name}{s.node_id}",
                "type": o.mode,
                "datastore": o.datastore,
            }
            for o in s.outputs
        }
        arguments = [
            {
                "literal": a.value,
                "parameter": f"parameter:{a.value}",
                "input": f"input:{a.value}",
            }.get(a.kind, f"output:{a.value}")
            for a in s.arguments
        ]
        key = s.name if list(by_id.values()).count(s.name) == 1 else s.name + s.node_id
        steps[key] = {
            "type": "CommandStep" if s.command else "PythonScriptStep",
            "script_name": s.script_name or None,
            "command": s.command,
            "compute": s.compute_target,
            "allow_reuse": s.allow_reuse,
            "arguments": arguments or None,
            "inputs": inputs or None,
            "outputs": outputs or None,
        }
    return {
        "pipeline": {
            "name": name,
            "parameters": parameters or None,
            "data_references": data_references or None,
            "steps": steps,
        }
    }
