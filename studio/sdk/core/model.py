"""``Model`` (``azureml.core.model``): register a model's files, find its versions, download
them, and load one inside a step (``Model.get_model_path``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.core.names import check_model_name
from studio.sdk._http import _error
from studio.sdk.core.datastore import Datastore
from studio.sdk.core.workspace import Workspace
from studio.sdk.exceptions import (
    ModelNotFoundException,
    ModelPathNotFoundException,
    UserErrorException,
    WebserviceException,
)

# Where a step's worker keeps downloaded models (one copy per host, checked on every use).
CACHE_VARIABLE = "STUDIO_MODEL_CACHE"


def _models_dir() -> str:
    """azureml's ``MODELS_DIR``: ``azureml-models`` under ``AML_APP_ROOT`` (the current folder)."""
    return os.path.join(os.environ.get("AML_APP_ROOT", ""), "azureml-models")


def _not_found_details(**kwargs: Any) -> str:
    return (
        "ModelNotFound: Model with "
        + ", ".join(f"{key} {value}" for key, value in kwargs.items() if value)
        + " not found in provided workspace"
    )


def _query(values: Any) -> str | None:
    return json.dumps(values) if values else None


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _step_workspace() -> Any:
    """The workspace of the step this code runs in (``Run.get_context()``'s), else None."""
    url, token = os.environ.get("STUDIO_URL"), os.environ.get("STUDIO_RUN_TOKEN")
    if not (url and token and os.environ.get("STUDIO_RUN_ID")):
        return None
    return Workspace(url=url, token=token)


def _in_step(workspace) -> str | None:
    """The id of the step this code runs in, when ``workspace`` speaks with the step's token."""
    token, step_id = os.environ.get("STUDIO_RUN_TOKEN"), os.environ.get("STUDIO_RUN_ID")
    if not (token and step_id) or workspace is None:
        return None
    header = workspace._client.session.headers.get("Authorization")
    return step_id if header == f"Bearer {token}" else None


