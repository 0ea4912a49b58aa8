"""``make run`` keeps its roles alive: a dead role starts again after a backoff while the
others keep serving, and Ctrl-C still ends everything within 10 s."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest
import requests

from studio.sdk.core import Experiment, Workspace
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from studio.supervisor import MAX_BACKOFF, Supervisor
from tests.harness import ROOT, MakeRun, wait_until
from tests.reliability.invariants import assert_database_invariants, processes_under

STEPS = str(ROOT / "tests" / "sources" / "steps")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _start(argv):
    return subprocess.Popen(argv, start_new_session=True)


def test_a_dying_role_restarts_with_a_growing_backoff_and_the_others_keep_running():
    clock, lines = Clock(), []
    supervisor = Supervisor(
        {"flaky": ["sh", "-c", "exit 3"], "steady": ["sleep", "60"]},
        start=_start,
        say=lines.append,
        clock=clock,
    )
    supervisor.start_all()
    flaky, steady = supervisor.roles
    first_steady = steady.process.pid
    try:
        waits = []
        for _ in range(7):
            flaky.process.wait()
            supervisor.tick()
            waits.append(flaky.restart_at - clock.now)
            clock.now = flaky.restart_at
            supervisor.tick()
        assert waits == [1, 2, 4, 8, 16, MAX_BACKOFF, MAX_BACKOFF]
        assert flaky.restarts == 7
        assert steady.process.pid == first_steady and steady.process.poll() is None
        assert "flaky exited with code 3 after 0 s; restarting it in 2 s" in " ".join(lines)
        # A role that ran a healthy while before dying starts again at once.
        flaky.process.wait()
        flaky.started_at = clock.now - 600
        supervisor.tick()
        assert flaky.restarts == 8 and flaky.restart_at is None
    finally:
        supervisor.stop_all(grace=2)
    assert all(r.process.poll() is not None for r in supervisor.roles)


def _worker_pids(studio: MakeRun) -> list[int]:
    return [int(p) for p in re.findall(r"worker started \(pid (\d+)\)", studio.said)]


@pytest.mark.integration
def test_make_run_restarts_a_killed_worker_and_ctrl_c_requeues_a_running_step(tmp_path):
    studio = MakeRun(tmp_path, "supervision").start()
    try:
        wait_until(studio.answers, timeout=60, message="the web server")
        first = wait_until(lambda: _worker_pids(studio), timeout=10, message="the worker")[0]
        os.killpg(first, signal.SIGKILL)
        wait_until(lambda: len(_worker_pids(studio)) == 2, timeout=20, message="a new worker")
        assert "worker exited with code -9" in studio.said
        assert studio.answers()  # the web server never stopped
        new = _worker_pids(studio)[1]
        assert new != first and os.path.exists(f"/proc/{new}")

        # A step running when Ctrl-C comes goes back to the queue, and runs at the next start.
        token = studio.manage("createtoken", "t").split()[-1]
        ws = Workspace(url=studio.url, token=token)
        forever = PythonScriptStep(name="forever", script_name="forever.py", source_directory=STEPS)
        run = Experiment(ws, "ctrl-c").submit(Pipeline(ws, [forever]))
        wait_until(
            lambda: _step_of(ws, run.id)["status"] == "Running",
            timeout=60,
            message="the step to run",
        )
        took = studio.interrupt(timeout=20)
        assert took < 10, f"Ctrl-C took {took:.1f} s"
        said = studio.said
        assert "Studio stopped." in said
        # The banner comes after the roles' own start-up lines; a clean stop logs no error.
        assert said.index("Studio is running at") > said.index("worker started")
        assert "ERROR" not in said and "Traceback" not in said
        wait_until(lambda: not _group_alive(new), timeout=5, message="the worker's group to end")

        studio.start()
        wait_until(studio.answers, timeout=60, message="the web server again")
        step = wait_until(
            lambda: (s := _step_of(ws, run.id))["status"] == "Running" and s,
            timeout=60,
            message="the step to run again",
        )
        assert step["attempt"] == 2
        headers = {"Authorization": f"Bearer {token}"}
        cancel = requests.post(f"{ws.url}/api/runs/{run.id}/cancel/", headers=headers, timeout=10)
        assert cancel.status_code == 200
        wait_until(
            lambda: _step_of(ws, run.id)["status"] == "Canceled", timeout=30, message="cancel"
        )
        assert studio.interrupt(timeout=20) < 10
        assert_database_invariants(studio.manage)
        assert processes_under(tmp_path / "data") == []
    finally:
        studio.kill()


def _step_of(ws, run_id: str) -> dict:
    response = requests.get(
        f"{ws.url}/api/runs/{run_id}/",
        headers={"Authorization": f"Bearer {ws._token}"},
        timeout=10,
    )
    return response.json()["steps"][0]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
