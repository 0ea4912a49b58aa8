"""Faults while a step's outputs are uploaded to S3 (after the script exited, before the
outcome is committed): a cancel, and a worker killed outright. Whatever the timing, an output is
published whole with a Completed step or not at all, nothing is left Queued or Running, and a
step that did not complete is never reused."""

from __future__ import annotations

import signal
import uuid

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline, PipelineData
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT, Studio, isolated_services, wait_until
from tests.integration.emulators import Backend
from tests.reliability.invariants import assert_invariants

pytestmark = pytest.mark.integration
SCRIPTS = str(ROOT / "tests" / "sources" / "faults")
MEGABYTES = 120
FINISHED = ("Completed", "Failed", "Canceled")


@pytest.fixture
def own(tmp_path):
    server = Studio(tmp_path / "studio", **isolated_services("publish-faults"))
    try:
        yield server.start()
    finally:
        server.stop()


def _pipeline(ws, store):
    out = PipelineData("big", datastore=store, is_directory=False)
    step = PythonScriptStep(
        name="big",
        script_name="big_output.py",
        source_directory=SCRIPTS,
        arguments=["--out", out, "--megabytes", str(MEGABYTES)],
        outputs=[out],
    )
    return Pipeline(ws, [step])


def _run(studio, run_id):
    return studio.api("GET", f"runs/{run_id}/").json()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # gone (ENOENT), or going between the open and the read (ESRCH)
        return False


def _publishing(studio, run_id):
    """The step once its script has exited (its outputs are being published), else None."""
    step = _run(studio, run_id)["steps"][0]
    if step["status"] in ("Running", "CancelRequested") and step["pid"] and not _alive(step["pid"]):
        return step
    return None


def _check_outcome(studio, backend, bucket: str, run_id: str) -> dict:
    data = wait_until(
        lambda: (d := _run(studio, run_id))["status"] in FINISHED and d,
        timeout=90,
        message="the run to end",
    )
    step = data["steps"][0]
    assert step["status"] in FINISHED
    assert {s["status"] for s in data["steps"]} <= set(FINISHED)  # nothing Queued or Running
    outputs = step.get("outputs") or {}
    if step["status"] == "Completed":
        published = outputs["big"]
        size = (
            backend.fs().size(f"{published['datastore_bucket']}/{published['path']}")
            if ("datastore_bucket" in published)
            else None
        )
        assert published["manifest"], published
        if size is not None:
            assert size == MEGABYTES << 20
    else:
        assert outputs == {}, f"a {step['status']} attempt published {outputs}"
    return step


def test_a_cancel_while_outputs_upload_publishes_all_or_nothing(own, moto):
    backend = Backend("s3", moto)
    ws = own.workspace()
    tag = uuid.uuid4().hex[:10]
    store = backend.register(ws, tag)
    run = Experiment(ws, "cancel-upload").submit(_pipeline(ws, store))
    wait_until(lambda: _publishing(own, run.id), timeout=120, interval=0.05, message="upload")
    assert own.api("POST", f"runs/{run.id}/cancel/").status_code == 200
    _check_outcome(own, backend, f"bucket-{tag}", run.id)
    assert_invariants(own)


def test_a_worker_killed_between_upload_and_commit_leaves_nothing_reusable(own, moto):
    backend = Backend("s3", moto)
    ws = own.workspace()
    tag = uuid.uuid4().hex[:10]
    store = backend.register(ws, tag)
    pipeline = _pipeline(ws, store)
    run = Experiment(ws, "kill-upload").submit(pipeline)
    wait_until(lambda: _publishing(own, run.id), timeout=120, interval=0.05, message="upload")
    own.kill("worker", signal.SIGKILL)
    first = _check_outcome(own, backend, f"bucket-{tag}", run.id)
    # The same pipeline again, on a new worker: reused only if the first attempt completed.
    own.start_worker("worker2")
    again = Experiment(ws, "kill-upload").submit(pipeline)
    second = _check_outcome(own, backend, f"bucket-{tag}", again.id)
    assert second["status"] == "Completed"
    assert second["reuse"]["reused"] == (first["status"] == "Completed"), (first, second)
    assert not _alive(first["pid"])
    assert_invariants(own)


def test_an_upload_longer_than_the_worker_lost_window_keeps_its_step_alive(tmp_path, moto):
    """The attempt beats while its outputs upload, not only while its script runs."""
    server = Studio(
        tmp_path / "short",
        **isolated_services("publish-beat"),
        STUDIO_HEARTBEAT_SECONDS="0.3",
        STUDIO_WORKER_LOST_SECONDS="1",
        STUDIO_REAPER_SECONDS="0.3",
    )
    try:
        server.start()
        backend = Backend("s3", moto)
        ws = server.workspace()
        tag = uuid.uuid4().hex[:10]
        store = backend.register(ws, tag)
        run = Experiment(ws, "slow-upload").submit(_pipeline(ws, store))
        wait_until(
            lambda: _publishing(server, run.id), timeout=120, interval=0.05, message="upload"
        )
        step = _check_outcome(server, backend, f"bucket-{tag}", run.id)
        assert step["status"] == "Completed", step["error"]
        assert_invariants(server)
    finally:
        server.stop()
