"""The model registry: register a model version from files on a datastore (or a step's
artifacts), find, list, update and delete versions, and record which step read which version.

A version's files are copied to ``models/<name>/<version>/`` on the workspace's default
datastore, with a manifest of their paths, sizes and sha256, so that what a step downloads can
be checked against what was registered. Runs are named by id: the workspace does not import
the runs app (``runs`` joins them for its pages and for reuse).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any, BinaryIO

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from studio.core.errors import StudioError
from studio.core.names import check_model_name, check_tags
from studio.core.paths import clean_path, join
from studio.workspace.datastores import Store
from studio.workspace.models import Dataset, ModelRead, ModelVersion, RegisteredModel
from studio.workspace.services import get_datastore, workspace_default_datastore

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

RUN_LOGGING_HINT = "See https://aka.ms/run-logging for more details."


def model_folder(name: str, version: int) -> str:
    return f"models/{name}/{version}"


def _check_datasets(datasets: Any, field: str = "datasets") -> list[dict]:
    """[{"name": scenario, "id": dataset id}], every id a registered dataset."""
    if datasets in (None, ""):
        return []
    if not isinstance(datasets, list):
        raise StudioError(field, "datasets must be a list of (scenario, dataset) pairs.")
    checked = []
    for i, item in enumerate(datasets):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise StudioError(f"{field}[{i}]", "Each dataset needs a scenario name and an id.")
        checked.append({"name": item["name"], "id": _dataset_id(item.get("id"), f"{field}[{i}]")})
    return checked


def _dataset_id(value: Any, field: str) -> str:
    if value in (None, ""):
        return ""
    try:
        dataset_id = str(uuid.UUID(str(value)))
    except ValueError:
        raise StudioError(field, f"{value!r} is not a dataset id.") from None
    if not Dataset.objects.filter(id=dataset_id).exists():
        raise StudioError(field, f"Dataset {dataset_id} does not exist.")
    return dataset_id


class _Hashing:
    """A stream read through, counting its sha256."""

    def __init__(self, source: BinaryIO):
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        return chunk


def register_model(
    *,
    name: str,
    source: Store,
    source_path: str,
    tags: Any = None,
    properties: Any = None,
    description: str = "",
    datasets: Any = None,
    model_framework: str = "",
    model_framework_version: str = "",
    sample_input_dataset: str = "",
    sample_output_dataset: str = "",
    step_run_id: str = "",
    pipeline_run_id: str = "",
    experiment_name: str = "",
    user: AbstractUser | None = None,
    path_field: str = "model_path",
) -> ModelVersion:
    """Register a new version of ``name`` from the file or folder ``source_path`` on
    ``source``: the files are copied under ``models/<name>/<version>/<last part of the path>``
    on the default datastore. Raises StudioError naming the field at fault."""
    check_model_name(name)
    tags = check_tags(tags or {}, "tags")
    properties = check_tags(properties or {}, "properties")
    if model_framework_version and not model_framework:
        raise StudioError(
            "model_framework_version",
            "Model framework version cannot be provided without a valid framework",
        )
    checked = _check_datasets(datasets)
    sample_in = _dataset_id(sample_input_dataset, "sample_input_dataset")
    sample_out = _dataset_id(sample_output_dataset, "sample_output_dataset")
    try:
        rel = clean_path(source_path)
    except StudioError as exc:
        raise StudioError(path_field, exc.message) from None
    files = files_at(source, rel, path_field) if rel else []
    if not files:
        raise StudioError(path_field, f"No file or folder {source_path} to register as a model.")
    base = rel.rsplit("/", 1)[0] if "/" in rel else ""
    target_store = workspace_default_datastore()
    version = _reserve_version(
        name,
        tags=tags,
        properties=properties,
        description=description or "",
        datasets=checked,
        model_framework=model_framework or "",
        model_framework_version=model_framework_version or "",
        sample_input_dataset_id=sample_in,
        sample_output_dataset_id=sample_out,
        step_run_id=step_run_id,
        pipeline_run_id=pipeline_run_id,
        experiment_name=experiment_name,
        created_by=user if user is not None and user.is_authenticated else None,
        datastore=target_store.name,
    )
    folder = model_folder(name, version.version)
    store = target_store.store()
    manifest = []
    try:
        for info in files:
            relative = info.path[len(base) :].lstrip("/") if base else info.path
            with source.open_read(info.path) as handle:
                reader = _Hashing(handle)
                size = store.write_file(join(folder, relative), reader, overwrite=True)
            manifest.append({"path": relative, "size": size, "sha256": reader.digest.hexdigest()})
    except BaseException:
        store.delete(folder)
        version.delete()
        raise
    version.path = folder
    version.files = sorted(manifest, key=lambda f: f["path"])
    version.complete = True
    version.save(update_fields=["path", "files", "complete"])
    RegisteredModel.objects.filter(pk=version.model_id).update(updated_at=timezone.now())
    return version


def files_at(source: Store, rel: str, field: str = "model_path") -> list:
    """The files at a path (a file, or every file under a folder); a path the file system
    cannot take (a name too long) is the request's fault, said with the field."""
    try:
        return list(source.walk(rel))
    except OSError as exc:
        raise StudioError(field, f"{rel} cannot be read: {exc.strerror or exc}.") from None


