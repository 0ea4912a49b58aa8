"""Metric columns read well in the browser: short values with the full one on hover, and one
column per step when two steps log the same name."""

from __future__ import annotations

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
STEPS = str(ROOT / "tests" / "sources" / "steps")
VIEWPORTS = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def two_steps_log_accuracy(studio):
    ws = studio.workspace()
    steps = [
        PythonScriptStep(
            name=name,
            script_name="log_value.py",
            source_directory=STEPS,
            arguments=["--name", "accuracy", "--value", value],
        )
        for name, value in (("train", "0.912345678"), ("score", "0.87654321"))
    ]
    run = Experiment(ws, "two-accuracies").submit(Pipeline(ws, steps))
    run.wait_for_completion(show_output=False)
    return run


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_metric_columns_name_their_step_and_show_four_digits(
    page, studio, shot, two_steps_log_accuracy, viewport
):
    from playwright.sync_api import expect

    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(f"{studio.url}/experiments/two-accuracies/?col=status&metrics=accuracy")
    headers = page.locator("table.runs thead th.num")
    expect(headers).to_have_text(["accuracy (score)", "accuracy (train)"])
    cells = page.locator("table.runs tbody tr").first.locator("td.num span")
    expect(cells).to_have_text(["0.8765", "0.9123"])
    assert cells.nth(1).get_attribute("title") == "0.912345678"
    cells.nth(1).hover()
    shot(page, "hover")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
