"""ParallelRunStep through the SDK on a real worker: a FileDataset scored with append_row, a
TabularDataset with summary_only, batches that always fail (the threshold reached and not), a
run() that hangs, and the logs laid out as Azure's."""

from __future__ import annotations

import glob
import os
import re
import time
import uuid

import pytest

from studio.sdk.core import Dataset, Environment, Experiment, Run
from studio.sdk.pipeline.core import Pipeline, PipelineData
from studio.sdk.pipeline.steps import ParallelRunConfig, ParallelRunStep

pytestmark = pytest.mark.integration

# digit_identification.py as Microsoft's file example writes it, reading text "images".
DIGITS = """
import argparse
import os

from azureml_user.parallel_run import EntryScript
from studio.sdk.core import Run


def init():
    global prefix
    parser = argparse.ArgumentParser(description="Argument parser.")
    parser.add_argument("--model_name", dest="model_name", required=True)
    args, _ = parser.parse_known_args()
    prefix = args.model_name
    EntryScript().logger.info("init for run %s", Run.get_context().id)


def run(mini_batch):
    result = []
    for image in mini_batch:
        name = os.path.basename(image)
        if name.startswith("corrupt"):
            raise ValueError("cannot decode " + name)
        if name.startswith("steady"):
            import time
            time.sleep(1)
        if name.startswith("slow") and not os.path.exists(name + ".seen"):
            open(name + ".seen", "w").close()
            import time
            time.sleep(120)
        result.append(f"{name}: {prefix} {open(image).read().strip()}")
    return result
"""

# iris_score.py as Microsoft's tabular example writes it, its results in the output folder.
IRIS = """
import os
import uuid

from azureml_user.parallel_run import EntryScript


def init():
    pass


def run(input_data):
    entry = EntryScript()
    input_data["label"] = (input_data["petal_length"] > 2.5).map({True: "versicolor", False: "setosa"})
    path = os.path.join(entry.output_dir, f"part-{uuid.uuid4().hex}.csv")
    input_data.to_csv(path, header=False, index=False)
    return input_data
"""


@pytest.fixture
def scripts_folder(tmp_path):
    folder = tmp_path / "Code"
    folder.mkdir()
    (folder / "digit_identification.py").write_text(DIGITS)
    (folder / "iris_score.py").write_text(IRIS)
    return folder


@pytest.fixture
def batch_env():
    env = Environment(name="parallelenv")
    env.python.user_managed_dependencies = True  # the worker's own Python, with pandas
    return env


def _images(ws, tmp_path, names):
    tag = uuid.uuid4().hex[:6]
    folder = tmp_path / f"images-{tag}"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(name.split(".")[0].upper())
    store = ws.get_default_datastore()
    store.upload(str(folder), target_path=f"mnist-{tag}", overwrite=True, show_progress=False)
    return Dataset.File.from_files(path=(store, f"mnist-{tag}")).register(ws, f"mnist-{tag}")


def _config(scripts_folder, batch_env, **overrides):
    arguments = {
        "environment": batch_env,
        "entry_script": "digit_identification.py",
        "source_directory": str(scripts_folder),
        "output_action": "append_row",
        "mini_batch_size": "5",
        "error_threshold": 10,
        "compute_target": "local",
        "process_count_per_node": 2,
        "node_count": 1,
    }
    arguments.update(overrides)
    return ParallelRunConfig(**arguments)


def _submit(ws, step):
    experiment = Experiment(ws, f"parallel-{uuid.uuid4().hex[:6]}")
    run = experiment.submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    return run, run.find_step_run(step.name)[0]


def _error(step_run) -> str:
    error = step_run.get_details().get("error")
    return error["error"]["message"] if error else ""


def _files(ws, step_run) -> Run:
    """The step run as Run.get_context() sees it: its files (./outputs, ./logs)."""
    return Run(step_run.experiment, step_run.id)


