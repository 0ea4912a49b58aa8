"""``PublishedPipeline`` and ``PipelineEndpoint``: pipelines behind REST endpoints."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from studio.sdk._names import checked_name
from studio.sdk.core.experiment import Experiment
from studio.sdk.exceptions import UserErrorException
from studio.sdk.pipeline.core.graph import parameter_value
from studio.sdk.run_types import run_type


def _submission_body(
    workspace,
    experiment_name: str,
    pipeline_parameters: dict | None,
    continue_on_step_failure=None,
    tags: dict | None = None,
) -> dict:
    """Azure's PipelineSubmissionInfo, as the SDK sends it."""
    parameters, datapaths, datasets = {}, {}, {}
    for name, value in (pipeline_parameters or {}).items():
        data = parameter_value(value, workspace)
        if isinstance(data, dict) and "kind" in data:
            datasets[name] = {"SavedDataSetReference": {"Id": data["id"]}}
        elif isinstance(data, dict):
            datapaths[name] = {"DataStoreName": data["datastore"], "RelativePath": data["path"]}
        else:
            parameters[name] = data if isinstance(data, (int, float, bool)) else str(data)
    body: dict[str, Any] = {
        "ExperimentName": experiment_name,
        "ParameterAssignments": parameters,
        "RunSource": "SDK",
    }
    if datapaths:
        body["DataPathAssignments"] = datapaths
    if datasets:
        body["DataSetDefinitionValueAssignments"] = datasets
    if continue_on_step_failure is not None:
        body["ContinueRunOnStepFailure"] = bool(continue_on_step_failure)
    if tags:
        body["tags"] = {str(k): str(v) for k, v in tags.items()}
    return body


def _run_from_entity(workspace, entity: dict):
    experiment = Experiment(workspace, entity["RunHistoryExperimentName"], _create=False)
    print(f"Submitted PipelineRun {entity['Id']}")
    print(f"Link to Studio: {entity['RunUrl']}")
    for warning in entity.get("Warnings") or []:
        print(f"Warning: {warning}")
    return run_type("azureml.PipelineRun")(experiment, entity["Id"])


class PublishedPipeline:
    """A pipeline frozen with its parameters and defaults; ``endpoint`` is its REST URL."""

    def __init__(self, workspace, data: dict):
        self.workspace = workspace
        self._load(data)

    def _load(self, data: dict) -> None:
        self._data = data
        self.id = data["id"]
        self.name = data["name"]
        self.description = data["description"]
        self.version = data["version"]
        self.status = data["status"]
        self.endpoint = data["endpoint"]
        self.graph_id = data["graph_id"]
        self.total_run_steps = data["total_run_steps"]
        self.continue_on_step_failure = data["continue_on_step_failure"]

    def get_step_names(self) -> builtins.list[str]:
        return list(self._data["step_names"])

    def __repr__(self) -> str:
        return f"PublishedPipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, Endpoint: {self.endpoint})"

    @property
    def parameters(self) -> builtins.list[dict]:
        return list(self._data["parameters"])

    @staticmethod
    def get(workspace, id: str) -> PublishedPipeline:
        return PublishedPipeline(workspace, workspace._client.get(f"publishedpipelines/{id}/"))

    @staticmethod
    def list(workspace, active_only: bool = True) -> builtins.list[PublishedPipeline]:
        rows = workspace._client.get("publishedpipelines/", active_only=str(active_only).lower())
        return [PublishedPipeline(workspace, row) for row in rows]

    def enable(self) -> None:
        self._load(self.workspace._client.post(f"publishedpipelines/{self.id}/enable/"))

    def disable(self) -> None:
        self._load(self.workspace._client.post(f"publishedpipelines/{self.id}/disable/"))

    def submit(
        self,
        workspace,
        experiment_name: str,
        pipeline_parameters: dict | None = None,
        parent_run_id=None,
        continue_on_step_failure=None,
        _tags: dict | None = None,
    ) -> Any:
        """Start a run through the REST endpoint; returns its PipelineRun."""
        body = _submission_body(
            workspace, experiment_name, pipeline_parameters, continue_on_step_failure, _tags
        )
        url = self.endpoint + (f"?parentRunId={parent_run_id}" if parent_run_id else "")
        return _run_from_entity(workspace, workspace._client.request("POST", url, json=body))

    def _submit_from_experiment(self, experiment, tags=None, **kwargs):
        """``Experiment.submit(published_pipeline, ...)``: azureml's keywords for it."""
        return self.submit(
            experiment.workspace,
            experiment.name,
            pipeline_parameters=kwargs.get("pipeline_parameters", kwargs.get("pipeline_params")),
            parent_run_id=kwargs.get("parent_run_id"),
            continue_on_step_failure=kwargs.get("continue_on_step_failure"),
            _tags=tags,
        )


