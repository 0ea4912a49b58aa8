"""Metrics, tags, properties and artifacts logged by a real step script."""

from __future__ import annotations

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.integration
SOURCE = str(ROOT / "tests" / "sources" / "metrics")


@pytest.fixture(scope="module")
def metrics_run(studio):
    ws = studio.workspace()
    step = PythonScriptStep(
        name="train", script_name="log_metrics.py", source_directory=SOURCE, allow_reuse=False
    )
    run = Experiment(ws, "metrics").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    return run


def test_metrics_of_every_kind_are_recorded(metrics_run):
    step = metrics_run.find_step_run("train")[0]
    metrics = step.get_metrics()
    assert metrics["loss"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert metrics["accuracy"] == 0.93
    assert metrics["lrs"] == [0.1, 0.01, 0.001]
    assert metrics["roc"] == {"fpr": [0.0, 0.5], "tpr": [0.0, 0.9]}
    assert metrics["confusion"] == {"predicted": ["a", "b"], "count": [10, 3]}
    assert metrics["sample"] == "images/sample.png"
    assert "bad" not in metrics
    log = step.get_job_log()
    assert "refused: run.log does not support list type. Use run.log_list instead" in log
    assert "property refused:" in log and "framework" in log


def test_step_metrics_show_on_the_pipeline_run(metrics_run):
    step = metrics_run.find_step_run("train")[0]
    recursive = metrics_run.get_metrics(recursive=True)
    assert recursive[step.id]["accuracy"] == 0.93


def test_tags_properties_and_artifacts_are_kept(metrics_run, tmp_path):
    from studio.sdk.core import Run

    step = metrics_run.find_step_run("train")[0]
    details = step.get_details()
    assert details["properties"]["framework"] == "none"
    run = Run(metrics_run.experiment, step.id)
    assert run.get_tags() == {"stage": "train", "owner": "ds-team"}
    names = run.get_file_names()
    for expected in (
        "user_logs/std_log.txt",
        "outputs/model.txt",
        "logs/extra.log",
        "images/sample.png",
        "uploaded/notes.txt",
    ):
        assert expected in names
    run.download_file("outputs/model.txt", str(tmp_path / "model.txt"))
    assert (tmp_path / "model.txt").read_text() == "weights\n"


def test_the_pages_show_metrics_search_logs_and_compare_runs(studio, metrics_run):
    import requests

    from tests.harness import PASSWORD

    session = requests.Session()
    login = session.get(f"{studio.url}/login/", timeout=30)
    token = login.cookies["csrftoken"]
    session.post(
        f"{studio.url}/login/",
        data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{studio.url}/login/"},
        timeout=30,
    )
    step = metrics_run.find_step_run("train")[0]
    page = session.get(
        f"{studio.url}/runs/{metrics_run.id}/?step={step.id}&tab=metrics", timeout=30
    ).text
    assert (
        'aria-label="Chart of loss"' in page
        and "confusion" in page
        and "name=images/sample.png" in page
    )
    found = session.get(f"{studio.url}/runs/{metrics_run.id}/search/?q=epoch 3", timeout=30).text
    assert "line 4" in found and "epoch 3 loss 0.250" in found
    assert (
        "No line"
        in session.get(
            f"{studio.url}/runs/{metrics_run.id}/search/?q=nothing-like-this", timeout=30
        ).text
    )
    ws = studio.workspace()
    from studio.sdk.core import Experiment
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import PythonScriptStep

    again = Experiment(ws, "metrics").submit(
        Pipeline(
            ws,
            [
                PythonScriptStep(
                    name="train",
                    script_name="log_metrics.py",
                    source_directory=SOURCE,
                    allow_reuse=False,
                )
            ],
        )
    )
    again.wait_for_completion(show_output=False)
    compared = session.get(
        f"{studio.url}/compare/?runs={metrics_run.id}&runs={again.id}", timeout=30
    )
    assert compared.status_code == 200
    assert "train: loss" in compared.text and "Output manifests" in compared.text
    assert (
        session.get(f"{studio.url}/compare/?runs={metrics_run.id}", timeout=30).status_code == 400
    )