def _output_text(step_run, name, tmp_path) -> str:
    target = tmp_path / f"download-{uuid.uuid4().hex[:6]}"
    step_run.get_output_data(name).download(str(target), overwrite=True, show_progress=False)
    files = glob.glob(str(target / "**" / "*.txt"), recursive=True)
    assert len(files) == 1, files
    return open(files[0]).read()


def test_a_file_dataset_is_scored_with_append_row(ws, tmp_path, scripts_folder, batch_env):
    names = [f"digit{i:02d}.png" for i in range(23)]
    named_mnist_ds = _images(ws, tmp_path, names).as_named_input("mnist")
    output_dir = PipelineData(name="inferences", datastore=ws.get_default_datastore())
    step = ParallelRunStep(
        name="predict-digits-mnist",
        parallel_run_config=_config(scripts_folder, batch_env),
        inputs=[named_mnist_ds],
        output=output_dir,
        arguments=["--model_name", "mnist"],
        allow_reuse=True,
    )
    run, step_run = _submit(ws, step)
    assert run.get_status() == "Finished", _error(step_run)
    lines = _output_text(step_run, "inferences", tmp_path).splitlines()
    assert lines == [f"{n}: mnist {n.split('.')[0].upper()}" for n in names]
    log = step_run.get_job_log()
    assert "5 mini-batches: 5 done, 0 failed, 0 retried; 23 items" in log
    artifacts = _files(ws, step_run)
    files = artifacts.get_file_names()
    assert "logs/job_progress_overview.txt" in files
    assert "logs/sys/job_report/processed_mini-batches.csv" in files
    user_logs = [f for f in files if f.startswith("logs/user/stderr/0/process")]
    assert len(user_logs) == 2
    artifacts.download_file(user_logs[0], str(tmp_path / "process.txt"))
    assert f"init for run {step_run.id}" in (tmp_path / "process.txt").read_text()

    again, _ = _submit(ws, step)
    assert again.get_steps()[0].get_details()["reuse"]["reused"] is True


def test_a_tabular_dataset_with_summary_only(ws, tmp_path, scripts_folder, batch_env):
    tag = uuid.uuid4().hex[:6]
    table = tmp_path / "iris.csv"
    rows = "".join(f"{4 + i % 3}.1,3.5,{1 + i % 5}.4,0.2\n" for i in range(300))
    table.write_text("sepal_length,sepal_width,petal_length,petal_width\n" + rows)
    store = ws.get_default_datastore()
    store.upload_files([str(table)], target_path=f"iris-{tag}", show_progress=False)
    iris_ds = Dataset.Tabular.from_delimited_files(path=(store, f"iris-{tag}/iris.csv"))
    output_folder = PipelineData(name="scored", datastore=store)
    config = ParallelRunConfig(
        source_directory=str(scripts_folder),
        entry_script="iris_score.py",
        mini_batch_size="2KB",
        error_threshold=5,
        output_action="summary_only",
        environment=batch_env,
        compute_target="local",
        node_count=1,
        process_count_per_node=2,
    )
    step = ParallelRunStep(
        name="example-iris",
        inputs=[iris_ds.as_named_input("iris_data")],
        output=output_folder,
        parallel_run_config=config,
        allow_reuse=False,
    )
    run, step_run = _submit(ws, step)
    assert run.get_status() == "Finished", _error(step_run)
    assert "items" in step_run.get_job_log()
    target = tmp_path / "scored"
    step_run.get_output_data("scored").download(str(target), overwrite=True, show_progress=False)
    parts = glob.glob(str(target / "**" / "part-*.csv"), recursive=True)
    assert len(parts) > 1
    written = [line for p in parts for line in open(p).read().splitlines()]
    assert len(written) == 300
    assert not glob.glob(str(target / "**" / "parallel_run_step.txt"), recursive=True)


