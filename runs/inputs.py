"""A step's inputs, resolved in one place: what each one is now (a data path on a datastore,
a dataset version and its files, an output of an upstream step), what it is to the
fingerprint, and where the step's script finds it on the worker's disk.

Reuse asks :func:`identity` when it fingerprints a ready step; the worker asks
:func:`local_location` when it lays the step out. Both start from :func:`step_inputs`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from runs.models import Run, StepRun
from studio.core.errors import StudioError
from studio.core.paths import FileInfo, fingerprint_files, has_glob
from studio.core.spec import InputSpec, StepSpec
from studio.workspace.datastores import Store
from studio.workspace.models import Dataset
from studio.workspace.services import ResolvedFiles, get_datastore, resolve_dataset


@dataclass(frozen=True)
class Input:
    """One input of a step, as it is now. ``kind`` is "datapath", "dataset" or "step"."""

    port: InputSpec
    kind: str
    datastore: str = ""  # a data path: where
    path: str = ""
    dataset: Dataset | None = None  # a dataset: which version, and its files now
    files: ResolvedFiles | None = None
    producer: StepRun | None = None  # an upstream output: the step, and its output's record
    output: dict | None = None

    @property
    def name(self) -> str:
        return self.port.name


def step_inputs(run: Run, node: StepSpec) -> list[Input]:
    """What each input of ``node`` is in ``run``, in the order the step declares them."""
    sources = [i.source_step for i in node.inputs if i.is_step_output]
    producers = (
        {s.node_id: s for s in StepRun.objects.filter(run=run, node_id__in=sources)}
        if sources
        else {}
    )
    inputs = []
    for port in node.inputs:
        if port.is_datapath:
            value = port.datapath(run.parameters)
            inputs.append(Input(port, "datapath", datastore=value["datastore"], path=value["path"]))
        elif port.is_dataset:
            dataset = Dataset.objects.get(id=port.dataset_id(run.parameters))
            inputs.append(Input(port, "dataset", dataset=dataset, files=resolve_dataset(dataset)))
        else:
            producer = producers[port.source_step]
            output = producer.outputs.get(port.source_output)
            inputs.append(Input(port, "step", producer=producer, output=output))
    return inputs


def identity(item: Input) -> dict:
    """What the fingerprint knows of an input: which data, and the digest of its files."""
    if item.kind == "datapath":
        files = get_datastore(item.datastore).store().glob(item.path)
        return {
            "kind": "datapath",
            "datastore": item.datastore,
            "path": item.path,
            "data": fingerprint_files(files),
            "mode": item.port.mode,
        }
    if item.kind == "dataset":
        assert item.dataset is not None and item.files is not None
        return {
            "kind": "dataset",
            "name": item.dataset.name,
            "version": item.dataset.version,
            "data": item.files.fingerprint,
            "mode": item.port.mode,
        }
    assert item.producer is not None
    return {
        "kind": "step",
        "step": item.producer.name,
        "output": item.port.source_output,
        "manifest": (item.output or {}).get("manifest", ""),
    }


def local_location(item: Input, work: Path) -> tuple[str, dict | None]:
    """Where the script finds an input: (its argument value, and for a dataset the
    description ``Run.input_datasets`` reads). Local stores are read in place; others are
    downloaded once into the worker's cache."""
    if item.kind == "datapath":
        return _datapath_location(item.datastore, item.path), None
    if item.kind == "dataset":
        return _dataset_location(item, work)
    return _output_location(item), None


def _output_location(item: Input) -> str:
    assert item.producer is not None
    output = item.output
    if output is None:
        raise StudioError(
            "inputs",
            f"input {item.name}: step {item.producer.name} recorded no output "
            f"{item.port.source_output}",
        )
    store = get_datastore(output["datastore"]).store()
    if store.is_local:
        return str(store.local_path(output["path"]))
    cache = settings.DATA_DIR / "cache" / "outputs" / output["manifest"]
    files = list(store.walk(output["path"]))
    if output.get("is_file"):
        folder, _, filename = output["path"].rpartition("/")
        return str(_materialize(store, files, cache, folder) / filename)
    return str(_materialize(store, files, cache, output["path"]))


def _datapath_location(datastore: str, path: str) -> str:
    store = get_datastore(datastore).store()
    if store.is_local and not has_glob(path):
        return str(store.local_path(path))
    files = store.glob(path)
    if not files:
        raise StudioError("inputs", f"Nothing is at {datastore}/{path}.")
    cache = settings.DATA_DIR / "cache" / "datapaths" / fingerprint_files(files)
    if len(files) == 1 and files[0].path == path:
        folder = _materialize(store, files, cache, path.rsplit("/", 1)[0] if "/" in path else "")
        return str(folder / path.rsplit("/", 1)[-1])
    return str(_materialize(store, files, cache, _common_folder(path)))


def _dataset_location(item: Input, work: Path) -> tuple[str, dict]:
    dataset, resolved = item.dataset, item.files
    assert dataset is not None and resolved is not None
    cache = settings.DATA_DIR / "cache" / "datasets" / resolved.fingerprint
    files: list[str] = []
    folders: list[Path] = []
    single_file = False
    for index, (_, store, pattern, found) in enumerate(resolved.groups):
        if not has_glob(pattern) and len(found) == 1 and found[0].path == pattern:
            base = pattern.rsplit("/", 1)[0] if "/" in pattern else ""
            single_file = len(resolved.groups) == 1
        else:
            base = _common_folder(pattern)
        if store.is_local and not has_glob(pattern) and base == pattern:
            folder = store.local_path(pattern)  # a folder on a local store: used in place
        else:
            folder = _materialize(store, found, cache / str(index), base)
        folders.append(folder)
        for info in found:
            relative = info.path[len(base) :].lstrip("/") if base else info.path
            files.append(str(folder / relative))
    if not files:
        raise StudioError(
            "inputs", f"Dataset {dataset.name}:{dataset.version} matches no files now."
        )
    if single_file:
        path = Path(files[0])  # a dataset of one file is given as that file, as in azureml
    elif len(folders) == 1:
        path = folders[0]
    else:
        path = work / "inputs" / item.name
        path.mkdir(parents=True, exist_ok=True)
        for i, folder in enumerate(folders):
            os.symlink(folder, path / str(i))
    description = {
        "id": str(dataset.id),
        "name": dataset.name,
        "version": dataset.version,
        "kind": dataset.kind,
        "mode": item.port.mode,
        "options": dataset.options,
        "files": files,
        "path": str(path),
    }
    value = description["id"] if item.port.mode == "direct" else description["path"]
    return value, description


def _common_folder(pattern: str) -> str:
    """The folder a glob pattern's matches share: the parts before the first wildcard."""
    fixed = []
    for part in pattern.split("/"):
        if has_glob(part):
            break
        fixed.append(part)
    return "/".join(fixed)


def _materialize(store: Store, files: list[FileInfo], target: Path, strip: str) -> Path:
    """A local folder holding these files: hard links on a local store, downloads otherwise."""
    if target.exists():
        return target
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if store.is_local:
        for info in files:
            relative = (
                info.path[len(strip) :].lstrip("/")
                if strip and info.path.startswith(strip)
                else info.path
            )
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = store.local_path(info.path)
            try:
                os.link(source, destination)
            except OSError:
                shutil.copy2(source, destination)
    else:
        store.download(files, staging, strip=strip)
    try:
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target
