"""A broker that is down at submit, and a worker killed holding a message.

A submission commits its run and the messages its first steps are owed together (the outbox);
a broker that refuses them leaves them owed, the submit still answers as usual, and the
scheduler's tick sends them once the broker is back. On Redis, a message a killed worker had
taken but not started comes back to another worker within seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT, Studio, free_port, isolated_services, wait_until
from tests.reliability.invariants import assert_invariants

pytestmark = pytest.mark.integration
STEPS = str(ROOT / "tests" / "sources" / "steps")
FINISHED = ("Completed", "Failed", "Canceled")


class RedisServer:
    """A redis-server of the test's own on a free port, that the test stops and starts."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with open(self.folder / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=10, message="redis-server to answer")

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _studio(data_dir: Path, broker_url: str, **env: str) -> Studio:
    """A Studio on its own database (PostgreSQL when the suite runs on it) and this broker."""
    return Studio(
        data_dir, **{**isolated_services("brokerdown"), "CELERY_BROKER_URL": broker_url, **env}
    )


def _noop(name: str = "noop") -> PythonScriptStep:
    return PythonScriptStep(name=name, script_name="noop.py", source_directory=STEPS)


def _run(studio: Studio, run_id: str) -> dict:
    return studio.api("GET", f"runs/{run_id}/").json()


def _submit_rest(studio: Studio, endpoint: str) -> requests.Response:
    """A submission to a published pipeline's REST endpoint, as any HTTP client sends it."""
    return requests.post(
        endpoint,
        headers={"Authorization": f"Bearer {studio.token}"},
        json={"ExperimentName": "broker-down"},
        timeout=60,
    )


def _wait_finished(studio: Studio, run_ids: list[str], timeout: float = 180) -> list[dict]:
    def finished() -> list[dict] | None:
        runs = [_run(studio, run_id) for run_id in run_ids]
        return runs if all(r["status"] in FINISHED for r in runs) else None

    try:
        return wait_until(finished, timeout=timeout, interval=0.5, message=f"runs {run_ids} to end")
    except AssertionError:
        steps = [
            (s["name"], s["status"], s["attempt"])
            for r in run_ids
            for s in _run(studio, r)["steps"]
        ]
        raise AssertionError(
            f"runs {run_ids} did not end; steps {steps}\n--- worker\n{studio.tail('worker', 60)}"
            f"\n--- scheduler\n{studio.tail('scheduler', 60)}"
        ) from None


def _experiment_runs(studio: Studio) -> list[dict]:
    return studio.api("GET", "runs/", params={"experiment": "broker-down"}).json()["results"]


def test_a_submit_while_redis_is_down_is_taken_once_and_runs_when_it_is_back(
    redis_server, tmp_path
):
    studio = _studio(tmp_path / "studio", redis_server.url).start()
    try:
        ws = studio.workspace()
        published = Pipeline(ws, [_noop("published")]).publish(name="broker-down")
        redis_server.stop()

        run = Experiment(ws, "broker-down").submit(Pipeline(ws, [_noop()]))
        answer = _submit_rest(studio, published.endpoint)
        assert answer.status_code == 200, answer.text
        rest_id = answer.json()["Id"]
        assert sorted(r["id"] for r in _experiment_runs(studio)) == sorted([run.id, rest_id])
        for run_id in (run.id, rest_id):
            assert [s["status"] for s in _run(studio, run_id)["steps"]] == ["Queued"]
        assert "Traceback" not in studio.tail("web", 400)

        redis_server.start()
        runs = _wait_finished(studio, [run.id, rest_id])
        assert [r["status"] for r in runs] == ["Completed", "Completed"]
        assert len(_experiment_runs(studio)) == 2
        assert_invariants(studio)
    finally:
        studio.stop()


