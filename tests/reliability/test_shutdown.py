"""Stopping a worker as Celery expects (TERM) lets its steps finish within
STUDIO_SHUTDOWN_GRACE_SECONDS, then puts them back in the queue: they run again, as a new
attempt, on a worker; never failed. TERM to the whole process group (what systemd and container
inits send) ends the worker too."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT, Studio, isolated_services, wait_until
from tests.reliability.invariants import assert_invariants

pytestmark = pytest.mark.integration
STEPS = str(ROOT / "tests" / "sources" / "steps")
GRACE = 2


@pytest.fixture
def studio_with_grace(tmp_path):
    server = Studio(
        tmp_path / "studio",
        **isolated_services("shutdown"),
        STUDIO_SHUTDOWN_GRACE_SECONDS=str(GRACE),
    )
    try:
        yield server.start()
    finally:
        server.stop()


def _steps(studio, run_id):
    return studio.api("GET", f"runs/{run_id}/").json()["steps"]


def _running(studio, run_id):
    return next((s for s in _steps(studio, run_id) if s["status"] == "Running" and s["pid"]), None)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # gone (ENOENT), or going between the open and the read (ESRCH)
        return False


def _log(studio, step_id: str) -> str:
    response = studio.api("GET", f"steps/{step_id}/log/")
    return response.text


@pytest.mark.parametrize("whole_group", [True, False], ids=["group", "main-process"])
def test_a_stopped_worker_requeues_its_step_and_another_worker_runs_it(
    studio_with_grace, whole_group
):
    studio = studio_with_grace
    ws = studio.workspace()
    forever = PythonScriptStep(name="forever", script_name="forever.py", source_directory=STEPS)
    run = Experiment(ws, "shutdown").submit(Pipeline(ws, [forever]))
    first = wait_until(lambda: _running(studio, run.id), timeout=60, message="a running step")
    assert first["attempt"] == 1
    worker = studio.procs.pop("worker")
    started = time.monotonic()
    if whole_group:
        os.killpg(worker.pid, signal.SIGTERM)
    else:
        os.kill(worker.pid, signal.SIGTERM)
    worker.wait(timeout=GRACE + 30)
    took = time.monotonic() - started
    assert took < GRACE + 15, f"the worker took {took:.1f} s to stop"
    wait_until(lambda: not _alive(first["pid"]), timeout=10, message="the step's script to end")
    step = _steps(studio, run.id)[0]
    assert step["status"] == "Queued", step  # not failed: back in the queue
    assert studio.api("GET", f"runs/{run.id}/").json()["status"] == "Running"

    studio.start_worker("worker2")
    again = wait_until(lambda: _running(studio, run.id), timeout=60, message="the step again")
    assert again["attempt"] == 2 and again["pid"] != first["pid"]
    assert "[attempt 1 interrupted: the worker shut down; queued again]" in _log(
        studio, again["id"]
    )

    assert studio.api("POST", f"runs/{run.id}/cancel/").status_code == 200
    wait_until(
        lambda: studio.api("GET", f"runs/{run.id}/").json()["status"] == "Canceled",
        timeout=30,
        message="the run to be canceled",
    )
    assert {s["status"] for s in _steps(studio, run.id)} == {"Canceled"}
    wait_until(lambda: not _alive(again["pid"]), timeout=10, message="the second attempt to end")
    assert not _alive(first["pid"])
    leftovers = subprocess.run(
        ["pgrep", "-f", "forever.py"], capture_output=True, text=True
    ).stdout.split()
    assert not [p for p in leftovers if _alive(int(p)) and _in(studio, int(p))]
    assert_invariants(studio)


def _in(studio, pid: int) -> bool:
    """Whether a process belongs to this test's Studio (its data dir in its environment)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return str(studio.data_dir).encode() in fh.read()
    except OSError:
        return False