def _reserve_version(name: str, **fields: Any) -> ModelVersion:
    """A new version number of ``name``, taken (not yet complete) so that no other
    registration takes it while the files are copied."""
    for _ in range(5):
        try:
            with transaction.atomic():
                model, _ = RegisteredModel.objects.get_or_create(name=name)
                latest = model.versions.aggregate(v=Max("version"))["v"] or 0
                return ModelVersion.objects.create(model=model, version=latest + 1, **fields)
        except IntegrityError:
            continue  # another registration took this number (or created the name): again
    raise StudioError("name", f"Could not register a new version of model {name}; try again.")


def versions() -> QuerySet[ModelVersion]:
    """Every complete model version, newest first within a name."""
    return ModelVersion.objects.filter(complete=True).select_related("model", "created_by")


def _pairs(values: Any, field: str) -> list[tuple[str, str | None]]:
    """azureml's tag filters: ``"key"`` or ``["key", "value"]`` items (also ``key=value``
    strings, as its REST query is written)."""
    if values in (None, "", []):
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list):
        raise StudioError(field, f'{field} must be a list like ["key", ["key2", "value"]].')
    pairs: list[tuple[str, str | None]] = []
    for item in values:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            pairs.append((item[0], item[1]))
        elif isinstance(item, str) and item:
            key, eq, value = item.partition("=")
            pairs.append((key, value if eq else None))
        else:
            raise StudioError(field, f'{field} must be a list like ["key", ["key2", "value"]].')
    return pairs


def list_versions(
    *,
    name: str | None = None,
    tags: Any = None,
    properties: Any = None,
    run_id: str | None = None,
    dataset_id: str | None = None,
    model_framework: str | None = None,
    latest: bool = False,
    limit: int = 1000,
) -> list[ModelVersion]:
    """Model versions matching every filter given (azureml's ``Model.list``): newest first
    within each name; with ``latest``, only the latest version of each name."""
    found = versions()
    if name:
        found = found.filter(model__name=name)
    if run_id:
        found = found.filter(Q(step_run_id=run_id) | Q(pipeline_run_id=run_id))
    if model_framework:
        found = found.filter(model_framework=model_framework)
    found = list(found.order_by("model__name", "-version")[:10_000])
    for field, pairs in (
        ("tags", _pairs(tags, "tags")),
        ("properties", _pairs(properties, "properties")),
    ):
        for key, value in pairs:
            found = [
                v
                for v in found
                if key in getattr(v, field) and (value is None or getattr(v, field)[key] == value)
            ]
    if dataset_id:
        found = [v for v in found if any(d["id"] == dataset_id for d in v.datasets)]
    if latest:
        seen: set[str] = set()
        newest = []
        for version in found:
            if version.model.name not in seen:
                seen.add(version.model.name)
                newest.append(version)
        found = newest
    return found[:limit]


def get_version(name: str, version: int | str | None = None) -> ModelVersion:
    """A complete version of model ``name`` (the latest without ``version``); 404 with
    azureml's ``ModelNotFound`` message when there is none."""
    found = versions().filter(model__name=name)
    if version in (None, "", "latest"):
        model = found.order_by("-version").first()
    else:
        try:
            number = int(version)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise StudioError("version", "version should be an int") from None
        model = found.filter(version=number).first()
    if model is None:
        detail = f"name {name}" + (
            f", version {version}" if version not in (None, "", "latest") else ""
        )
        raise StudioError(
            "name", f"ModelNotFound: Model with {detail} not found in provided workspace", 404
        )
    return model


