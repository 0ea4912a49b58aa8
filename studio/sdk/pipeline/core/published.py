"""``PublishedPipeline`` and ``PipelineEndpoint``: pipelines behind REST endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from studio.sdk.exceptions import UserErrorException


def _submission_body(
    experiment_name: str, pipeline_parameters: dict | None, continue_on_step_failure=None
) -> dict:
    """Azure's PipelineSubmissionInfo, as the SDK sends it."""
    parameters, datapaths = {}, {}
    for name, value in (pipeline_parameters or {}).items():
        if hasattr(value, "_to_json"):
            data = value._to_json()
            datapaths[name] = {"DataStoreName": data["datastore"], "RelativePath": data["path"]}
        else:
            parameters[name] = value if isinstance(value, (int, float, bool)) else str(value)
    body = {
        "ExperimentName": experiment_name,
        "ParameterAssignments": parameters,
        "RunSource": "SDK",
    }
    if datapaths:
        body["DataPathAssignments"] = datapaths
    if continue_on_step_failure is not None:
        body["ContinueRunOnStepFailure"] = bool(continue_on_step_failure)
    return body


def _run_from_entity(workspace, entity: dict):
    from studio.sdk.core.experiment import Experiment
    from studio.sdk.pipeline.core.run import PipelineRun

    experiment = Experiment(workspace, entity["RunHistoryExperimentName"], _create=False)
    return PipelineRun(experiment, entity["Id"])


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

    def __repr__(self) -> str:
        return f"PublishedPipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, Endpoint: {self.endpoint})"

    @property
    def parameters(self) -> list[dict]:
        return list(self._data["parameters"])

    @staticmethod
    def get(workspace, id: str) -> PublishedPipeline:
        return PublishedPipeline(workspace, workspace._client.get(f"publishedpipelines/{id}/"))

    @staticmethod
    def list(workspace, active_only: bool = True) -> list[PublishedPipeline]:
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
    ):
        """Start a run through the REST endpoint; returns its PipelineRun."""
        entity = workspace._client.request(
            "POST",
            self.endpoint,
            json=_submission_body(experiment_name, pipeline_parameters, continue_on_step_failure),
        )
        return _run_from_entity(workspace, entity)


@dataclass(frozen=True)
class PipelineIdVersion:
    version: str
    pipeline_id: str


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
            raise UserErrorException("PipelineEndpoint.get needs an id or a name")
        rows = workspace._client.get("pipelineendpoints/", name=name, active_only="false")
        if not rows:
            raise UserErrorException(f"No pipeline endpoint named {name}")
        return PipelineEndpoint(workspace, rows[0])

    @staticmethod
    def list(workspace, active_only: bool = True, max_results: int = 100) -> list[PipelineEndpoint]:
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
        raise ValueError(f"Version {wanted} does not exist in pipeline endpoint {self.name}")

    def list_versions(self) -> list[PipelineIdVersion]:
        self._refresh()
        return list(self.pipeline_version_list)

    def list_pipelines(self, active_only: bool = True) -> list[PublishedPipeline]:
        pipelines = [
            PublishedPipeline.get(self.workspace, v.pipeline_id) for v in self.list_versions()
        ]
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
    ):
        self._refresh()
        if self.status != "Active":
            raise ValueError(f"Status must be Active, its {self.status}")
        url = self.endpoint + (f"/{pipeline_version}" if pipeline_version is not None else "")
        entity = self.workspace._client.request(
            "POST", url, json=_submission_body(experiment_name, pipeline_parameters)
        )
        return _run_from_entity(self.workspace, entity)


def _as_published(workspace, pipeline, name: str) -> PublishedPipeline:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    from datetime import datetime

    stamp = datetime.now().strftime("%m-%d-%Y-%H-%M")
    return pipeline.publish(
        name=f"{name}-{stamp}-Pipeline", description=f"Published for endpoint {name}"
    )
