"""``Experiment``: a named group of runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from studio.core.names import EXPERIMENT_NAME_MESSAGE, is_experiment_name
from studio.sdk.exceptions import UserErrorException
from studio.sdk.run_types import run_type


class Experiment:
    def __init__(self, workspace, name: str, _create: bool = True, **kwargs):
        if not is_experiment_name(name):
            raise UserErrorException(f"{EXPERIMENT_NAME_MESSAGE} Got {name!r}.")
        self.workspace = workspace
        self.name = name
        if _create:
            workspace._client.post("experiments/", {"name": name})

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name}, Workspace: {self.workspace.name})"

    def submit(self, config: Any, tags: dict | None = None, **kwargs: Any) -> Any:
        """Submit a Pipeline, a PublishedPipeline, a PipelineEndpoint or a PipelineDraft;
        returns its PipelineRun.

        Keyword arguments are azureml's for each: ``pipeline_parameters`` (``pipeline_params``),
        ``regenerate_outputs`` and ``continue_on_step_failure`` for a Pipeline,
        ``continue_on_step_failure`` and ``parent_run_id`` for a PublishedPipeline,
        ``pipeline_version`` and ``parent_run_id`` for a PipelineEndpoint, none for a
        PipelineDraft (it runs with its own settings). Others are ignored, as in azureml.
        """
        submit = getattr(config, "_submit_from_experiment", None)
        if submit is None:  # each submittable class says how it is submitted, as in azureml
            raise UserErrorException(
                f"Cannot submit a {type(config).__name__}: submit a Pipeline, a PublishedPipeline, "
                "a PipelineEndpoint or a PipelineDraft."
            )
        return submit(self, tags=tags, **kwargs)

    def get_runs(
        self, type=None, tags=None, properties=None, include_children=False
    ) -> Iterator[Any]:
        """The experiment's pipeline runs, newest first (a generator, as in azureml)."""
        pipeline_run = run_type("azureml.PipelineRun")
        path = f"runs/?experiment={self.name}"
        while path:
            page = self.workspace._client.get(path)
            for data in page["results"]:
                if tags and any(data["tags"].get(k) != v for k, v in tags.items()):
                    continue
                yield pipeline_run(self, data["id"], _data=data)
            path = page.get("next")
