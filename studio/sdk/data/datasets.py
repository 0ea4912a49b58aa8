"""``studio.sdk.data`` datasets (``azureml.data``): TabularDataset and FileDataset.

Named, versioned File and Tabular datasets over datastore paths or web URLs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from studio.core.names import is_port_name
from studio.core.tabular import read_table
from studio.sdk._http import _error
from studio.sdk._names import checked_name
from studio.sdk.exceptions import UserErrorException

if TYPE_CHECKING:  # pandas is imported when a table is read
    import pandas as pd


def _split_url(url: str) -> list[str]:
    """``https://host/a/b.csv`` → ``["https://host", "a/b.csv"]``."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    if not host or not path:
        raise UserErrorException(f"{url!r} does not name a file on a web server.")
    return [f"{scheme}://{host}", path]


def _normalise_paths(path) -> list[list[str]]:
    """``(datastore, 'path/glob')``, a DataReference/DataPath, an http(s) URL, or a list of
    them → [[datastore name or web server, path]]."""
    items = path if isinstance(path, list) else [path]
    out = []
    for item in items:
        if isinstance(item, str) and item.startswith(("http://", "https://")):
            out.append(_split_url(item))
        elif isinstance(item, tuple) and len(item) == 2:
            store, rel = item
            out.append([str(getattr(store, "name", store)), str(rel)])
        elif hasattr(item, "datastore_name") and hasattr(item, "path_on_datastore"):
            out.append([str(item.datastore_name), item.path_on_datastore or ""])
        else:
            raise UserErrorException(
                f"Unsupported dataset path {item!r}: use (datastore, 'path/glob') tuples or "
                "http(s) URLs"
            )
    if not out:
        raise UserErrorException("A dataset needs at least one path.")
    return out


class _AbstractDataset:
    _kind = "file"

    def __init__(
        self,
        paths: list[list[str]],
        options: dict | None = None,
        workspace=None,
        data: dict | None = None,
    ):
        self._paths = paths
        self._options = dict(options or {})
        self._workspace = workspace
        self._data = data or {}
        self._local_files: list[str] | None = None

    @property
    def id(self) -> str | None:
        return self._data.get("id")

    @property
    def name(self) -> str | None:
        return self._data.get("name")

    @property
    def version(self) -> int | None:
        return self._data.get("version")

    @property
    def description(self) -> str:
        return self._data.get("description", "")

    @property
    def tags(self) -> dict:
        return dict(self._data.get("tags", {}))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r}, paths={self._paths!r})"

    def register(
        self,
        workspace,
        name: str,
        description: str | None = None,
        tags: dict | None = None,
        create_new_version: bool = False,
    ):
        checked_name("dataset", name)
        data = workspace._client.post(
            "datasets/",
            {
                "name": name,
                "kind": self._kind,
                "paths": self._paths,
                "options": self._options,
                "description": description or "",
                "tags": {str(k): str(v) for k, v in (tags or {}).items()},
                "create_new_version": bool(create_new_version),
            },
        )
        return type(self)._from_json(workspace, data)

    def _ensure_saved(self, workspace) -> str:
        """The id of this definition on the server (an unregistered one is saved anonymously)."""
        if self.id is None:
            data = workspace._client.post(
                "datasets/",
                {"name": None, "kind": self._kind, "paths": self._paths, "options": self._options},
            )
            self._data, self._workspace = data, workspace
        return str(self._data["id"])

    @classmethod
    def _from_json(cls, workspace, data: dict):
        kind = TabularDataset if data["kind"] == "tabular" else FileDataset
        return kind(data["paths"], data.get("options"), workspace, data)

    def _parameter_value(self, workspace) -> dict:
        """This dataset as the value of a dataset-typed pipeline parameter."""
        return {"id": self._ensure_saved(workspace), "kind": self._kind}

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(name, self)

    def _files(self) -> list[str]:
        """Local paths of the files: given to a step, else downloaded through the server."""
        if self._local_files is not None:
            return list(self._local_files)
        web = all(_is_web(store) for store, _ in self._paths)
        if (self._workspace is None or self.id is None) and not web:
            raise UserErrorException(
                "Register the dataset (or get it with Dataset.get_by_name) before reading it."
            )
        target = Path(tempfile.mkdtemp(prefix="studio-dataset-"))
        entries = (
            [{"datastore": store, "path": p} for store, p in self._paths]
            if self.id is None
            else self._workspace._client.get(f"datasets/{self.id}/files/")
        )
        files = []
        for entry in entries:
            folder = entry["datastore"].split("://", 1)[-1].replace(":", "_")
            destination = target / folder / entry["path"]
            if _is_web(entry["datastore"]):
                _fetch_url(f"{entry['datastore']}/{entry['path']}", destination)
            else:
                _download(self._workspace, entry["datastore"], entry["path"], destination)
            files.append(str(destination))
        self._local_files = files
        return list(files)


def _is_web(datastore: str) -> bool:
    return datastore.startswith(("http://", "https://"))