class Model:
    """A registered model version: ``Model(ws, name="churn-model")`` is the latest version,
    ``Model(ws, name=..., version=3)`` or ``Model(ws, id="churn-model:3")`` a given one."""

    def __init__(
        self,
        workspace,
        name: str | None = None,
        id: str | None = None,
        tags: list | None = None,
        properties: list | None = None,
        version: int | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        **kwargs,
    ):
        self.workspace = workspace
        data = kwargs.get("_model_dto")
        if data is None:
            if workspace is None:
                return  # Model(None): filled in by deserialize
            if not id and not name:
                raise WebserviceException("Error, one of id or name must be provided.")
            data = Model._fetch(
                workspace, name, id, tags, properties, version, run_id, model_framework
            )
            if data is None:
                raise WebserviceException(
                    _not_found_details(
                        name=name,
                        id=id,
                        tags=tags,
                        properties=properties,
                        version=version,
                        run_id=run_id,
                        model_framework=model_framework,
                    )
                )
        self._load(data)

    @staticmethod
    def _fetch(workspace, name, id, tags, properties, version, run_id, model_framework):
        client = workspace._client
        if id:
            name, _, version = str(id).partition(":")
        if version:
            try:
                return client.get(f"models/{name}/{version}/")
            except UserErrorException as exc:
                if exc.status_code == 404:
                    return None
                raise WebserviceException(exc.message, exc.status_code) from None
        params = {
            "name": name,
            "tags": _query(tags),
            "properties": _query(properties),
            "run_id": run_id,
            "model_framework": model_framework,
        }
        found = client.get("models/", **{k: v for k, v in params.items() if v})
        return found[0] if found else None

    def _load(self, data: dict) -> None:
        self._data = data
        self.name: str = data["name"]
        self.id: str = data["id"]
        self.version: int = data["version"]
        self.tags: dict = dict(data.get("tags") or {})
        self.properties: dict = dict(data.get("properties") or {})
        self.description: str = data.get("description") or ""
        self.run_id: str | None = data.get("run_id")
        self.experiment_name: str | None = data.get("experiment_name")
        self.url: str = data.get("url", "")
        self.model_framework: str | None = data.get("model_framework")
        self.model_framework_version: str | None = data.get("model_framework_version")
        self.created_by: str | None = data.get("created_by")
        created = data.get("created_time")
        self.created_time = (
            datetime.fromisoformat(created.replace("Z", "+00:00"))
            if isinstance(created, str)
            else created
        )
        self.datasets: dict[str, list] = {}
        for ref in data.get("datasets") or []:
            self.datasets.setdefault(ref["name"], []).append(ref["id"])
        self.sample_input_dataset = data.get("sample_input_dataset_id")
        self.sample_output_dataset = data.get("sample_output_dataset_id")
        self.mime_type = "application/octet-stream"
        self.unpack = False
        self.resource_configuration = None
        self._files: list[dict] = list(data.get("files") or [])

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(workspace={self.workspace!r}, name={self.name}, "
            f"id={self.id}, version={self.version}, tags={self.tags}, "
            f"properties={self.properties})"
        )

    def serialize(self) -> dict:
        return {
            "createdTime": self.created_time.isoformat() if self.created_time else None,
            "createdBy": self.created_by,
            "description": self.description,
            "id": self.id,
            "mimeType": self.mime_type,
            "name": self.name,
            "framework": self.model_framework,
            "frameworkVersion": self.model_framework_version,
            "tags": self.tags,
            "properties": self.properties,
            "unpack": self.unpack,
            "url": self.url,
            "version": self.version,
            "experimentName": self.experiment_name,
            "runId": self.run_id,
            "runDetails": f"Run(Id: {self.run_id})" if self.run_id else "None",
            "datasets": [
                {"name": scenario, "id": dataset_id}
                for scenario, ids in self.datasets.items()
                for dataset_id in ids
            ],
            "resourceConfiguration": None,
            "sampleInputDatasetId": self.sample_input_dataset,
            "sampleOutputDatasetId": self.sample_output_dataset,
        }

    @staticmethod
    def deserialize(workspace, model_payload: dict) -> Model:
        model = Model(None)
        model.workspace = workspace
        model._load(
            {
                "name": model_payload["name"],
                "id": model_payload["id"],
                "version": model_payload["version"],
                "tags": model_payload.get("tags"),
                "properties": model_payload.get("properties"),
                "description": model_payload.get("description"),
                "run_id": model_payload.get("runId"),
                "experiment_name": model_payload.get("experimentName"),
                "url": model_payload.get("url", ""),
                "model_framework": model_payload.get("framework"),
                "model_framework_version": model_payload.get("frameworkVersion"),
                "created_by": model_payload.get("createdBy"),
                "created_time": model_payload.get("createdTime"),
                "datasets": model_payload.get("datasets"),
            }
        )
        return model

    # Registering.

    @staticmethod
    def register(
        workspace,
        model_path: str,
        model_name: str,
        tags: dict | None = None,
        properties: dict | None = None,
        description: str | None = None,
        datasets: list | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: list | None = None,
        sample_input_dataset=None,
        sample_output_dataset=None,
        resource_configuration=None,
    ) -> Model:
        """Upload a local file or folder and register it as a new version of ``model_name``."""
        body = _model_body(
            workspace,
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
        Model._validate_model_path(model_path, child_paths)
        files, names = Model._collect_model_artifact_paths(model_path, child_paths)
        container = f"{datetime.now().strftime('%y%m%dT%H%M%S')}-{str(uuid.uuid4())[:8]}"
        base = os.path.basename(os.path.abspath(os.path.normpath(model_path)))
        prefix = f"LocalUpload/{container}"
        print(f"Registering model {model_name}")
        step_id = _in_step(workspace)
        if step_id is not None:
            # A step's token reaches its own files: the upload goes with the step's artifacts.
            for local, name in zip(files, names, strict=True):
                with open(local, "rb") as fh:
                    workspace._client.request(
                        "PUT",
                        f"steps/{step_id}/files/upload/",
                        params={"name": f"{prefix}/{name}"},
                        data=fh,
                        headers={"Content-Type": "application/octet-stream"},
                        timeout=3600,
                    )
            data = _post(
                workspace, f"steps/{step_id}/models/", {**body, "model_path": f"{prefix}/{base}"}
            )
        else:
            datastore = Datastore(workspace)
            for local, name in zip(files, names, strict=True):
                datastore._put(f"{prefix}/{name}", Path(local), overwrite=True)
            data = _post(
                workspace,
                "models/",
                {**body, "datastore": datastore.name, "path": f"{prefix}/{base}"},
            )
        return Model(workspace, _model_dto=data)

    @staticmethod
    def _validate_model_path(model_path: str, child_paths: list | None = None) -> None:
        cwd = os.getcwd()
        path = os.path.normpath(os.path.join(cwd, model_path))
        if not os.path.exists(path):
            raise FileNotFoundError("Path does not exist")
        if not os.path.abspath(path).startswith(os.path.abspath(cwd)):
            raise PermissionError("Unauthorized access: Path outside current working directory")
        for child in child_paths or []:
            if not os.path.exists(os.path.join(path, child)):
                raise WebserviceException(f'Error, provided child path "{child}" cannot be found')

    @staticmethod
    def _collect_model_artifact_paths(model_path: str, child_paths: list | None):
        """The local files of a model and their names below the model path's parent folder."""
        model_path = os.path.normpath(model_path)
        parent = os.path.dirname(os.path.abspath(model_path))
        if child_paths:
            found: set[str] = set()
            for child in child_paths:
                full = os.path.abspath(os.path.join(model_path, os.path.normpath(child)))
                if os.path.isdir(full):
                    found.update(
                        os.path.abspath(os.path.join(d, f))
                        for d, _, fs in os.walk(full)
                        for f in fs
                    )
                else:
                    found.add(full)
            files = sorted(found)
        elif os.path.isdir(model_path):
            files = sorted(
                os.path.abspath(os.path.join(d, f)) for d, _, fs in os.walk(model_path) for f in fs
            )
        else:
            return [model_path], [os.path.basename(os.path.abspath(model_path))]
        return files, [Path(os.path.relpath(f, start=parent)).as_posix() for f in files]

    # Finding.

    @staticmethod
    def list(
        workspace,
        name: str | None = None,
        tags: list | None = None,
        properties: list | None = None,
        run_id: str | None = None,
        latest: bool = False,
        dataset_id: str | None = None,
        expand: bool = True,
        page_count: int = 255,
        model_framework: str | None = None,
    ) -> list[Model]:
        """Model versions matching the filters: ``tags=["key", ["key2", "value"]]``."""
        if page_count and (page_count < 20 or page_count > 255):
            raise UserErrorException(
                f"Expected page_count value is between 20 and 255. Provided: {page_count}"
            )
        if tags is not None and type(tags) is not list:
            raise UserErrorException(
                f'Expected tags must be list type. Ex. ["key", ["key2", "key2 value"]]: provided {type(tags)}'
            )
        params = {
            "name": name,
            "tags": _query(tags),
            "properties": _query(properties),
            "run_id": run_id,
            "dataset_id": dataset_id,
            "model_framework": model_framework,
            "latest": "true" if latest else None,
        }
        found = workspace._client.get("models/", **{k: v for k, v in params.items() if v})
        return [Model(workspace, _model_dto=data) for data in found]

    # Changing.

    def _patch(self, body: dict) -> None:
        try:
            data = self.workspace._client.request(
                "PATCH", f"models/{self.name}/{self.version}/", json=body
            )
        except UserErrorException as exc:
            raise WebserviceException(exc.message, exc.status_code) from None
        self._load(data)

    def update(
        self,
        tags: dict | None = None,
        description: str | None = None,
        sample_input_dataset=None,
        sample_output_dataset=None,
        resource_configuration=None,
    ) -> None:
        """Replace the tags and/or the description."""
        body: dict[str, Any] = {}
        if tags:
            body["tags"] = {str(k): str(v) for k, v in tags.items()}
        if description:
            body["description"] = description
        if body:
            self._patch(body)

    def update_tags_properties(
        self, add_tags: dict | None = None, remove_tags=None, add_properties: dict | None = None
    ) -> None:
        body: dict[str, Any] = {}
        if add_tags is not None:
            for key in add_tags:
                if key in self.tags:
                    print(f"Replacing tag {key} -> {self.tags[key]} with {key} -> {add_tags[key]}")
            body["add_tags"] = {str(k): str(v) for k, v in add_tags.items()}
        if remove_tags is not None:
            if not self.tags:
                print("Model has no tags to remove.")
            else:
                keys = remove_tags if isinstance(remove_tags, list) else [remove_tags]
                for key in keys:
                    if key not in self.tags:
                        print(f"Tag with key {key} not found.")
                body["remove_tags"] = [str(k) for k in keys]
        if add_properties is not None:
            body["add_properties"] = {str(k): str(v) for k, v in add_properties.items()}
        if body:
            self._patch(body)

    def add_tags(self, tags: dict) -> None:
        self.update_tags_properties(add_tags=tags)
        print("Model tag add operation complete.")

    def remove_tags(self, tags) -> None:
        self.update_tags_properties(remove_tags=tags)
        print("Model tag remove operation complete.")

    def add_properties(self, properties: dict) -> None:
        self.update_tags_properties(add_properties=properties)
        print("Model properties add operation complete.")

    def delete(self) -> None:
        try:
            self.workspace._client.request("DELETE", f"models/{self.name}/{self.version}/")
        except UserErrorException as exc:
            raise WebserviceException(exc.message, exc.status_code) from None

    # Files.

    def download(self, target_dir: str = ".", exist_ok: bool = False, exists_ok=None) -> str:
        """Download the model's files into ``target_dir``; returns the model's path there
        (the file itself for a one-file model)."""
        if exists_ok is not None:
            if exist_ok is not None:
                raise WebserviceException(
                    "Both exists_ok and exist_ok are set. Please use exist_ok only."
                )
            exist_ok = exists_ok
        if not self._files:
            raise WebserviceException("No files to download. Did you upload files?")
        targets = [os.path.join(target_dir, *f["path"].split("/")) for f in self._files]
        if not exist_ok:
            for target in targets:
                if os.path.exists(target):
                    raise WebserviceException(
                        f"File already exists. To overwrite, set exist_ok to True. {target}"
                    )
        for entry, target in zip(self._files, targets, strict=True):
            self._download_file(entry, target)
        if len(targets) == 1:
            return targets[0]
        return os.path.commonpath(targets)

    def _download_file(self, entry: dict, target: str) -> None:
        client = self.workspace._client
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        partial = f"{target}.{uuid.uuid4().hex[:8]}.part"
        response = client.session.get(
            f"{client.url}/api/models/{self.name}/{self.version}/download/",
            params={"path": entry["path"]},
            stream=True,
            timeout=3600,
        )
        if response.status_code >= 400:
            raise WebserviceException(str(_error(response)), response.status_code)
        digest = hashlib.sha256()
        try:
            with open(partial, "wb") as fh:
                for chunk in response.iter_content(1024 * 1024):
                    digest.update(chunk)
                    fh.write(chunk)
            if digest.hexdigest() != entry["sha256"]:
                raise WebserviceException(
                    f"The downloaded {entry['path']} of model {self.id} does not match its "
                    "registered sha256: try again."
                )
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def _root(self) -> str:
        """The model's one file or folder, as stored (``model.pkl``, ``model_dir``)."""
        return self._files[0]["path"].split("/", 1)[0]

    # Loading inside a step.

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace=None) -> str:
        """A local path to a model's files. Inside a step: the latest (or ``version``)
        registered version, downloaded once into the worker's model cache and checked against
        its manifest; elsewhere ``azureml-models/<name>/<version>/`` (downloaded from
        ``_workspace`` when given) or ``./<name>``."""
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise WebserviceException("version should be an int")
        active_workspace = _step_workspace() or _workspace
        if version is not None:
            try:
                return Model._get_model_path_local(model_name, version)
            except ModelNotFoundException as exc:
                if active_workspace is not None:
                    return Model._get_model_path_remote(model_name, version, active_workspace)
                raise WebserviceException(exc.message) from None
        if active_workspace is not None:
            return Model._get_model_path_remote(model_name, version, active_workspace)
        return Model._get_model_path_local(model_name, version)

    @staticmethod
    def _get_model_path_local(model_name: str, version: int | None = None) -> str:
        if model_name is None:
            raise WebserviceException("model_name is None")
        models_dir = _models_dir()
        candidate = os.path.join(models_dir, model_name)
        if os.path.exists(candidate):
            if version is None:
                numbers = [int(v) for v in os.listdir(candidate) if v.isdigit()]
                version = max(numbers) if numbers else None
            folder = os.path.join(candidate, str(version))
            if version is not None and os.path.exists(folder):
                entries = os.listdir(folder)
                if len(entries) != 1:
                    raise WebserviceException(
                        f"Dir {folder} can contain only 1 file or folder. Found {entries}"
                    )
                return os.path.join(folder, entries[0])
        if os.path.exists(model_name):
            return model_name
        raise ModelNotFoundException(
            f"Model {model_name} not found in cache at {models_dir} or in current working "
            f"directory {os.getcwd()}. For more info, set logging level to DEBUG."
        )

    @staticmethod
    def _get_model_path_remote(model_name: str, version: int | None, workspace) -> str:
        try:
            model = Model(workspace, name=model_name, version=version)
        except WebserviceException as exc:
            if "ModelNotFound" in exc.message:
                infos = sorted(f"{m.name}/{m.version}" for m in Model.list(workspace))
                raise ModelNotFoundException(
                    f"Model/Version {model_name}/{version} not found in workspace. {infos}"
                ) from None
            raise
        step_id = _in_step(workspace)
        cache = os.environ.get(CACHE_VARIABLE)
        if step_id is not None and cache:
            path = model._cached(Path(cache))
        else:
            target_dir = os.path.join(_models_dir(), model_name, str(model.version))
            model.download(target_dir, exist_ok=True)
            path = os.path.join(target_dir, model._root())
        if step_id is not None:
            workspace._client.post(
                f"models/{model.name}/{model.version}/reads/",
                {"asked": "latest" if version is None else str(version)},
            )
        return path

    def _cached(self, cache: Path) -> str:
        """This version's files in the host's model cache: kept when every file matches the
        manifest (another step may have written the cache), downloaded again otherwise. A copy
        that matches is never removed, as another step may be reading it."""
        folder = cache / self.name / str(self.version)
        if self._intact(folder):
            return str(folder / self._root())
        staging = cache / self.name / f".{self.version}.{uuid.uuid4().hex[:8]}"
        try:
            self.download(str(staging), exist_ok=True)
            for _ in range(3):
                try:
                    os.rename(staging, folder)
                    break
                except OSError:  # a folder is there: another step's copy
                    if self._intact(folder):
                        break
                    shutil.rmtree(folder, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if not self._intact(folder):
            raise WebserviceException(
                f"Model {self.id} could not be kept in the model cache at {folder}: try again."
            )
        return str(folder / self._root())

    def _intact(self, folder: Path) -> bool:
        if not folder.is_dir():
            return False
        for entry in self._files:
            path = folder / entry["path"]
            if not path.is_file() or path.stat().st_size != entry["size"]:
                return False
            if _sha256(path) != entry["sha256"]:
                return False
        return True


def _model_body(
    workspace,
    model_name,
    tags,
    properties,
    description,
    datasets,
    model_framework,
    model_framework_version,
    sample_input_dataset,
    sample_output_dataset,
) -> dict:
    """What registering a model sends, checked as azureml checks it."""
    try:
        check_model_name(model_name)
    except StudioError as exc:
        raise WebserviceException(exc.message) from None
    if model_framework is None and model_framework_version is not None:
        raise WebserviceException(
            "Model framework version cannot be provided without a valid framework"
        )
    return {
        "name": model_name,
        "tags": {str(k): str(v) for k, v in (tags or {}).items()},
        "properties": {str(k): str(v) for k, v in (properties or {}).items()},
        "description": description or "",
        "datasets": [
            {"name": scenario, "id": _dataset_id(workspace, dataset)}
            for scenario, dataset in (datasets or [])
        ],
        "model_framework": model_framework or "",
        "model_framework_version": model_framework_version or "",
        "sample_input_dataset": _dataset_id(workspace, sample_input_dataset),
        "sample_output_dataset": _dataset_id(workspace, sample_output_dataset),
    }


def _dataset_id(workspace, dataset) -> str:
    if dataset is None:
        return ""
    dataset = getattr(dataset, "dataset", dataset)  # a DatasetConsumptionConfig's dataset
    if getattr(dataset, "id", None):
        return str(dataset.id)
    if hasattr(dataset, "_ensure_saved"):
        return dataset._ensure_saved(workspace)
    raise WebserviceException(
        f"Invalid dataset of type {type(dataset)} passed, must be of type Dataset or DatasetSnapshot"
    )


def _post(workspace, path: str, body: dict) -> dict:
    try:
        return workspace._client.post(path, body)
    except UserErrorException as exc:
        if exc.field == "model_path" and exc.message.startswith("Could not locate"):
            raise ModelPathNotFoundException(exc.message) from None
        raise WebserviceException(exc.message, exc.status_code) from None
