"""Browser flows: schedules in their form, the runs list, a step's metrics chart, comparing runs."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline, PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
STEPS = str(ROOT / "tests" / "sources" / "steps")
METRICS = str(ROOT / "tests" / "sources" / "metrics")


@pytest.fixture(scope="module")
def published(studio):
    ws = studio.workspace()
    step = PythonScriptStep(
        name="write",
        script_name="write.py",
        source_directory=STEPS,
        arguments=["--out", "out", "--value", PipelineParameter("rate", 0.5)],
    )
    return Pipeline(ws, [step]).publish(name=f"scheduled-{uuid.uuid4().hex[:6]}", version="1")


@pytest.fixture(scope="module")
def metric_runs(studio):
    ws = studio.workspace()
    experiment = Experiment(ws, f"flows-{uuid.uuid4().hex[:6]}")
    runs = []
    for _ in range(2):
        step = PythonScriptStep(
            name="train", script_name="log_metrics.py", source_directory=METRICS, allow_reuse=False
        )
        run = experiment.submit(Pipeline(ws, [step]))
        assert run.wait_for_completion(show_output=False) == "Finished"
        runs.append(run)
    return experiment.name, runs


def test_create_a_schedule_in_the_form_see_the_preview_edit_it_and_disable_it(
    page, studio, published, shot
):
    page.goto(f"{studio.url}/schedules/new/")
    page.fill("#id_name", "nightly training")
    page.select_option("#id_target", f"pipeline:{published.id}")
    expect(page).to_have_url(
        re.compile(f"target=pipeline%3A{published.id}")
    )  # the form reloads for its parameters
    expect(page.locator("#id_param_rate")).to_be_visible()
    expect(page.locator("#id_name")).to_have_value("nightly training")
    page.fill("#id_experiment_name", "nightly")
    page.select_option("#id_frequency", "Day")
    page.fill("#id_hours", "2")
    page.fill("#id_minutes", "30")
    page.fill("#id_time_zone", "Europe/Berlin")
    preview = page.locator("#preview")
    expect(preview.locator("tbody tr")).to_have_count(10)
    expect(preview).to_contain_text("02:30")
    shot(page, "preview")
    page.fill("#id_interval", "0")
    expect(preview).to_contain_text("Interval must be an integer greater than 0.")
    page.fill("#id_interval", "2")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/schedules/[0-9a-f-]{36}/$"))
    expect(page.locator("h1")).to_contain_text("nightly training")
    expect(page.locator(".facts")).to_contain_text("every 2 days")

    page.get_by_role("link", name="Edit").click()
    page.fill("#id_interval", "3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".facts")).to_contain_text("every 3 days")

    page.goto(f"{studio.url}/schedules/")
    row = page.locator("tr", has_text="nightly training")
    row.get_by_role("button", name="Disable").click()
    expect(page.locator("tr", has_text="nightly training")).to_contain_text("Disabled")
    expect(
        page.locator("tr", has_text="nightly training").get_by_role("button", name="Enable")
    ).to_be_visible()


def test_a_bad_schedule_is_explained_beside_the_field(page, studio, published):
    page.goto(f"{studio.url}/schedules/new/")
    page.fill("#id_name", "broken")
    page.select_option("#id_target", f"pipeline:{published.id}")
    expect(page).to_have_url(re.compile(f"target=pipeline%3A{published.id}"))
    page.fill("#id_experiment_name", "broken")
    page.select_option("#id_frequency", "Hour")
    page.fill("#id_hours", "3")
    page.fill("#id_param_rate", "fast")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page.locator("body")).to_contain_text(
        "Expected type of the pipeline parameter rate is float"
    )
    expect(page.locator("body")).not_to_contain_text("Traceback")


def test_browse_runs_and_filter_them(page, studio, metric_runs, shot):
    name, _runs = metric_runs
    page.goto(f"{studio.url}/runs/")
    page.fill("input[name=experiment]", name)
    page.select_option("select[name=status]", "Completed")
    page.locator("details.columns summary").click()
    page.fill("input[name=metrics]", "accuracy")
    page.get_by_role("button", name="Apply").click()
    table = page.locator("table.runs tbody tr")
    expect(table).to_have_count(2)
    expect(page.locator("table.runs thead")).to_contain_text("accuracy")
    expect(table.first).to_contain_text("0.93")
    shot(page, "filtered")
    page.select_option("select[name=status]", "Failed")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.runs tbody")).to_contain_text("No runs match.")


def test_open_a_steps_metrics_chart(page, studio, metric_runs):
    _, runs = metric_runs
    step = runs[0].find_step_run("train")[0]
    page.goto(f"{studio.url}/runs/{runs[0].id}/?step={step.id}")
    page.get_by_role("tab", name="Metrics").click()
    chart = page.locator('[aria-label="Chart of loss"]')
    expect(chart.locator("svg").first).to_be_visible()
    expect(page.locator(".step-panel")).to_contain_text("confusion")
    expect(page.locator(".metric-image img")).to_be_visible()


def test_compare_two_runs(page, studio, metric_runs):
    name, runs = metric_runs
    page.goto(f"{studio.url}/experiments/{name}/")
    for run in runs:
        page.locator(f'input[name=runs][value="{run.id}"]').check()
    page.get_by_role("button", name="Compare selected runs").click()
    expect(page).to_have_url(re.compile(r"/compare/\?runs="))
    expect(page.locator("table.compare")).to_contain_text("Output manifests")
    # Both runs are columns; their metrics may well be equal, so no highlighted difference is required.
    expect(page.locator("table.compare thead a")).to_have_count(2)
    expect(page.locator('[aria-label="train: loss, one line per run"] svg').first).to_be_visible()