def latest_version_number(name: str) -> int | None:
    return versions().filter(model__name=name).aggregate(v=Max("version"))["v"]


def update_version(
    version: ModelVersion,
    *,
    add_tags: Any = None,
    remove_tags: Any = None,
    add_properties: Any = None,
    tags: Any = None,
    description: str | None = None,
) -> ModelVersion:
    """Change a version's tags (replace them, add some, remove some), add properties (a
    property once set keeps its value, azureml's rule) or set its description."""
    if tags is not None:
        version.tags = dict(check_tags(tags, "tags"))
    if add_tags is not None:
        version.tags = {**version.tags, **check_tags(add_tags, "add_tags")}
    if remove_tags is not None:
        if not isinstance(remove_tags, list) or not all(isinstance(k, str) for k in remove_tags):
            raise StudioError("remove_tags", "remove_tags must be a list of tag names.")
        version.tags = {k: v for k, v in version.tags.items() if k not in remove_tags}
    if add_properties is not None:
        added = check_tags(add_properties, "add_properties")
        for key, value in added.items():
            if key in version.properties and version.properties[key] != value:
                raise StudioError(
                    f"add_properties.{key}",
                    f"Property {key} is already set to {version.properties[key]!r}; "
                    "properties can only be added.",
                )
        version.properties = {**version.properties, **added}
    if description is not None:
        version.description = description
    version.save(update_fields=["tags", "properties", "description"])
    return version


def delete_version(version: ModelVersion) -> None:
    """Delete a version and its files; the name goes when its last version does."""
    model = version.model
    folder = version.path
    datastore = version.datastore
    version.delete()
    if folder:
        get_datastore(datastore).store().delete(folder)
    if not model.versions.exists():
        model.delete()


def open_file(version: ModelVersion, path: str) -> BinaryIO:
    """One of a version's files, by its path in the manifest (nothing else is reachable)."""
    if not any(f["path"] == path for f in version.files):
        raise StudioError("path", f"Model {version} has no file {path}.", 404)
    return get_datastore(version.datastore).store().open_read(join(version.path, path))


def record_read(version: ModelVersion, step_run_id: str, asked: int | str | None) -> ModelRead:
    """Note that a step run loaded ``version``, having asked for ``asked`` (None: latest)."""
    asked_text = "latest" if asked in (None, "", "latest") else str(int(asked))  # type: ignore[arg-type]
    read, _ = ModelRead.objects.get_or_create(
        model_version=version, step_run_id=step_run_id, asked=asked_text
    )
    return read


def stale_reads(step_run_id: str) -> list[str]:
    """What a step run read as "latest" that is no longer the latest version:
    ``["model churn-model: 3 → 4"]``, for reuse to explain why the step runs again."""
    reads = ModelRead.objects.filter(step_run_id=step_run_id, asked="latest").select_related(
        "model_version__model"
    )
    changes = []
    for read in reads:
        name = read.model_version.model.name
        now = latest_version_number(name)
        if now is not None and now != read.model_version.version:
            changes.append(f"model {name}: {read.model_version.version} → {now}")
    return sorted(changes)


def as_json(version: ModelVersion) -> dict:
    """A version as the API shows it (azureml's Model fields)."""
    return {
        "id": f"{version.model.name}:{version.version}",
        "name": version.model.name,
        "version": version.version,
        "tags": version.tags,
        "properties": version.properties,
        "description": version.description,
        "model_framework": version.model_framework or None,
        "model_framework_version": version.model_framework_version or None,
        "datasets": version.datasets,
        "sample_input_dataset_id": version.sample_input_dataset_id or None,
        "sample_output_dataset_id": version.sample_output_dataset_id or None,
        "run_id": version.step_run_id or None,
        "pipeline_run_id": version.pipeline_run_id or None,
        "experiment_name": version.experiment_name or None,
        "created_time": version.created_at,
        "created_by": version.created_by.get_username() if version.created_by else None,
        "url": f"aml://asset/{version.id.hex}",
        "datastore": version.datastore,
        "path": version.path,
        "files": version.files,
    }
