"""``Run``: the run a script is part of. Inside a step it talks to the server; outside it prints."""

from __future__ import annotations

import os
import uuid
from typing import Any

from studio.sdk.exceptions import UserErrorException
from studio.sdk.runstatus import aether_status


def _check_scalar(name: str, value: Any) -> None:
    if isinstance(value, (list, tuple, range, set)) or hasattr(value, "__next__"):
        raise UserErrorException("run.log does not support list type. Use run.log_list instead")
    if not isinstance(value, (int, float, str, bool)) and value is not None:
        raise UserErrorException(f"run.log does not support values of type {type(value).__name__}")


class Run:
    """A step run seen from inside its script (``Run.get_context()``) or by id."""

    def __init__(self, experiment, run_id: str, _data: dict | None = None):
        self.experiment = experiment
        self.id = run_id
        self._data = _data

    def __repr__(self) -> str:
        return f"Run(Experiment: {self.experiment.name}, Id: {self.id}, Type: azureml.StepRun)"

    @staticmethod
    def get_context(allow_offline: bool = True, **kwargs):
        """The step's run inside a Studio step; an offline run that prints everywhere else."""
        url = os.environ.get("STUDIO_URL")
        token = os.environ.get("STUDIO_RUN_TOKEN")
        run_id = os.environ.get("STUDIO_RUN_ID")
        experiment_name = os.environ.get("STUDIO_EXPERIMENT_NAME")
        if not (url and token and run_id and experiment_name):
            if not allow_offline:
                raise UserErrorException(
                    "Run.get_context() was called outside a Studio step and allow_offline=False"
                )
            return _OfflineRun()
        from studio.sdk.core.experiment import Experiment
        from studio.sdk.core.workspace import Workspace

        workspace = Workspace(url=url, token=token)
        return Run(Experiment(workspace, experiment_name, _create=False), run_id)

    @property
    def _client(self):
        return self.experiment.workspace._client

    @property
    def parent(self):
        from studio.sdk.pipeline.core.run import PipelineRun

        data = self._client.get(f"steps/{self.id}/")
        return PipelineRun(self.experiment, data["run_id"])

    @property
    def input_datasets(self) -> dict:
        """{input name: Dataset (``direct``) or local folder path (``mount``/``download``)}."""
        path = os.environ.get("STUDIO_INPUT_DATASETS_FILE")
        if not path or os.environ.get("STUDIO_RUN_ID") != self.id:
            return {}
        import json

        from studio.sdk.core.dataset import _AbstractDataset

        with open(path) as fh:
            described = json.load(fh)
        inputs = {}
        for name, info in described.items():
            if info["mode"] == "direct":
                dataset = _AbstractDataset._from_json(
                    self.experiment.workspace, {**info, "paths": []}
                )
                dataset._local_files = info["files"]
                inputs[name] = dataset
            else:
                inputs[name] = info["path"]
        return inputs

    @property
    def status(self) -> str:
        return self._client.get(f"steps/{self.id}/")["status"]

    def get_status(self) -> str:
        return aether_status(self.status)

    def get_details(self) -> dict:
        data = self._client.get(f"steps/{self.id}/")
        return {
            "runId": data["id"],
            "status": data["status"],
            "target": data["compute_target"],
            "startTimeUtc": data["started_at"],
            "endTimeUtc": data["ended_at"],
            "error": {"message": data["error"]} if data["error"] else None,
            "properties": {},
        }

    def log(self, name: str, value: Any, description: str = "", step=None) -> None:
        """Record a metric; logging the same name again makes a series."""
        _check_scalar(name, value)
        self._client.post(
            f"steps/{self.id}/metrics/", {"name": name, "value": value, "description": description}
        )

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type=None,
        populate: bool = False,
    ) -> dict:
        metrics: dict[str, Any] = {}
        for row in self._client.get(f"steps/{self.id}/metrics/"):
            if name is not None and row["name"] != name:
                continue
            if row["name"] in metrics:
                current = metrics[row["name"]]
                metrics[row["name"]] = (current if isinstance(current, list) else [current]) + [
                    row["value"]
                ]
            else:
                metrics[row["name"]] = row["value"]
        return metrics


class _OfflineRun:
    """What ``Run.get_context()`` returns outside a step: it prints instead of recording."""

    def __init__(self):
        self.id = f"OfflineRun_{uuid.uuid4()}"

    def __repr__(self) -> str:
        return f"_OfflineRun(Id: {self.id})"

    def log(self, name: str, value: Any, description: str = "", step=None) -> None:
        _check_scalar(name, value)
        print(f"Attempted to log scalar metric {name}:\n{value}")

    def log_list(self, name: str, value, description: str = "") -> None:
        print(f"Attempted to log list metric {name}:\n{list(value)}")

    def tag(self, key: str, value=None) -> None:
        print(f"Attempted to set tag {key}: {value}")

    def complete(self, **kwargs) -> None:
        pass

    def fail(self, **kwargs) -> None:
        pass

    def cancel(self) -> None:
        pass

    def child_run(self, name=None, **kwargs) -> _OfflineRun:
        return _OfflineRun()
