"""The run page's step panel follows the run, from step to step, until the user picks one."""

from __future__ import annotations

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT, wait_until

pytestmark = pytest.mark.browser
STEPS = str(ROOT / "tests" / "sources" / "steps")


def _chain(ws):
    first = PythonScriptStep(
        name="first",
        script_name="sleep.py",
        source_directory=STEPS,
        arguments=["--seconds", "4.5"],
        allow_reuse=False,
    )
    second = PythonScriptStep(
        name="second",
        script_name="sleep.py",
        source_directory=STEPS,
        arguments=["--seconds", "8.5"],
        allow_reuse=False,
    )
    second.run_after(first)
    return Experiment(ws, "follow").submit(Pipeline(ws, [first, second], description="follow"))


def _panel_title(page) -> str:
    return page.locator("section.step-panel h2").inner_text().split()[0]


def test_the_panel_follows_the_running_step_until_one_is_picked(page, studio):
    from playwright.sync_api import expect

    ws = studio.workspace()
    run = _chain(ws)
    page.goto(f"{studio.url}/runs/{run.id}/")
    expect(page.locator("section.step-panel h2")).to_contain_text("first", timeout=20_000)
    loads = page.evaluate("performance.getEntriesByType('navigation').length")
    expect(page.locator("section.step-panel h2")).to_contain_text("second", timeout=30_000)
    # Followed in place, not by a new page load; the address still follows the run.
    assert page.evaluate("performance.getEntriesByType('navigation').length") == loads
    assert "step=" not in page.url

    picked = _chain(ws)
    first_id = next(s for s in studio.api("GET", f"runs/{picked.id}/").json()["steps"])["id"]
    page.goto(f"{studio.url}/runs/{picked.id}/?step={first_id}")
    expect(page.locator("section.step-panel h2")).to_contain_text("first")
    wait_until(
        lambda: any(
            s["name"] == "second" and s["status"] == "Running"
            for s in studio.api("GET", f"runs/{picked.id}/").json()["steps"]
        ),
        timeout=60,
        message="the second step to run",
    )
    page.wait_for_timeout(3000)  # longer than the page's 2 s poll
    assert _panel_title(page) == "first"  # picked: it stays
    picked.wait_for_completion(show_output=False)
    run.wait_for_completion(show_output=False)


def test_the_step_table_filters_by_name_and_status(page, studio):
    from playwright.sync_api import expect

    ws = studio.workspace()
    steps = [
        PythonScriptStep(name=n, script_name=s, source_directory=STEPS)
        for n, s in (("prepare", "noop.py"), ("train", "noop.py"), ("broken", "fail.py"))
    ]
    run = Experiment(ws, "filter").submit(Pipeline(ws, steps), continue_on_step_failure=True)
    run.wait_for_completion(show_output=False, raise_on_error=False)
    page.goto(f"{studio.url}/runs/{run.id}/")
    rows = page.locator("table.steps tbody tr")
    expect(rows).to_have_count(3)
    page.fill("#step-filter-name", "TRA")
    expect(page.locator("table.steps tbody tr:visible")).to_have_count(1)
    expect(page.locator("table.steps tbody tr:visible")).to_contain_text("train")
    expect(page.locator("#step-filter-count")).to_have_text("1 of 3 steps")
    page.fill("#step-filter-name", "")
    page.select_option("#step-filter-status", "Failed")
    expect(page.locator("table.steps tbody tr:visible")).to_have_count(1)
    expect(page.locator("table.steps tbody tr:visible")).to_contain_text("broken")


def test_the_step_filter_holds_across_the_live_refreshes_of_a_running_run(page, studio):
    from playwright.sync_api import expect

    run = _chain(studio.workspace())
    page.goto(f"{studio.url}/runs/{run.id}/?step=")
    page.fill("#step-filter-name", "second")
    expect(page.locator("table.steps tbody tr:visible")).to_have_count(1)
    page.wait_for_timeout(4500)  # two refreshes of the table (every 2 s)
    expect(page.locator("table.steps tbody tr:visible")).to_have_count(1)
    # The panel moves on to the second step (the page's main part loads again): still filtered.
    expect(page.locator("section.step-panel h2")).to_contain_text("second", timeout=30_000)
    expect(page.locator("#step-filter-name")).to_have_value("second")
    expect(page.locator("table.steps tbody tr:visible")).to_have_count(1)
    expect(page.locator("table.steps tbody tr:visible")).to_contain_text("second")
    run.wait_for_completion(show_output=False)
