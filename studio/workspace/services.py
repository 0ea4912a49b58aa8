"""Workspace services: registering datastores and datasets, resolving dataset files."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import Max

from studio.core.errors import StudioError
from studio.core.names import check_name, check_tags
from studio.core.paths import (
    FileInfo,
    clean_path,
    fingerprint_files,
    is_origin,
    split_url,
)
from studio.core.tabular import read_table
from studio.workspace import egress, storage
from studio.workspace.datastores import Store
from studio.workspace.models import Dataset, Datastore

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

# Unregistered dataset definitions are saved under this prefix and hidden from the lists.
ANONYMOUS_PREFIX = "_anonymous_"


def workspace_default_datastore() -> Datastore:
    """Where outputs go when a step names no datastore (``ws.get_default_datastore()``)."""
    return Datastore.objects.filter(is_default=True).first() or storage.default_datastore()


@transaction.atomic
def set_default_datastore(name: str) -> Datastore:
    """Make ``name`` the workspace's default datastore (``ws.set_default_datastore``)."""
    datastore = get_datastore(name)
    Datastore.objects.filter(is_default=True).exclude(pk=datastore.pk).update(is_default=False)
    if not datastore.is_default:
        datastore.is_default = True
        datastore.save(update_fields=["is_default"])
    return datastore


def get_datastore(name: str | None) -> Datastore:
    """A datastore by name; ``http(s)://host[:port]`` is the web server a dataset URL names
    (read-only, never saved)."""
    if not name:
        return workspace_default_datastore()
    if is_origin(name):
        return Datastore(name=name, kind="http", root=name)
    store = Datastore.objects.filter(name=name).first()
    if store is None:
        if name == storage.DEFAULT_DATASTORE:
            return storage.default_datastore()
        raise StudioError("datastore", f"Datastore {name} does not exist.")
    return store


def register_datastore(
    *,
    name: str,
    kind: str,
    user: AbstractUser | None,
    options: dict,
    secrets: dict,
    root: str = "",
    overwrite: bool = False,
) -> Datastore:
    """Register (or with ``overwrite`` replace) a datastore after checking it can be reached."""
    check_name("datastore", name)
    if name == storage.DEFAULT_DATASTORE:
        raise StudioError("name", f"{name} is the default datastore and cannot be replaced.")
    if kind == "local":
        if not (user and user.is_superuser):
            raise StudioError(
                "kind", "Only an administrator may register a local-folder datastore."
            )
        allowed = settings.STUDIO_LOCAL_DATASTORE_ROOTS
        folder = Path(root).resolve() if root else None
        if folder is None or not root.startswith("/"):
            raise StudioError("root", "A local datastore needs an absolute folder path.")
        if not any(folder == base or base in folder.parents for base in allowed):
            raise StudioError(
                "root", f"{root} is not under a folder listed in STUDIO_LOCAL_DATASTORE_ROOTS."
            )
        folder.mkdir(parents=True, exist_ok=True)
        root = str(folder)
    existing = Datastore.objects.filter(name=name).first()
    if existing is not None and not overwrite:
        raise StudioError(
            "name", f"Datastore {name} already exists; pass overwrite=True to replace it."
        )
    datastore = existing or Datastore(name=name)
    datastore.kind, datastore.root, datastore.options, datastore.created_by = (
        kind,
        root,
        options,
        user,
    )
    datastore.set_secrets(secrets)
    _check_reachable(datastore)
    datastore.save()
    return datastore


