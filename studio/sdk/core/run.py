"""``Run``: the run a script is part of. Inside a step it talks to the server; outside it prints."""

from __future__ import annotations

import os
import uuid
from typing import Any

from studio.core.status import aether_status
from studio.sdk._http import _error
from studio.sdk._names import checked_tags
from studio.sdk.core.experiment import Experiment
from studio.sdk.core.model import Model, _model_body, _post
from studio.sdk.core.workspace import Workspace
from studio.sdk.data.datasets import _AbstractDataset
from studio.sdk.exceptions import UserErrorException
from studio.sdk.run_types import run_type


def _check_scalar(name: str, value: Any) -> None:
    if isinstance(value, (list, tuple, range, set)) or hasattr(value, "__next__"):
        raise UserErrorException("run.log does not support list type. Use run.log_list instead")
    if not isinstance(value, (int, float, str, bool)) and value is not None:
        raise UserErrorException(f"run.log does not support values of type {type(value).__name__}")


class _MetricLogging:
    """``log``, ``log_list``, ``log_row`` and ``log_table`` for a run with a metrics URL."""

    @property
    def _client(self) -> Any:
        raise NotImplementedError

    @property
    def _metrics_path(self) -> str:
        raise NotImplementedError

    def _log(self, name: str, kind: str, value: Any, description: str = "") -> None:
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException("A metric needs a name")
        self._client.post(
            self._metrics_path,
            {"name": name, "kind": kind, "value": value, "description": description or ""},
        )

    def log(self, name: str, value: Any, description: str = "", step=None) -> None:
        """Record a metric; logging the same name again makes a series."""
        _check_scalar(name, value)
        self._log(name, "scalar", value, description)

    def log_list(self, name: str, value, description: str = "") -> None:
        values = list(value)
        if any(not isinstance(v, (int, float, str, bool)) for v in values):
            raise UserErrorException("run.log_list takes a list of numbers, strings or booleans")
        self._log(name, "list", values, description)

    def log_row(self, name: str, description: str | None = None, **kwargs) -> None:
        """One row of a table metric: ``run.log_row('roc', fpr=0.1, tpr=0.8)``."""
        if not kwargs:
            raise UserErrorException(
                "run.log_row needs at least one column, like run.log_row(name, x=1)"
            )
        self._log(name, "row", dict(kwargs), description or "")

    def log_table(self, name: str, value: dict, description: str = "") -> None:
        """A table metric: ``{column: [values]}`` with columns of the same length."""
        if not isinstance(value, dict) or not all(
            isinstance(v, (list, tuple)) for v in value.values()
        ):
            raise UserErrorException("run.log_table takes a dict of column name to list of values")
        if len({len(v) for v in value.values()}) > 1:
            raise UserErrorException("run.log_table: all columns must have the same length")
        self._log(name, "table", {k: list(v) for k, v in value.items()}, description)


