"""Datasets and reuse end to end: real server, worker and subprocesses, driven by the SDK."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from studio.sdk.core import Dataset, Experiment
from studio.sdk.core.compute import AmlCompute, ComputeTarget, ComputeTargetException

pytestmark = pytest.mark.integration


def _ensure_cluster(ws, name="aml-cluster"):
    try:
        ComputeTarget(workspace=ws, name=name)
    except ComputeTargetException:
        ComputeTarget.create(
            ws, name, AmlCompute.provisioning_configuration(max_nodes=2)
        ).wait_for_completion()


def _python(folder, script, studio):
    env = {**os.environ, "STUDIO_URL": studio.url, "STUDIO_TOKEN": studio.token}
    done = subprocess.run(
        [sys.executable, script], cwd=folder, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_seed_dataset_flow_runs_and_an_unchanged_resubmit_is_all_reused(
    studio, ws, pipeline_dir
):
    _ensure_cluster(ws)
    folder = pipeline_dir("seed_datasets")
    assert "registered raw_dataset version" in _python(folder, "register_data.py", studio)
    first = _python(folder, "pipeline.py", studio)
    assert "PipelineRun Status: Finished" in first
    assert "prepped 100 rows from dataset" in first
    assert "training on 100 rows" in first

    second = _python(folder, "pipeline.py", studio)
    assert "PipelineRun Status: Finished" in second
    assert "prepped 100 rows" not in second  # nothing ran again
    reuse_lines = [line for line in second.splitlines() if line.startswith("step ")]
    assert len(reuse_lines) == 2 and all("'reused': True" in line for line in reuse_lines), (
        reuse_lines
    )

    raw = Dataset.get_by_name(ws, "raw_dataset")
    frame = raw.to_pandas_dataframe()
    assert list(frame.columns) == ["col1", "col2", "col3", "col4"] and len(frame) == 100
    runs = list(Experiment(ws, "training-pipeline").get_runs())
    steps = runs[0].get_steps()
    assert {s.get_details()["properties"].get("azureml.reusedpipeline") for s in steps} <= {
        r.id for r in runs
    }


def test_an_output_registered_on_complete_becomes_a_new_dataset_version(studio, ws, tmp_path):
    import uuid

    from studio.sdk.data import OutputFileDatasetConfig
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import PythonScriptStep

    name = f"scores_{uuid.uuid4().hex[:6]}"
    (tmp_path / "score.py").write_text(
        "import os, sys\nout = sys.argv[1]\nos.makedirs(out, exist_ok=True)\n"
        "open(os.path.join(out, 'scores.csv'), 'w').write('id;score\\n1;0.5\\n2;0.75\\n')\n"
    )
    scores = (
        OutputFileDatasetConfig("scores")
        .read_delimited_files(separator=";")
        .register_on_complete(name)
    )
    step = PythonScriptStep(
        name="score", script_name="score.py", source_directory=str(tmp_path), arguments=[scores]
    )
    run = Experiment(ws, "register-on-complete").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    dataset = Dataset.get_by_name(ws, name)
    assert dataset.version == 1 and type(dataset).__name__ == "TabularDataset"
    frame = dataset.to_pandas_dataframe()
    assert list(frame.columns) == ["id", "score"] and frame["score"].tolist() == [0.5, 0.75]

    again = Experiment(ws, "register-on-complete").submit(
        Pipeline(ws, [step]), regenerate_outputs=True
    )
    again.wait_for_completion(show_output=False)
    assert Dataset.get_by_name(ws, name).version == 2
    assert Dataset.get_by_name(ws, name, version=1).id == dataset.id
    (tmp_path / "score.py").write_text((tmp_path / "score.py").read_text() + "sys.exit(1)\n")
    failing = Experiment(ws, "register-on-complete").submit(Pipeline(ws, [step]))
    assert failing.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert Dataset.get_by_name(ws, name).version == 2  # a failed step registers nothing
