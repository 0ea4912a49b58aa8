"""Lists follow runs without a reload: a run that finishes shows as Completed in the runs list
and leaves Home's "In progress", and then the pages stop asking."""

from __future__ import annotations

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
STEPS = str(ROOT / "tests" / "sources" / "steps")
VIEWPORTS = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _watch(page, marker: str) -> list[int]:
    """The statuses of the page's refreshes (requests whose address has ``marker``)."""
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if marker in r.url else None)
    return statuses


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_run_that_finishes_shows_in_the_lists_without_a_reload(page, studio, shot, viewport):
    from playwright.sync_api import expect

    ws = studio.workspace()
    experiment = f"live-{viewport}"
    step = PythonScriptStep(
        name="sleepy",
        script_name="sleep.py",
        source_directory=STEPS,
        arguments=["--seconds", "6"],
        allow_reuse=False,
    )
    run = Experiment(ws, experiment).submit(Pipeline(ws, [step], description="slow one"))

    page.set_viewport_size(VIEWPORTS[viewport])
    rows_refreshes = _watch(page, "partial=rows")
    page.goto(f"{studio.url}/experiments/{experiment}/?col=status&col=duration")
    home = page.context.new_page()
    home.set_viewport_size(VIEWPORTS[viewport])
    home_refreshes = _watch(home, "partial=running")
    home.goto(f"{studio.url}/")
    expect(home.locator("#in-progress")).to_contain_text(f"{experiment} · Run")
    row = page.locator("#runs-rows tbody tr").first
    expect(row).not_to_contain_text("Completed")
    row.locator("input[name=runs]").check()  # ticked for Compare: a refresh keeps it ticked
    shot(page, "running")
    clock = page.locator("#runs-rows .ticking")
    expect(clock).to_be_visible(timeout=20_000)
    before = clock.inner_text()
    expect(clock).not_to_have_text(before, timeout=3000)  # counts up between refreshes

    expect(row).to_contain_text("Completed", timeout=60_000)
    expect(home.locator("#in-progress")).to_contain_text("Nothing is running.", timeout=10_000)
    shot(page, "finished")
    expect(row.locator("input[name=runs]")).to_be_checked()
    # In place: one page load each, and unchanged refreshes were answered 304.
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert 304 in rows_refreshes and rows_refreshes[-1] == 286
    assert home_refreshes[-1] == 286

    # Nothing goes on: the pages ask no more.
    asked, asked_home = len(rows_refreshes), len(home_refreshes)
    page.wait_for_timeout(4500)  # more than two of the 2 s polls
    assert len(rows_refreshes) == asked and len(home_refreshes) == asked_home
    assert page.locator("#runs-rows").get_attribute("hx-trigger") is None
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    run.wait_for_completion(show_output=False)
