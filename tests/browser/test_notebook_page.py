"""A notebook step's executed notebook on its run page: a Notebook tab with the notebook in a
sandboxed frame, readable at 1280x800 and 390x844, whose hostile output runs nothing."""

from __future__ import annotations

import json

import pytest

from studio.sdk.contrib.notebook import (
    AzureMLNotebookHandler,
    NotebookRunConfig,
    NotebookRunnerStep,
)
from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline

pytestmark = pytest.mark.browser
SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _cell(kind: str, source: str, **extra) -> dict:
    cell = {
        "id": f"c{abs(hash(source)) % 10**8}",
        "cell_type": kind,
        "metadata": extra,
        "source": source,
    }
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


@pytest.fixture(scope="module")
def notebook_run(studio, tmp_path_factory):
    ws = studio.workspace()
    root = tmp_path_factory.mktemp("notebook-page")
    cells = [
        _cell("markdown", "# Churn exploration\nThe rate comes from the pipeline."),
        _cell("code", "rate = 0.1", tags=["parameters"]),
        _cell("code", "print(f'rate is {rate}')"),
        _cell(
            "code",
            "from IPython.display import HTML, display\n"
            "display(HTML('<table><tr><th>month</th><th>churn</th></tr>"
            "<tr><td>May</td><td>4.2%</td></tr></table>'"
            '\'<script>alert("script ran")</script><img src="x" onerror="alert(1)">\'))',
        ),
    ]
    (root / "explore.ipynb").write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    config = NotebookRunConfig(
        source_directory=str(root),
        notebook="explore.ipynb",
        parameters={"rate": 0.25},
        handler=AzureMLNotebookHandler(progress_bar=False),
    )
    step = NotebookRunnerStep(name="explore", notebook_run_config=config, compute_target="local")
    run = Experiment(ws, "notebook-page").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    return run


@pytest.fixture(params=list(SIZES))
def size(request, page):
    page.set_viewport_size(SIZES[request.param])
    return request.param


def test_the_run_page_shows_the_executed_notebook_in_a_sandboxed_frame(
    page, studio, notebook_run, size, shot
):
    from playwright.sync_api import expect

    step = notebook_run.find_step_run("explore")[0]
    page.goto(f"{studio.url}/runs/{notebook_run.id}/?step={step.id}")
    page.get_by_role("tab", name="Notebook").click()
    frame_element = page.locator("iframe.notebook-frame")
    expect(frame_element).to_be_visible()
    assert frame_element.get_attribute("sandbox") == ""
    frame = page.frame_locator("iframe.notebook-frame")
    expect(frame.get_by_role("heading", name="Churn exploration")).to_be_visible()
    expect(frame.get_by_text("rate is 0.25")).to_be_visible()
    expect(frame.get_by_role("cell", name="4.2%")).to_be_visible()
    assert frame.locator("script").count() == 0
    assert frame.locator("[onerror]").count() == 0
    expect(page.get_by_role("link", name="Download the executed notebook")).to_be_visible()
    # No alert opened (the page fixture fails the test on any dialog), at either size.
    frame_element.scroll_into_view_if_needed()
    shot(page, size)
