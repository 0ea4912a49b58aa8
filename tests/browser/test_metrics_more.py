"""More of the metrics in the browser: series overlaid on one chart from a step's Metrics tab,
metric descriptions shown, and a metric logged on the pipeline run as a runs list column."""

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
def series_run(studio):
    ws = studio.workspace()
    step = PythonScriptStep(name="fit", script_name="log_series.py", source_directory=STEPS)
    run = Experiment(ws, "series").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    return run


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_ticked_series_are_overlaid_on_one_chart_with_descriptions_shown(
    page, studio, shot, series_run, viewport
):
    from playwright.sync_api import expect

    page.set_viewport_size(VIEWPORTS[viewport])
    step = series_run.find_step_run("fit")[0]
    page.goto(f"{studio.url}/runs/{series_run.id}/?step={step.id}&tab=metrics")
    panel = page.locator("#metrics-panel")
    expect(panel.locator(".metric-chart")).to_have_count(2)
    expect(panel.locator("small.metric-description")).to_have_text(["learning rate"])
    expect(panel.locator("p.metric-description")).to_have_text(
        ["training loss per epoch", "validation loss per epoch"]
    )
    expect(page.locator("table.run-metrics small.metric-description")).to_have_text(
        ["lowest validation loss"]
    )

    form = panel.locator("form.metric-overlay-form")
    form.get_by_label("loss", exact=True).check()
    form.get_by_label("val_loss", exact=True).check()
    form.get_by_role("button", name="Overlay").click()
    overlay = page.locator("#metrics-panel .metric-overlay")
    expect(overlay.locator(".scatterlayer .trace")).to_have_count(2)
    expect(overlay.locator(".legendtext")).to_have_text(["loss", "val_loss"])
    expect(page.locator("#metrics-panel form.metric-overlay-form input:checked")).to_have_count(2)
    overlay.scroll_into_view_if_needed()
    shot(page, "overlay")
    assert _fits_width(page)

    # Dark mode draws the overlay again in the page's colours.
    title = overlay.locator(".gtitle")
    light = title.evaluate("e => getComputedStyle(e).fill")
    page.emulate_media(color_scheme="dark")
    page.evaluate("document.dispatchEvent(new Event('studio:theme'))")
    expect(overlay.locator(".scatterlayer .trace")).to_have_count(2)
    expect(title).not_to_have_css("fill", light)
    shot(page, "overlay-dark")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_metric_of_the_pipeline_run_is_a_runs_list_column(
    page, studio, shot, series_run, viewport
):
    from playwright.sync_api import expect

    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(f"{studio.url}/experiments/series/?col=status")
    page.locator("details.columns summary").click()
    page.get_by_label("Run metric columns").fill("best_val_loss")
    page.get_by_label("Metric columns", exact=True).fill("lr")
    shot(page, "chooser")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.runs thead th.num")).to_have_text(["lr", "best_val_loss (run)"])
    expect(page.locator("table.runs tbody tr").first.locator("td.num")).to_have_text(
        ["0.01", "0.6"]
    )
    shot(page, "run-column")
    assert _fits_width(page)