def _check_reachable(datastore: Datastore) -> None:
    """List the store's root, giving up after STUDIO_DATASTORE_CHECK_SECONDS: an endpoint that
    accepts a connection and never answers must not hold the request (the listing goes on in
    the background until the store's own timeouts end it)."""
    outcome: dict = {}

    def _list() -> None:
        try:
            datastore.store().ls("")
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        else:
            outcome["ok"] = True

    thread = threading.Thread(target=_list, name=f"check-{datastore.name}", daemon=True)
    thread.start()
    thread.join(settings.STUDIO_DATASTORE_CHECK_SECONDS)
    name = datastore.name
    if thread.is_alive():
        raise StudioError(
            "options",
            f"Datastore {name} did not answer within {settings.STUDIO_DATASTORE_CHECK_SECONDS:g} s: "
            "check the endpoint and the network.",
        )
    exc = outcome.get("error")
    if isinstance(exc, egress.AddressRefused):
        raise StudioError(exc.field, exc.message)
    if isinstance(exc, StudioError):
        raise StudioError("root", str(exc))
    if exc is not None:  # the store could not be reached with these settings
        raise StudioError(
            "options", f"Datastore {name} cannot be reached: {type(exc).__name__}: {exc}"
        )


def parse_paths(paths: Any) -> list[list[str]]:
    """Validate dataset paths: [[datastore, path or glob], ...]; a web URL is given as
    ``"https://host/path"`` or ``["https://host", "path"]``."""
    if not isinstance(paths, list) or not paths:
        raise StudioError("paths", "A dataset needs at least one (datastore, path) pair.")
    parsed = []
    for i, item in enumerate(paths):
        if isinstance(item, str):
            try:
                item = list(split_url(item))
            except StudioError as exc:
                raise StudioError(f"paths[{i}]", str(exc)) from None
        if (
            not isinstance(item, (list, tuple))
            or len(item) != 2
            or not all(isinstance(x, str) for x in item)
        ):
            raise StudioError(f"paths[{i}]", "Each path must be a [datastore name, path] pair.")
        if is_origin(item[0]):
            try:
                origin, rel = split_url(f"{item[0]}/{item[1]}")
                egress.check_url(origin, f"paths[{i}]")
            except StudioError as exc:
                raise StudioError(f"paths[{i}]", str(exc)) from None
            parsed.append([origin, rel])
            continue
        store = get_datastore(item[0])
        try:
            rel = clean_path(item[1], allow_glob=True)
        except StudioError as exc:
            raise StudioError(f"paths[{i}]", str(exc)) from None
        parsed.append([store.name, rel])
    return parsed


def register_dataset(*, name: str, tags: dict | None = None, **fields: Any) -> Dataset:
    """Register a dataset version; an existing name needs ``create_new_version`` (azureml's rule).
    ``fields``: those of :func:`_add_dataset_version` (kind, paths, options, description...)."""
    check_name("dataset", name)
    check_tags(tags or {})
    return _add_dataset_version(name=name, tags=tags, **fields)


def _add_dataset_version(
    *,
    name: str,
    kind: str,
    paths: Any,
    options: dict,
    description: str = "",
    tags: dict | None = None,
    create_new_version: bool = False,
    created_by_step_id: str = "",
) -> Dataset:
    if kind not in ("file", "tabular"):
        raise StudioError("kind", "kind must be file or tabular.")
    parsed = parse_paths(paths)
    for _ in range(3):
        try:
            with transaction.atomic():
                latest = Dataset.objects.filter(name=name).aggregate(v=Max("version"))["v"]
                if latest is not None and not create_new_version:
                    current = Dataset.objects.get(name=name, version=latest)
                    if (
                        current.paths == parsed
                        and current.kind == kind
                        and current.options == options
                    ):
                        return current
                    raise StudioError(
                        "name",
                        f'There is already a dataset registered under name "{name}". Specify create_new_version=True to register the dataset as a new version.',
                    )
                return Dataset.objects.create(
                    name=name,
                    version=(latest or 0) + 1,
                    kind=kind,
                    paths=parsed,
                    options=options or {},
                    description=description or "",
                    tags=tags or {},
                    created_by_step_id=created_by_step_id,
                )
        except IntegrityError:
            continue  # another registration took this version number: try the next one
    raise StudioError("name", f"Could not register a new version of {name}; try again.")