def test_a_step_taken_by_a_killed_worker_runs_on_another_within_seconds(redis_server, tmp_path):
    # Messages are rung again only after 10 minutes here: Redis alone brings this one back.
    studio = _studio(tmp_path / "studio", redis_server.url, STUDIO_RERING_SECONDS="600").start()
    try:
        studio.kill("worker")
        first = studio.start_worker("first", concurrency=1)
        pool = wait_until(
            lambda: _children(first.pid), timeout=30, message="the first worker's process"
        )
        os.kill(pool[0], signal.SIGSTOP)  # the worker takes the step's message, never starts it
        ws = studio.workspace()
        run = Experiment(ws, "broker-down").submit(Pipeline(ws, [_noop()]))
        broker = redis.Redis.from_url(redis_server.url)
        wait_until(lambda: broker.hlen("unacked") == 1, timeout=30, message="the message taken")
        assert _run(studio, run.id)["steps"][0]["status"] == "Queued"

        studio.kill("first")
        killed = time.monotonic()
        second = studio.start_worker("second", concurrency=1)
        (data,) = _wait_finished(studio, [run.id], timeout=60)
        took = time.monotonic() - killed
        assert data["status"] == "Completed"
        assert took < 30, f"the step ran {took:.0f} s after its worker was killed"
        assert data["steps"][0]["worker"].endswith(f":{_children(second.pid)[0]}")
        assert data["steps"][0]["attempt"] == 1  # it ran once
        assert_invariants(studio)
    finally:
        studio.stop()


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def test_the_embedded_broker_with_its_folder_unusable_or_removed_takes_the_submit(tmp_path):
    studio = _studio(tmp_path / "studio", "filesystem://").start()
    try:
        ws = studio.workspace()
        published = Pipeline(ws, [_noop("published")]).publish(name="broker-down")
        queue = studio.data_dir / "broker" / "queue"
        away = queue.with_name("queue.away")
        queue.rename(away)
        queue.write_text("a file where the queue folder was\n")

        run = Experiment(ws, "broker-down").submit(Pipeline(ws, [_noop()]))
        answer = _submit_rest(studio, published.endpoint)
        assert answer.status_code == 200, answer.text
        rest_id = answer.json()["Id"]
        time.sleep(2)  # the scheduler's tick tries again, and is refused again
        for run_id in (run.id, rest_id):
            assert [s["status"] for s in _run(studio, run_id)["steps"]] == ["Queued"]
        assert "Traceback" not in studio.tail("web", 400)

        queue.unlink()
        away.rename(queue)
        runs = _wait_finished(studio, [run.id, rest_id])
        assert [r["status"] for r in runs] == ["Completed", "Completed"]

        # Removed at once (the worker, polling, would make it again under a slow rmtree).
        broker = studio.data_dir / "broker"
        broker.rename(broker.with_name("broker.removed"))
        shutil.rmtree(broker.with_name("broker.removed"))
        after = Experiment(ws, "broker-down").submit(Pipeline(ws, [_noop()]))
        (data,) = _wait_finished(studio, [after.id])
        assert data["status"] == "Completed"
        assert len(_experiment_runs(studio)) == 3
        assert studio.procs["worker"].poll() is None  # the worker lived through it
        assert_invariants(studio)
    finally:
        studio.stop()


def test_a_broker_restarted_mid_run_loses_no_step(redis_server, tmp_path):
    """Redis restarts (without persistence: every message in it is gone) while the first step
    of a chain runs; the next step is still rung and the run completes."""
    studio = _studio(tmp_path / "studio", redis_server.url).start()
    try:
        ws = studio.workspace()
        slow = PythonScriptStep(
            name="slow",
            script_name="sleep.py",
            source_directory=STEPS,
            arguments=["--seconds", "4"],
        )
        after = _noop("after")
        after.run_after(slow)
        run = Experiment(ws, "broker-down").submit(Pipeline(ws, [slow, after]))
        wait_until(
            lambda: _run(studio, run.id)["steps"][0]["status"] == "Running",
            timeout=60,
            message="the first step to run",
        )
        redis_server.stop()
        time.sleep(1)
        redis_server.start()
        [done] = _wait_finished(studio, [run.id], timeout=120)
        assert done["status"] == "Completed", done
        assert [s["status"] for s in done["steps"]] == ["Completed", "Completed"]
        assert_invariants(studio)
    finally:
        studio.stop()
