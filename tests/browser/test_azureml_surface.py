"""What a run started the Azure way shows: the parameters its REST submission ignored, the
metrics its steps logged on the pipeline run, and the dataset a dataset parameter named."""

from __future__ import annotations

import uuid

import pytest
import requests

from studio.sdk.core import Dataset, Experiment
from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.pipeline.core import Pipeline, PipelineParameter, PipelineRun
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser

STEPS = str(ROOT / "tests" / "sources" / "steps")


@pytest.fixture(scope="module")
def dataset_run(studio, tmp_path_factory):
    """A published pipeline reading a dataset parameter, run through REST with an ignored name."""
    ws = studio.workspace()
    folder = tmp_path_factory.mktemp("data")
    (folder / "rows.csv").write_text("a,b\n1,2\n3,4\n")
    tag = uuid.uuid4().hex[:6]
    store = ws.get_default_datastore()
    store.upload(str(folder), target_path=f"browser-{tag}", overwrite=True, show_progress=False)
    rows = Dataset.File.from_files(path=(store, f"browser-{tag}/rows.csv")).register(
        ws, f"rows-{tag}"
    )
    parameter = PipelineParameter("data_param", default_value=rows)
    data = DatasetConsumptionConfig("data", parameter).as_mount()
    step = PythonScriptStep(
        name="log on parent",
        script_name="log_parent.py",
        source_directory=STEPS,
        arguments=["--data", data],
        inputs=[data],
    )
    published = Pipeline(ws, [step]).publish(name=f"browser-azure-{tag}")
    answer = requests.post(
        published.endpoint,
        headers=ws.auth.get_authentication_header(),
        json={"ExperimentName": f"browser-azure-{tag}", "ParameterAssignments": {"1": "united"}},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    run = PipelineRun(Experiment(ws, f"browser-azure-{tag}"), answer.json()["Id"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    return run, rows, published


def test_a_run_shows_its_ignored_parameters_its_own_metrics_and_its_dataset(
    page, studio, dataset_run, shot
):
    from playwright.sync_api import expect

    run, rows, _ = dataset_run
    page.goto(f"{studio.url}/runs/{run.id}/")
    warnings = page.locator(".run-warnings")
    expect(warnings).to_contain_text(
        "Pipeline parameter 1 does not exist in this pipeline; its value was ignored."
    )
    metrics = page.get_by_role("table", name="Pipeline run metrics")
    expect(metrics.locator("tbody tr")).to_have_count(2)
    expect(metrics).to_contain_text("loss")
    expect(metrics).to_contain_text("0.25 last of 3")
    expect(metrics).to_contain_text("rows")
    expect(page.locator(".facts .parameters")).to_contain_text(f"data_param={rows.name}:1")
    expect(page.locator("#log-text")).to_contain_text("read 3 lines")
    shot(page, "desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(warnings).to_be_visible()
    shot(page, "phone")


def test_the_submit_form_offers_a_dataset_parameter_as_a_choice(page, studio, dataset_run):
    from playwright.sync_api import expect

    _, rows, published = dataset_run
    page.goto(f"{studio.url}/pipelines/{published.id}/")
    choice = page.get_by_label("data_param (FileDataset)")
    expect(choice).to_have_value(rows.id)
    expect(choice.locator("option").first).to_have_text(f"{rows.name}:1 (default)")
