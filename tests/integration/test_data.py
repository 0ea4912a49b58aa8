"""Datasets and reuse end to end: real server, worker and subprocesses, driven by the SDK."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from studio.sdk.core import Dataset, Experiment
from studio.sdk.core.compute import AmlCompute, ComputeTarget, ComputeTargetException
from tests.harness import ROOT

pytestmark = pytest.mark.integration


def _ensure_cluster(ws, name="aml-cluster"):
    try:
        ComputeTarget(workspace=ws, name=name)
    except ComputeTargetException:
        ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=2)).wait_for_completion()


def _python(folder, script, studio):
    env = {**os.environ, "STUDIO_URL": studio.url, "STUDIO_TOKEN": studio.token}
    done = subprocess.run([sys.executable, script], cwd=folder, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_seed_dataset_flow_runs_and_an_unchanged_resubmit_is_all_reused(studio, ws, pipeline_dir):
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
    assert len(reuse_lines) == 2 and all("'reused': True" in line for line in reuse_lines), reuse_lines

    raw = Dataset.get_by_name(ws, "raw_dataset")
    frame = raw.to_pandas_dataframe()
    assert list(frame.columns) == ["col1", "col2", "col3", "col4"] and len(frame) == 100
    runs = list(Experiment(ws, "training-pipeline").get_runs())
    steps = runs[0].get_steps()
    assert {s.get_details()["properties"].get("azureml.reusedpipeline") for s in steps} <= {r.id for r in runs}