def test_failures_within_and_beyond_the_threshold(ws, tmp_path, scripts_folder, batch_env):
    names = ["a.png", "b.png", "corrupt1.png", "c.png"]
    dataset = _images(ws, tmp_path, names)

    def step(threshold):
        config = _config(
            scripts_folder, batch_env, mini_batch_size=1, error_threshold=threshold, run_max_try=2
        )
        return ParallelRunStep(
            name=f"score-{threshold}",
            parallel_run_config=config,
            inputs=[dataset.as_named_input("images")],
            output=PipelineData(name="inferences", datastore=ws.get_default_datastore()),
            arguments=["--model_name", "m"],
        )

    run, step_run = _submit(ws, step(1))
    assert run.get_status() == "Finished", _error(step_run)
    assert "4 mini-batches: 3 done, 1 failed, 1 retried" in step_run.get_job_log()
    assert [
        line.split(":")[0] for line in _output_text(step_run, "inferences", tmp_path).splitlines()
    ] == [
        "a.png",
        "b.png",
        "c.png",
    ]
    run, step_run = _submit(ws, step(0))
    assert run.get_status() == "Failed"
    error = _error(step_run)
    assert "1 failed items is more than error_threshold 0" in error
    assert "ValueError: cannot decode corrupt1.png" in step_run.get_job_log() or any(
        f.startswith("logs/user/error/") for f in _files(ws, step_run).get_file_names()
    )


def test_a_hanging_run_is_killed_and_its_batch_retried(ws, tmp_path, scripts_folder, batch_env):
    dataset = _images(ws, tmp_path, ["a.png", "slow.png", "b.png"])
    config = _config(
        scripts_folder,
        batch_env,
        mini_batch_size=1,
        run_invocation_timeout=3,
        process_count_per_node=1,
    )
    step = ParallelRunStep(
        name="hang",
        parallel_run_config=config,
        inputs=[dataset.as_named_input("images")],
        output=PipelineData(name="inferences", datastore=ws.get_default_datastore()),
        arguments=["--model_name", "m"],
    )
    run, step_run = _submit(ws, step)
    assert run.get_status() == "Finished", _error(step_run)
    assert "3 mini-batches: 3 done, 0 failed, 1 retried" in step_run.get_job_log()
    rows = _output_text(step_run, "inferences", tmp_path).splitlines()
    assert [r.split(":")[0] for r in rows] == ["a.png", "b.png", "slow.png"]
    assert os.path.basename(rows[-1]).startswith("slow.png")


def test_a_canceled_step_resumes_with_its_done_mini_batches(
    ws, tmp_path, scripts_folder, batch_env
):
    names = [f"steady{i}.png" for i in range(8)]
    dataset = _images(ws, tmp_path, names)
    config = _config(scripts_folder, batch_env, mini_batch_size=1, process_count_per_node=1)
    step = ParallelRunStep(
        name="resume",
        parallel_run_config=config,
        inputs=[dataset.as_named_input("images")],
        output=PipelineData(name="inferences", datastore=ws.get_default_datastore()),
        arguments=["--model_name", "m"],
    )
    experiment = Experiment(ws, f"parallel-{uuid.uuid4().hex[:6]}")
    first = experiment.submit(Pipeline(ws, [step]))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        steps = list(first.get_steps())
        done = re.findall(r"progress: (\d+) of 8", steps[0].get_job_log() if steps else "")
        if done and max(int(n) for n in done) >= 3:
            break
        time.sleep(0.5)
    first.cancel()
    first.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert first.get_status() == "Canceled"

    again = experiment.submit(Pipeline(ws, [step]))
    again.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    step_run = again.find_step_run("resume")[0]
    assert again.get_status() == "Finished", _error(step_run)
    log = step_run.get_job_log()
    reused = int(log.split("resumed: ", 1)[1].split(" of 8")[0])
    assert 3 <= reused < 8
    rows = _output_text(step_run, "inferences", tmp_path).splitlines()
    assert [r.split(":")[0] for r in rows] == names  # each once, in order