@dataclass(frozen=True)
class PipelineIdVersion:
    version: str
    pipeline_id: str


@dataclass(frozen=True)
class PipelineVersion:
    """A version of a pipeline endpoint: ``version`` ("0", "1", ...) and its ``pipeline``."""

    pipeline: PublishedPipeline
    version: str


class PipelineEndpoint:
    """One URL for several published pipelines (versions "0", "1", ...) and a default version."""

    def __init__(self, workspace, data: dict):
        self.workspace = workspace
        self._load(data)

    def _load(self, data: dict) -> None:
        self.id = data["id"]
        self.name = data["name"]
        self.description = data["description"]
        self.status = data["status"]
        self.default_version = data["default_version"]
        self.endpoint = data["endpoint"]
        self.swaggerurl = data["swaggerurl"]
        self.pipeline_version_list = [
            PipelineIdVersion(v["version"], v["pipeline_id"]) for v in data["pipeline_version_list"]
        ]

    def __repr__(self) -> str:
        return f"PipelineEndpoint(Name: {self.name}, Id: {self.id}, Default version: {self.default_version})"

    @staticmethod
    def publish(workspace, name: str, description: str, pipeline) -> PipelineEndpoint:
        """Create an endpoint whose version "0" is ``pipeline`` (a Pipeline is published first)."""
        if not hasattr(pipeline, "publish") and not isinstance(pipeline, PublishedPipeline):
            raise ValueError("pipeline should be either type Pipeline or PublishedPipeline")
        checked_name("pipeline endpoint", name)
        if workspace._client.get("pipelineendpoints/", name=name, active_only="false"):
            raise ValueError(
                "PipelineEndpoint already exists with the given name. Please choose a unique value."
            )
        published = _as_published(workspace, pipeline, name)
        data = workspace._client.post(
            "pipelineendpoints/",
            {"name": name, "description": description or "", "pipeline_id": published.id},
        )
        return PipelineEndpoint(workspace, data)

    @staticmethod
    def get(workspace, id: str | None = None, name: str | None = None) -> PipelineEndpoint:
        if id is not None:
            return PipelineEndpoint(workspace, workspace._client.get(f"pipelineendpoints/{id}/"))
        if name is None:
            raise Exception("Please, enter either id or name to get PipelineEndpoint")
        rows = workspace._client.get("pipelineendpoints/", name=name, active_only="false")
        if not rows:
            raise UserErrorException(f"No pipeline endpoint named {name}")
        return PipelineEndpoint(workspace, rows[0])

    @staticmethod
    def list(
        workspace, active_only: bool = True, max_results: int = 100
    ) -> builtins.list[PipelineEndpoint]:
        rows = workspace._client.get("pipelineendpoints/", active_only=str(active_only).lower())
        return [PipelineEndpoint(workspace, row) for row in rows[:max_results]]

    def _refresh(self) -> None:
        self._load(self.workspace._client.get(f"pipelineendpoints/{self.id}/"))

    def add(self, pipeline) -> None:
        published = _as_published(self.workspace, pipeline, self.name)
        self._load(
            self.workspace._client.post(
                f"pipelineendpoints/{self.id}/versions/", {"pipeline_id": published.id}
            )
        )

    def add_default(self, pipeline) -> None:
        published = _as_published(self.workspace, pipeline, self.name)
        self._load(
            self.workspace._client.post(
                f"pipelineendpoints/{self.id}/versions/",
                {"pipeline_id": published.id, "set_default": True},
            )
        )

    def get_default_version(self) -> str:
        return self.default_version

    def set_name(self, name: str) -> None:
        """Rename the endpoint (its id and URL stay)."""
        checked_name("pipeline endpoint", name)
        try:
            data = self.workspace._client.request(
                "PATCH", f"pipelineendpoints/{self.id}/", json={"name": name}
            )
        except UserErrorException as exc:
            raise ValueError(exc.message) from None
        self._load(data)

    def set_default_version(self, version) -> None:
        try:
            self._load(
                self.workspace._client.post(
                    f"pipelineendpoints/{self.id}/default/", {"version": str(version)}
                )
            )
        except UserErrorException as exc:
            raise ValueError(exc.message) from None

    def set_default(self, pipeline) -> None:
        self._refresh()
        for item in self.pipeline_version_list:
            if item.pipeline_id == pipeline.id:
                self.set_default_version(item.version)
                return
        raise ValueError(f"Pipeline {pipeline.id} is not a version of endpoint {self.name}")

    def get_pipeline(self, version=None) -> PublishedPipeline:
        self._refresh()
        wanted = str(version) if version is not None else self.default_version
        for item in self.pipeline_version_list:
            if item.version == wanted:
                return PublishedPipeline.get(self.workspace, item.pipeline_id)
        raise ValueError(f"Version {wanted}, pipeline not found in pipelineEndpoint {self.name}")

    def list_versions(self) -> builtins.list[PipelineVersion]:
        """Every version with its published pipeline."""
        self._refresh()
        return [
            PipelineVersion(PublishedPipeline.get(self.workspace, v.pipeline_id), v.version)
            for v in self.pipeline_version_list
        ]

    def list_pipelines(self, active_only: bool = True) -> builtins.list[PublishedPipeline]:
        pipelines = [v.pipeline for v in self.list_versions()]
        return [p for p in pipelines if p.status == "Active" or not active_only]

    def enable(self) -> None:
        self._load(self.workspace._client.post(f"pipelineendpoints/{self.id}/enable/"))

    def disable(self) -> None:
        self._load(self.workspace._client.post(f"pipelineendpoints/{self.id}/disable/"))

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict | None = None,
        parent_run_id=None,
        pipeline_version=None,
        _tags: dict | None = None,
    ) -> Any:
        """Start a run of the default version (or ``pipeline_version``)."""
        self._refresh()
        if self.status != "Active":
            raise ValueError(f"Status must be Active, its {self.status}")
        url = self.endpoint
        query = {}
        if pipeline_version is not None:
            url += f"/{pipeline_version}"
            query["pipelineVersion"] = str(pipeline_version)
        if parent_run_id:
            query["parentRunId"] = parent_run_id
        body = _submission_body(self.workspace, experiment_name, pipeline_parameters, tags=_tags)
        entity = self.workspace._client.request("POST", url, params=query or None, json=body)
        return _run_from_entity(self.workspace, entity)

    def _submit_from_experiment(self, experiment, tags=None, **kwargs):
        """``Experiment.submit(pipeline_endpoint, ...)``: azureml's keywords for it."""
        return self.submit(
            experiment.name,
            pipeline_parameters=kwargs.get("pipeline_parameters", kwargs.get("pipeline_params")),
            parent_run_id=kwargs.get("parent_run_id"),
            pipeline_version=kwargs.get("pipeline_version"),
            _tags=tags,
        )


def _as_published(workspace, pipeline, name: str) -> PublishedPipeline:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    from datetime import datetime

    stamp = datetime.now().strftime("%m-%d-%Y-%H-%M")
    return pipeline.publish(
        name=f"{name}-{stamp}-Pipeline", description=f"Published for endpoint {name}"
    )