def save_dataset_definition(*, kind: str, paths: Any, options: dict) -> Dataset:
    """An unregistered dataset definition, saved under a name derived from its content (the
    same definition is saved once); azureml gives such a dataset an id when it is first used."""
    digest = hashlib.sha256(
        json.dumps([kind, parse_paths(paths), options], sort_keys=True).encode()
    ).hexdigest()
    return _add_dataset_version(
        name=f"{ANONYMOUS_PREFIX}{digest[:16]}", kind=kind, paths=paths, options=options
    )


def get_dataset(name: str, version: str | int = "latest") -> Dataset:
    versions = Dataset.objects.filter(name=name)
    if version in ("latest", None):
        dataset = versions.order_by("-version").first()
    else:
        try:
            dataset = versions.filter(version=int(version)).first()
        except (TypeError, ValueError):
            raise StudioError(
                "version", f"Dataset version must be a number or 'latest', not {version!r}."
            ) from None
    if dataset is None:
        raise StudioError(
            "name",
            f'Cannot find dataset registered with name "{name}" (version: {version}) in the workspace.',
            404,
        )
    return dataset


@dataclass
class ResolvedFiles:
    """The files a dataset points at now, grouped by datastore."""

    groups: list[
        tuple[Datastore, Store, str, list[FileInfo]]
    ]  # datastore, store, path pattern, files

    @property
    def fingerprint(self) -> str:
        return fingerprint_files(
            [
                FileInfo(f"{ds.name}:{f.path}", f.size, f.version)
                for ds, _, _, files in self.groups
                for f in files
            ]
        )

    @property
    def count(self) -> int:
        return sum(len(files) for *_, files in self.groups)


def resolve_dataset(dataset: Dataset) -> ResolvedFiles:
    groups = []
    for datastore_name, pattern in dataset.paths:
        datastore = get_datastore(datastore_name)
        store = datastore.store()
        groups.append((datastore, store, pattern, store.glob(pattern)))
    return ResolvedFiles(groups)


@dataclass(frozen=True)
class DatasetContents:
    """What a dataset's page shows of its data: the files it names (datastore name, file,
    downloadable through Studio) and, for a tabular dataset, its first rows."""

    files: list[tuple[str, Any, bool]]
    preview: dict | None
    error: str = ""


DATASET_CACHE = "datasets"  # settings.CACHES: a file cache under the data dir
LISTED_FILES = 200
PREVIEW_ROWS = 20


def dataset_contents(dataset: Dataset) -> DatasetContents:
    """The files and preview of one dataset version, read from its datastores once and then
    kept in the dataset cache under the version's id and number (a version never changes),
    so the page does not list and parse the data again on every visit. An error (a store
    unreachable, an extra to install) is not kept: the next visit tries again."""
    cache = caches[DATASET_CACHE]
    key = f"dataset-contents:v1:{dataset.id}:{dataset.version}"
    contents = cache.get(key)
    if contents is None:
        contents = _read_contents(dataset)
        if not contents.error:
            cache.set(key, contents)
    return contents


def _read_contents(dataset: Dataset) -> DatasetContents:
    files: list[tuple[str, Any, bool]] = []
    try:
        resolved = resolve_dataset(dataset)
        files = [
            (ds.name, f, ds.kind != "http")  # a web server's file is not downloaded through Studio
            for ds, _, _, found in resolved.groups
            for f in found[:LISTED_FILES]
        ]
        preview = _preview(resolved, dataset.options) if dataset.kind == "tabular" else None
    except StudioError as exc:  # what to do about it (an extra to install), said as it is
        return DatasetContents(files, None, str(exc))
    except Exception as exc:  # shown on the page: a dataset whose data cannot be read
        return DatasetContents(files, None, f"{type(exc).__name__}: {exc}")
    return DatasetContents(files, preview)


def _preview(resolved: ResolvedFiles, options: dict) -> dict | None:
    handles = []
    try:
        for _, store, _, found in resolved.groups:
            for info in found[:5]:
                handles.append(store.open_read(info.path))
        if not handles:
            return None
        frame = read_table(handles, options, nrows=PREVIEW_ROWS)
    finally:
        for handle in handles:
            handle.close()
    return {"columns": [str(c) for c in frame.columns], "rows": frame.astype(str).values.tolist()}