PER_STATE = """
def init():
    pass


def run(mini_batch, mini_batch_context):
    state = mini_batch_context.partition_key_value["state"]
    return [f"{state} {len(mini_batch)} {mini_batch['amount'].sum()}"]
"""


def test_partition_keys_give_one_mini_batch_per_value(ws, tmp_path, scripts_folder, batch_env):
    tag = uuid.uuid4().hex[:6]
    for state, amounts in [("WA", [1, 2]), ("CA", [5, 6, 7])]:
        folder = tmp_path / f"sales-{tag}" / state
        folder.mkdir(parents=True)
        (folder / "part.csv").write_text("amount\n" + "".join(f"{a}\n" for a in amounts))
    store = ws.get_default_datastore()
    store.upload(str(tmp_path / f"sales-{tag}"), f"sales-{tag}", show_progress=False)
    sales = Dataset.Tabular.from_delimited_files(
        path=(store, f"sales-{tag}/**/*.csv"), partition_format="/{state}/part.csv"
    ).register(ws, f"sales-{tag}")
    (scripts_folder / "per_state.py").write_text(PER_STATE)
    config = _config(
        scripts_folder,
        batch_env,
        entry_script="per_state.py",
        mini_batch_size=None,
        partition_keys=["state"],
    )
    step = ParallelRunStep(
        name="per-state",
        parallel_run_config=config,
        inputs=[sales.as_named_input("sales")],
        output=PipelineData(name="totals", datastore=store),
    )
    run, step_run = _submit(ws, step)
    assert run.get_status() == "Finished", _error(step_run)
    assert _output_text(step_run, "totals", tmp_path).splitlines() == ["CA 3 18", "WA 2 3"]


TRANSIENT = """
import os
import sys


def init():
    pass


def run(mini_batch):
    # A transient fault: the first try of flaky.png in the first run fails (the marker is kept
    # where steps may write across runs: the model cache).
    marker = os.path.join(os.environ["STUDIO_MODEL_CACHE"], sys.argv[sys.argv.index("--tag") + 1])
    rows = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name == "flaky.png" and not os.path.exists(marker):
            open(marker, "w").close()
            raise ConnectionError("the scoring service did not answer")
        rows.append(name)
    return rows
"""


def test_a_failed_step_resumes_with_its_done_mini_batches(ws, tmp_path, scripts_folder, batch_env):
    names = ["a.png", "b.png", "c.png", "flaky.png", "d.png", "e.png"]
    dataset = _images(ws, tmp_path, names)
    (scripts_folder / "transient.py").write_text(TRANSIENT)
    config = _config(
        scripts_folder,
        batch_env,
        entry_script="transient.py",
        mini_batch_size="1",
        error_threshold=0,
        run_max_try=1,
        process_count_per_node=1,
    )
    step = ParallelRunStep(
        name="transient",
        parallel_run_config=config,
        inputs=[dataset.as_named_input("images")],
        output=PipelineData(name="rows", datastore=ws.get_default_datastore()),
        arguments=["--tag", uuid.uuid4().hex],
    )
    experiment = Experiment(ws, f"parallel-{uuid.uuid4().hex[:6]}")
    first = experiment.submit(Pipeline(ws, [step]))
    first.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    assert first.get_status() == "Failed"
    failed = first.find_step_run("transient")[0]
    assert "1 failed items is more than error_threshold 0" in _error(failed) + failed.get_job_log()

    again = experiment.submit(Pipeline(ws, [step]))
    again.wait_for_completion(show_output=False, timeout_seconds=300, raise_on_error=False)
    step_run = again.find_step_run("transient")[0]
    assert again.get_status() == "Finished", _error(step_run)
    reused = int(step_run.get_job_log().split("resumed: ", 1)[1].split(" of 6")[0])
    assert 1 <= reused < 6  # flaky.png ran again, with what had not been done when it failed
    rows = _output_text(step_run, "rows", tmp_path).splitlines()
    assert rows == sorted(names)  # each once, in mini-batch (file name) order
