"""One date format: a run of the last day reads relative; an older one shows in the viewer's own
time zone (here Tokyo's, whatever the server's), and hovering either shows the exact UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def two_runs(studio):
    """Two finished runs: one submitted now, one moved back three days."""
    ws = studio.workspace()
    step = PythonScriptStep(
        name="noop",
        script_name="noop.py",
        source_directory=str(ROOT / "tests" / "sources" / "steps"),
    )
    experiment = Experiment(ws, "times")
    runs = [experiment.submit(Pipeline(ws, [step])) for _ in range(2)]
    for run in runs:
        run.wait_for_completion(show_output=False)
    old = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    studio.manage(
        "shell",
        "-c",
        "from datetime import datetime\nfrom runs.models import Run\n"
        f"Run.objects.filter(id='{runs[1].id}').update(created_at=datetime.fromisoformat('{old.isoformat()}'))",
    )
    return runs[0].id, runs[1].id, old


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["wide", "phone"])
def test_times_read_relative_within_a_day_else_local_with_utc_on_hover(
    browser, studio, auth_state, two_runs, viewport
):
    recent_id, old_id, old = two_runs
    context = browser.new_context(
        viewport=viewport, storage_state=auth_state, timezone_id="Asia/Tokyo"
    )
    try:
        page = context.new_page()
        page.goto(f"{studio.url}/experiments/times/")
        page.wait_for_load_state("load")
        recent = page.locator(f"tr:has(a[href='/runs/{recent_id}/']) time")
        assert re.fullmatch(r"just now|\d+ min ago", recent.inner_text())
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", recent.get_attribute("title"))
        older = page.locator(f"tr:has(a[href='/runs/{old_id}/']) time")
        tokyo = old + timedelta(hours=9)
        assert older.inner_text() == f"{tokyo:%Y-%m-%d %H:%M} GMT+9"
        assert older.get_attribute("title") == f"{old:%Y-%m-%d %H:%M:%S} UTC"
        # The run page says when it was submitted in the same form.
        page.goto(f"{studio.url}/runs/{old_id}/")
        page.wait_for_load_state("load")
        assert page.locator(".facts time").first.inner_text() == f"{tokyo:%Y-%m-%d %H:%M} GMT+9"
    finally:
        context.close()
