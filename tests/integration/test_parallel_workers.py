"""A ParallelRunStep spread over two workers (node_count=2, each with its own processes): they
share the mini-batches; when one is killed mid-step its mini-batches finish on the other and
nothing is counted twice; a cancel ends every process on both."""

from __future__ import annotations

import csv
import io
import subprocess
import uuid

import pytest

from studio.sdk.core import Dataset, Environment, Experiment, Run
from studio.sdk.pipeline.core import Pipeline, PipelineData
from studio.sdk.pipeline.steps import ParallelRunConfig, ParallelRunStep
from tests.harness import PYTHON, Studio, isolated_services, wait_until

pytestmark = pytest.mark.integration

SCORE = """
import os
import time


def init():
    global delay
    delay = float(os.environ.get("SCORE_DELAY", "0"))


def run(mini_batch):
    rows = []
    for path in mini_batch:
        time.sleep(delay)
        rows.append(f"{os.path.basename(path)} {open(path).read().strip()}")
    return rows
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """Two workers of one process each, so that the step's second node is the other worker;
    a worker silent for 3 s is taken for lost."""
    server = Studio(
        tmp_path_factory.mktemp("parallel-workers"),
        **isolated_services("parallel_workers"),
        STUDIO_WORKER_LOST_SECONDS="3",
        STUDIO_HEARTBEAT_SECONDS="0.5",
    )
    try:
        server.start_web()
        server.start_worker("w1", concurrency=1)
        server.start_worker("w2", concurrency=1)
        server._spawn("scheduler", [PYTHON, "manage.py", "scheduler"])
        server.wait_http()
        server.wait_worker()
        yield server
    finally:
        server.stop()


@pytest.fixture
def ws(studio):
    return studio.workspace()


def _step(ws, tmp_path, files: int, delay: float, **overrides) -> ParallelRunStep:
    tag = uuid.uuid4().hex[:6]
    data = tmp_path / f"files-{tag}"
    data.mkdir()
    for i in range(files):
        (data / f"f{i:03d}.txt").write_text(f"value{i}")
    store = ws.get_default_datastore()
    store.upload(str(data), target_path=f"files-{tag}", overwrite=True, show_progress=False)
    dataset = Dataset.File.from_files(path=(store, f"files-{tag}"))
    code = tmp_path / f"code-{tag}"
    code.mkdir()
    (code / "score.py").write_text(SCORE)
    env = Environment(name="parallel-workers")
    env.python.user_managed_dependencies = True
    env.environment_variables = {"SCORE_DELAY": str(delay)}
    settings = {
        "environment": env,
        "entry_script": "score.py",
        "source_directory": str(code),
        "output_action": "append_row",
        "mini_batch_size": "2",
        "error_threshold": 0,
        "compute_target": "local",
        "process_count_per_node": 2,
        "node_count": 2,
        **overrides,
    }
    return ParallelRunStep(
        name="score",
        parallel_run_config=ParallelRunConfig(**settings),
        inputs=[dataset.as_named_input("files")],
        output=PipelineData(name="scores", datastore=store),
    )


def _report(run: Run, tmp_path) -> list[dict]:
    target = tmp_path / f"report-{uuid.uuid4().hex[:6]}.csv"
    run.download_file("logs/sys/job_report/processed_mini-batches.csv", str(target))
    return list(csv.DictReader(io.StringIO(target.read_text())))


def _rows(step_run, tmp_path) -> list[str]:
    target = tmp_path / f"out-{uuid.uuid4().hex[:6]}"
    step_run.get_output_data("scores").download(str(target), overwrite=True, show_progress=False)
    (found,) = list(target.rglob("parallel_run_step.txt"))
    return found.read_text().splitlines()


def _step_api(studio, run_id) -> dict:
    return studio.api("GET", f"runs/{run_id}/").json()["steps"][0]


def test_two_workers_share_the_mini_batches(studio, ws, tmp_path):
    run = Experiment(ws, "parallel-workers").submit(
        Pipeline(ws, [_step(ws, tmp_path, files=40, delay=0.3)])
    )
    run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    step_run = run.find_step_run("score")[0]
    assert run.get_status() == "Finished", step_run.get_details().get("error")
    assert _rows(step_run, tmp_path) == [f"f{i:03d}.txt value{i}" for i in range(40)]
    report = _report(Run(step_run.experiment, step_run.id), tmp_path)
    assert [int(r["index"]) for r in report] == list(range(20))
    assert {r["status"] for r in report} == {"done"}
    workers = {r["worker"] for r in report}
    assert len(workers) == 2, workers  # both workers ran some
    assert {(r["worker"], r["process"]) for r in report} >= {(w, "0") for w in workers}
    files = Run(step_run.experiment, step_run.id).get_file_names()
    assert "logs/user/stderr/0/process000.stderr.txt" in files
    nodes = {f.split("/")[3] for f in files if f.startswith("logs/user/stderr/")}
    assert len(nodes) == 2 and "0" in nodes  # the first worker's, and the one that joined


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def _other_worker(studio, step: dict) -> str:
    """The name of the worker that did not claim the step (the one its second node runs on)."""
    first = _parent(int(step["worker"].rsplit(":", 1)[1]))
    return next(name for name in ("w1", "w2") if studio.procs[name].pid != first)


def test_a_worker_killed_mid_step_leaves_its_mini_batches_to_the_other(studio, ws, tmp_path):
    run = Experiment(ws, "parallel-workers").submit(
        Pipeline(ws, [_step(ws, tmp_path, files=40, delay=0.4)])
    )
    step = wait_until(
        lambda: (s := _step_api(studio, run.id))["status"] == "Running" and s["pid"] and s,
        timeout=120,
        message="the step to run",
    )
    other = _other_worker(studio, step)

    def both_running():
        found = studio.api("GET", f"steps/{step['id']}/minibatches/")
        shares = found.json()["workers"] if found.status_code == 200 else []
        return len([w for w in shares if w["running"]]) == 2 and shares

    wait_until(both_running, timeout=60, message="both workers running mini-batches")
    studio.kill(other)  # its whole process group: the worker, its pool and its step processes
    try:
        run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
        step_run = run.find_step_run("score")[0]
        assert run.get_status() == "Finished", step_run.get_details().get("error")
        rows = _rows(step_run, tmp_path)
        assert rows == [f"f{i:03d}.txt value{i}" for i in range(40)]  # each once, in order
        report = _report(Run(step_run.experiment, step_run.id), tmp_path)
        assert {r["status"] for r in report} == {"done"} and len(report) == 20
        # What the killed worker had claimed was claimed again, by the worker left.
        again = [r for r in report if int(r["tries"]) > 1]
        assert again and {r["worker"] for r in again} == {step["worker"]}, report
    finally:
        studio.start_worker(other, concurrency=1)


def _drivers(studio) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-f", "studio.sdk.pipeline.steps._parallel_driver"],
        capture_output=True,
        text=True,
    ).stdout.split()
    mine = []
    for pid in found:
        try:
            environ = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        if str(studio.data_dir).encode() in environ:
            mine.append(int(pid))
    return mine


def test_cancel_ends_every_process_on_both_workers(studio, ws, tmp_path):
    run = Experiment(ws, "parallel-workers").submit(
        Pipeline(ws, [_step(ws, tmp_path, files=40, delay=2)])
    )
    wait_until(lambda: len(_drivers(studio)) == 4, timeout=120, message="2 x 2 processes")
    step = _step_api(studio, run.id)

    def process_logs():
        files = studio.api("GET", f"steps/{step['id']}/files/").json()
        return [f["name"] for f in files if f["name"].startswith("logs/user/stderr/")]

    # Each process's log is on the run page while the step runs, not only once it ended.
    assert wait_until(lambda: len(process_logs()) == 4, timeout=30, message="the processes' logs")
    run.cancel()
    run.wait_for_completion(show_output=False, timeout_seconds=60, raise_on_error=False)
    assert run.get_status() == "Canceled"
    wait_until(lambda: not _drivers(studio), timeout=20, message="every process to end")
    for name in ("w1", "w2"):
        assert studio.procs[name].poll() is None  # the workers themselves go on
