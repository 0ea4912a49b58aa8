"""``make run`` keeps its roles alive: a dead role starts again after a backoff while the
others keep serving, and Ctrl-C still ends everything within 10 s."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from studio.sdk.core import Experiment, Workspace
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from studio.supervisor import MAX_BACKOFF, Supervisor
from tests.harness import ROOT, Studio, isolated_services, wait_until
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


def _runstudio(env) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runstudio"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()
    return proc, output


def _worker_pids(output: list[str]) -> list[int]:
    return [int(p) for p in re.findall(r"worker started \(pid (\d+)\)", "".join(output))]


def _stop(proc: subprocess.Popen, output: list[str]) -> float:
    """Ctrl-C, and how long runstudio took to end."""
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    return time.monotonic() - started


def _kill_all(proc: subprocess.Popen, output: list[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for pid in _worker_pids(output):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.integration
def test_make_run_restarts_a_killed_worker_and_ctrl_c_requeues_a_running_step(tmp_path):
    port = Studio(tmp_path).port
    env = {
        **os.environ,
        **isolated_services("supervision"),
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
        "PORT": str(port),
        "STUDIO_ADMIN_PASSWORD": "pw-for-test",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    proc, output = _runstudio(env)
    try:
        wait_until(lambda: _answers(port), timeout=60, message="the web server")
        first = wait_until(lambda: _worker_pids(output), timeout=10, message="the worker")[0]
        os.killpg(first, signal.SIGKILL)
        wait_until(lambda: len(_worker_pids(output)) == 2, timeout=20, message="a new worker")
        assert "worker exited with code -9" in "".join(output)
        assert _answers(port)  # the web server never stopped
        new = _worker_pids(output)[1]
        assert new != first and os.path.exists(f"/proc/{new}")

        # A step running when Ctrl-C comes goes back to the queue, and runs at the next start.
        token = subprocess.run(
            [sys.executable, "manage.py", "createtoken", "t"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        ws = Workspace(url=f"http://127.0.0.1:{port}", token=token)
        forever = PythonScriptStep(name="forever", script_name="forever.py", source_directory=STEPS)
        run = Experiment(ws, "ctrl-c").submit(Pipeline(ws, [forever]))
        wait_until(
            lambda: _step_of(ws, run.id)["status"] == "Running",
            timeout=60,
            message="the step to run",
        )
        took = _stop(proc, output)
        assert took < 10, f"Ctrl-C took {took:.1f} s"
        said = "".join(output)
        assert "Studio stopped." in said
        # The banner comes after the roles' own start-up lines; a clean stop logs no error.
        assert said.index("Studio is running at") > said.index("worker started")
        assert "ERROR" not in said and "Traceback" not in said
        wait_until(lambda: not _group_alive(new), timeout=5, message="the worker's group to end")

        proc, output = _runstudio(env)
        wait_until(lambda: _answers(port), timeout=60, message="the web server again")
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
        assert _stop(proc, output) < 10
        assert_database_invariants(_manage(env))
        assert processes_under(tmp_path / "data") == []
    finally:
        _kill_all(proc, output)


def _manage(env):
    """Run a management command against the stopped studio's data dir."""

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout

    return manage


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


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/login/", timeout=2).status_code == 200
    except requests.RequestException:
        return False
