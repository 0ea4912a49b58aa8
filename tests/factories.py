"""Shared test data, made the way the product makes it: users and their API clients,
snapshots, pipeline steps and graphs, submitted runs and steps put in a given state.

Tests that need a database use these (and the fixtures of ``tests/conftest.py`` built on
them) instead of repeating their own set-up.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable
from pathlib import Path

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from runs import services
from runs.models import Run, StepRun
from studio.core.snapshot import build
from studio.core.status import Status
from studio.workspace.models import ApiToken, Snapshot

PASSWORD = "correct horse battery staple"
DIGEST = "c" * 64  # a snapshot recorded without its zip: for runs whose scripts never run


def user(name: str = "alice", superuser: bool = False):
    make = (
        get_user_model().objects.create_superuser
        if superuser
        else get_user_model().objects.create_user
    )
    return make(name, password=PASSWORD)


def client_for(owner, scope: str = "admin") -> APIClient:
    """An API client that sends a fresh bearer token of ``owner``."""
    _, secret = ApiToken.issue(owner, f"{owner.username}-{scope}", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def uploaded_snapshot(api: APIClient, folder: Path, files: dict[str, str] | None = None) -> str:
    """A real source folder (``files``: name -> text), built and uploaded; its digest."""
    for name, text in (
        files or {"train.py": "print('train')\n", "score.py": "print('score')\n"}
    ).items():
        (folder / name).write_text(text)
    digest, data, _ = build(folder)
    response = api.put(
        f"/api/snapshots/{digest}/upload/", data=data, content_type="application/zip"
    )
    assert response.status_code == 201, response.content
    return digest


def recorded_snapshot(files: Iterable[str] = ("noop.py",), digest: str = DIGEST) -> str:
    """A snapshot the server knows the files of, without its zip."""
    Snapshot.objects.get_or_create(digest=digest, defaults={"size": 1, "files": list(files)})
    return digest


def step(
    node_id: str, after: Iterable[str] = (), script: str = "noop.py", digest: str = DIGEST, **more
) -> dict:
    """One step of a graph, as the SDK sends it."""
    return {
        "node_id": node_id,
        "name": more.pop("name", node_id),
        "script_name": script,
        "snapshot": digest,
        "run_after": list(after),
        **more,
    }


def chain(*names: str, digest: str = DIGEST) -> dict:
    """A graph of steps that run one after the other."""
    return {
        "steps": [
            step(name, [names[i - 1]] if i else [], digest=digest) for i, name in enumerate(names)
        ]
    }


def submitted(graph: dict, owner=None, experiment: str = "engine", **options) -> Run:
    """A run of ``graph`` submitted through the engine's service (its first steps queued);
    the snapshot its steps name is recorded first."""
    for digest in {s["snapshot"] for s in graph["steps"]}:
        recorded_snapshot({s["script_name"] for s in graph["steps"]}, digest)
    return services.submit_run(experiment_name=experiment, graph_data=graph, user=owner, **options)


def step_in(status: Status, attempt: int = 1, node_id: str = "a", owner=None) -> StepRun:
    """A step of a new run, put in ``status`` at ``attempt`` (its run Running unless the step
    has not started)."""
    run = submitted(chain(node_id), owner, experiment="states")
    steps = StepRun.objects.filter(run=run, node_id=node_id)
    steps.update(status=status, attempt=attempt)
    if status != Status.NOT_STARTED:
        Run.objects.filter(id=run.id).update(status=Status.RUNNING)
    return steps.get()


def run_body(digest: str, **changes) -> dict:
    """A REST submission of a two-step pipeline (train, then score on its model)."""
    body = {
        "experiment_name": "mnist",
        "graph": {
            "parameters": [{"name": "rate", "type": "float", "default": 0.5}],
            "steps": [
                {
                    "node_id": "train",
                    "name": "train",
                    "script_name": "train.py",
                    "snapshot": digest,
                    "arguments": [{"kind": "parameter", "value": "rate"}],
                    "outputs": [{"name": "model"}],
                },
                {
                    "node_id": "score",
                    "name": "score",
                    "script_name": "score.py",
                    "snapshot": digest,
                    "inputs": [{"name": "model", "source_step": "train", "source_output": "model"}],
                },
            ],
        },
    }
    body.update(changes)
    return body


_ZIP_CHUNK = 4 * 1024 * 1024


def stored_zip(target: Path, sizes: dict[str, int]) -> str:
    """A snapshot zip of files of zeros written to ``target`` without compression; its digest."""
    hashes = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
        for name, size in sizes.items():
            h = hashlib.sha256()
            with zf.open(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), "w", force_zip64=True) as fh:
                for start in range(0, size, _ZIP_CHUNK):
                    chunk = bytes(min(_ZIP_CHUNK, size - start))
                    fh.write(chunk)
                    h.update(chunk)
            hashes.append(name.encode() + b"\0" + h.digest())
    return hashlib.sha256(b"".join(sorted(hashes))).hexdigest()  # the snapshot digest's rule
