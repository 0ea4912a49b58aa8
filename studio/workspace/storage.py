"""Where things live on the default datastore: snapshots, step outputs and step logs.

Everything a web server on another machine needs to show a run (logs included)
is on the datastore or in the database, never only on the worker's disk.
"""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from studio.workspace.models import Datastore

DEFAULT_DATASTORE = "workspaceblobstore"


def default_datastore() -> Datastore:
    """Studio's own datastore, ``workspaceblobstore`` (created on first use): snapshots and
    logs live there, and outputs too unless the workspace's default datastore is changed
    (``studio.workspace.services.workspace_default_datastore``)."""
    store = Datastore.objects.filter(name=DEFAULT_DATASTORE).first()
    if store is None:
        root = settings.DATA_DIR / "datastores" / DEFAULT_DATASTORE
        store, _ = Datastore.objects.get_or_create(
            name=DEFAULT_DATASTORE,
            defaults={"kind": "local", "root": str(root), "is_default": True},
        )
    store.root_path.mkdir(parents=True, exist_ok=True)
    return store


def datastores() -> QuerySet[Datastore]:
    """Every registered datastore, Studio's own ``workspaceblobstore`` among them."""
    default_datastore()
    return Datastore.objects.all()


def snapshot_path(digest: str) -> Path:
    return default_datastore().root_path / "snapshots" / f"{digest}.zip"


def save_snapshot(digest: str, data: bytes) -> None:
    target = snapshot_path(digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a half-written copy (a full disk) never stays
        raise


def materialize_snapshot(digest: str) -> Path:
    """A read-only extracted copy of a snapshot in the worker's local cache."""
    cache = settings.DATA_DIR / "cache" / "snapshots" / digest
    if cache.is_dir():
        return cache
    staging = cache.with_name(f"{digest}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(snapshot_path(digest)) as zf:
        zf.extractall(staging)
    try:
        os.rename(staging, cache)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another worker extracted it first
    return cache


def working_copy(digest: str, target: Path) -> Path:
    """A private copy of a snapshot for one step attempt (hard links where possible)."""
    source = materialize_snapshot(digest)
    shutil.rmtree(target, ignore_errors=True)

    def _link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=_link)
    return target


_root_cache: dict[str, tuple[float, Path]] = {}


def default_root() -> Path:
    """The default datastore's folder, remembered for a few seconds: log and artifact paths are
    asked for once per step on pages with hundreds of steps."""
    now = time.monotonic()
    cached = _root_cache.get("root")
    if cached is None or now - cached[0] > 10.0:
        cached = (now, default_datastore().root_path)
        _root_cache["root"] = cached
    return cached[1]


def step_log_dir(step_run_id: str) -> Path:
    return default_root() / "ExperimentRun" / f"dcid.{step_run_id}"


def step_log_path(step_run_id: str) -> Path:
    return step_log_dir(step_run_id) / "user_logs" / "std_log.txt"


def read_log(
    step_run_id: str, offset: int = 0, limit: int = 256 * 1024, name: str = ""
) -> tuple[bytes, int]:
    """Up to ``limit`` bytes of a step's log (``std_log.txt``, or the file ``name`` of its
    logs) from ``offset``; returns (data, next offset)."""
    path = step_log_dir(step_run_id) / name if name else step_log_path(step_run_id)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if offset < 0:
                offset = max(0, size + offset)
            offset = min(offset, size)
            fh.seek(offset)
            data = fh.read(limit)
    except FileNotFoundError:
        return b"", 0
    return data, offset + len(data)