def _fetch_url(url: str, destination: Path) -> None:
    """A file of a dataset read from a web server, fetched directly."""
    import requests

    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with requests.get(url, stream=True, timeout=300) as response:
            response.raise_for_status()
            with open(destination, "wb") as fh:
                for chunk in response.iter_content(1024 * 1024):
                    fh.write(chunk)
    except requests.RequestException as exc:
        raise UserErrorException(f"Could not read {url}: {exc}") from None


def _download(workspace, datastore: str, path: str, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    response = workspace._client.session.get(
        f"{workspace.url}/api/datastores/{datastore}/download/",
        params={"path": path},
        stream=True,
        timeout=300,
    )
    if response.status_code >= 400:
        raise _error(response)
    with open(destination, "wb") as fh:
        for chunk in response.iter_content(1024 * 1024):
            fh.write(chunk)


class TabularDataset(_AbstractDataset):
    _kind = "tabular"

    def to_pandas_dataframe(
        self, on_error: str = "null", out_of_range_datetime: str = "null"
    ) -> pd.DataFrame:

        return read_table(self._files(), self._options)

    def take(self, count: int) -> pd.DataFrame:

        return read_table(self._files(), self._options, nrows=count)


class FileDataset(_AbstractDataset):
    _kind = "file"

    def to_path(self) -> list[str]:
        return [f"/{p}" for _, p in self._relative()]

    def _relative(self) -> list[tuple[str, str]]:
        files = self._files()
        root = (
            os.path.commonpath(files)
            if len(files) > 1
            else os.path.dirname(files[0])
            if files
            else ""
        )
        return [(f, os.path.relpath(f, root)) for f in files]

    def download(
        self,
        target_path: str | None = None,
        overwrite: bool = False,
        ignore_not_found: bool = False,
    ) -> list[str]:
        target = Path(target_path or tempfile.mkdtemp(prefix="studio-download-"))
        written = []
        for source, relative in self._relative():
            destination = target / relative
            if destination.exists() and not overwrite:
                raise UserErrorException(
                    f"{destination} already exists; pass overwrite=True to replace it"
                )
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            written.append(str(destination))
        return written

    @contextlib.contextmanager
    def mount(self, mount_point: str | None = None, **kwargs: Any) -> Iterator[_MountContext]:
        """A local folder holding the dataset's files for the duration of the ``with`` block."""
        folder = mount_point or tempfile.mkdtemp(prefix="studio-mount-")
        self.download(folder, overwrite=True)
        context = _MountContext(folder)
        try:
            yield context
        finally:
            if mount_point is None:
                shutil.rmtree(folder, ignore_errors=True)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(None, self, mode="mount")

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(None, self, mode="download")


class _MountContext:
    def __init__(self, mount_point: str):
        self.mount_point = mount_point


def _get_by_name(workspace, name: str, version="latest") -> _AbstractDataset:
    """A registered dataset version (``Dataset.get_by_name``)."""
    data = workspace._client.get(f"datasets/by-name/{quote(name, safe='')}/", version=str(version))
    return _AbstractDataset._from_json(workspace, data)


class DatasetConsumptionConfig:
    """A dataset as a step input: ``direct`` (the script gets the Dataset), ``mount`` or
    ``download`` (a local path: the file itself for a dataset of one file, else a folder).

    ``dataset`` is a Dataset, a ``(workspace, name[, version])`` tuple, or a PipelineParameter
    whose default is a Dataset (the run's value of the parameter is then the input).
    """

    _MODES = ("direct", "mount", "download")

    def __init__(
        self, name: str | None, dataset, mode: str = "direct", path_on_compute: str | None = None
    ):
        mode = str(mode).lower()
        if mode not in self._MODES:
            raise UserErrorException(
                f"Invalid mode '{mode}'. Mode can only be mount, download or direct"
            )
        if isinstance(dataset, tuple):
            workspace, dataset_name, *version = dataset
            dataset = _get_by_name(workspace, dataset_name, version[0] if version else "latest")
        default = getattr(dataset, "default_value", None)
        if hasattr(dataset, "default_value") and not isinstance(default, _AbstractDataset):
            raise UserErrorException(
                f"Invalid PipelineParameter with default value '{default}. Default value must be of "
                "types: FileDataset or TabularDataset"
            )
        if (
            isinstance(default if default is not None else dataset, TabularDataset)
            and mode != "direct"
        ):
            raise UserErrorException(
                f"{type(default if default is not None else dataset)} does not support {mode}. "
                f"Only FileDataset supports {mode}"
            )
        if name is not None and not is_port_name(name):
            raise UserErrorException(
                f"[{name}] is not a valid input name as it may contain only letters, digits, and underscores."
            )
        self.name = name
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = path_on_compute

    @property
    def _parameter(self):
        """The PipelineParameter this input reads, if any."""
        return self.dataset if hasattr(self.dataset, "default_value") else None

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig:{self.name}"

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)