class Run(_MetricLogging):
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
        workspace = Workspace(url=url, token=token)
        return Run(Experiment(workspace, experiment_name, _create=False), run_id)

    @property
    def _client(self):
        return self.experiment.workspace._client

    @property
    def _metrics_path(self) -> str:
        return f"steps/{self.id}/metrics/"

    @property
    def parent(self) -> Any:
        """The PipelineRun this step belongs to."""
        pipeline_run = run_type("azureml.PipelineRun")
        if self.id == os.environ.get("STUDIO_RUN_ID") and os.environ.get("STUDIO_PARENT_RUN_ID"):
            return pipeline_run(self.experiment, os.environ["STUDIO_PARENT_RUN_ID"])
        data = self._client.get(f"steps/{self.id}/")
        return pipeline_run(self.experiment, data["run_id"])

    @property
    def input_datasets(self) -> dict:
        """{input name: Dataset (``direct``) or local folder path (``mount``/``download``)}."""
        path = os.environ.get("STUDIO_INPUT_DATASETS_FILE")
        if not path or os.environ.get("STUDIO_RUN_ID") != self.id:
            return {}
        import json

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

    def log_image(
        self, name: str, path: str | None = None, plot=None, description: str = ""
    ) -> None:
        """An image metric from a file or a matplotlib figure (``plot``)."""
        if (path is None) == (plot is None):
            raise UserErrorException(
                "Invalid parameters, path or plot should be provided, but not both."
            )
        import io

        if path is not None:
            with open(path, "rb") as fh:
                data = fh.read()
            suffix = os.path.splitext(path)[1] or ".png"
        else:
            buffer = io.BytesIO()
            figure = getattr(plot, "gcf", lambda: plot)()
            figure.savefig(buffer, format="png")
            data = buffer.getvalue()
            suffix = ".png"
        artifact = f"images/{name}{suffix}"
        self._upload(artifact, data)
        self._log(name, "image", artifact, description)

    def _upload(self, name: str, data) -> None:
        self._client.request(
            "PUT",
            f"steps/{self.id}/files/upload/",
            params={"name": name},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=3600,
        )

    def upload_file(self, name: str, path_or_stream, datastore_name: str | None = None) -> None:
        """Keep a file with this run's artifacts under ``name``."""
        if isinstance(path_or_stream, (str, os.PathLike)):
            with open(path_or_stream, "rb") as fh:
                self._upload(name, fh)
        else:
            self._upload(name, path_or_stream)

    def get_file_names(self) -> list[str]:
        """Artifacts: user_logs/std_log.txt, files the script wrote to ./outputs and ./logs, uploads."""
        return [f["name"] for f in self._client.get(f"steps/{self.id}/files/")]

    def download_file(
        self, name: str, output_file_path: str | None = None, _validate_checksum: bool = False
    ) -> None:
        target = output_file_path or os.path.basename(name)
        if os.path.isdir(target):
            target = os.path.join(target, os.path.basename(name))
        response = self._client.session.get(
            f"{self._client.url}/api/steps/{self.id}/files/download/",
            params={"name": name},
            stream=True,
            timeout=300,
        )
        if response.status_code >= 400:
            raise _error(response)
        with open(target, "wb") as fh:
            for chunk in response.iter_content(1024 * 1024):
                fh.write(chunk)

    def tag(self, key: str, value: str | None = None) -> None:
        self.set_tags({key: "" if value is None else value})

    def set_tags(self, tags: dict) -> None:
        self._client.request("PATCH", f"steps/{self.id}/tags/", json=checked_tags(tags))

    def get_tags(self) -> dict:
        return dict(self._client.get(f"steps/{self.id}/")["tags"])

    def add_properties(self, properties: dict) -> None:
        """Add properties; a property already set cannot be changed (azureml's rule)."""
        self._client.post(f"steps/{self.id}/properties/", checked_tags(properties))

    def get_properties(self) -> dict:
        return dict(self._client.get(f"steps/{self.id}/")["properties"])

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: dict | None = None,
        properties: dict | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        datasets: list | None = None,
        sample_input_dataset=None,
        sample_output_dataset=None,
        resource_configuration=None,
        **kwargs,
    ) -> Any:
        """Register a model from this run's files: ``model_path`` (default ``model_name``) is a
        file or folder among them, such as ``outputs/model.pkl``. Inside the running step,
        files it names in its working folder are uploaded with the run's files first."""
        model_path = model_path or model_name
        body = _model_body(
            self.experiment.workspace,
            model_name,
            tags,
            properties,
            description,
            datasets,
            model_framework,
            model_framework_version,
            sample_input_dataset,
            sample_output_dataset,
        )
        if self.id == os.environ.get("STUDIO_RUN_ID"):
            self._upload_local(model_path)
        data = _post(
            self.experiment.workspace,
            f"steps/{self.id}/models/",
            {**body, "model_path": model_path},
        )
        return Model(self.experiment.workspace, _model_dto=data)

    def _upload_local(self, model_path: str) -> None:
        """The files at ``model_path`` in the step's working folder, kept with the run's files
        now (./outputs is otherwise kept when the step ends)."""
        cwd = os.path.abspath(os.getcwd())
        local = os.path.normpath(os.path.join(cwd, model_path))
        if not local.startswith(cwd + os.sep) or not os.path.exists(local):
            return
        if os.path.isfile(local):
            files = [local]
        else:
            files = sorted(os.path.join(d, f) for d, _, fs in os.walk(local) for f in fs)
        for path in files:
            self.upload_file(os.path.relpath(path, cwd).replace(os.sep, "/"), path)

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type=None,
        populate: bool = False,
    ) -> dict:
        """``{name: value}``, or ``[values]`` for a series; with ``recursive``, ``{run id: {...}}``."""
        metrics = collect_metrics(self._client.get(f"steps/{self.id}/metrics/"), name)
        return {self.id: metrics} if recursive else metrics


def collect_metrics(rows: list[dict], name: str | None = None) -> dict:
    """Rows from the API as azureml's get_metrics answers: series, lists, rows, tables, images."""
    metrics: dict[str, Any] = {}
    for row in rows:
        if name is not None and row["name"] != name:
            continue
        key, kind, value = row["name"], row.get("kind", "scalar"), row["value"]
        if kind == "row":
            table = metrics.setdefault(key, {})
            for column, cell in value.items():
                table.setdefault(column, []).append(cell)
        elif kind in ("list", "table", "image"):
            metrics[key] = value
        elif key in metrics:
            current = metrics[key]
            metrics[key] = (current if isinstance(current, list) else [current]) + [value]
        else:
            metrics[key] = value
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

    def log_row(self, name: str, description: str | None = None, **kwargs) -> None:
        print(f"Attempted to log row metric {name}:\n{kwargs}")

    def log_table(self, name: str, value: dict, description: str = "") -> None:
        print(f"Attempted to log table metric {name}:\n{value}")

    def log_image(
        self, name: str, path: str | None = None, plot=None, description: str = ""
    ) -> None:
        print(f"Attempted to log image metric {name}:\n{path or plot}")

    def set_tags(self, tags: dict) -> None:
        print(f"Attempted to set tags {tags}")

    def add_properties(self, properties: dict) -> None:
        print(f"Attempted to add properties {properties}")

    def upload_file(self, name: str, path_or_stream, datastore_name: str | None = None) -> None:
        print(f"Attempted to upload file {name}")

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
