"""A ParallelRunStep on the run page: its Mini-batches tab counts the mini-batches live while the
step runs, keeps an opened error open as it refreshes, shows the failed file's error, and stops
refreshing once the step has ended; on a phone too."""

from __future__ import annotations

import uuid

import pytest

from studio.sdk.core import Environment, Experiment
from studio.sdk.pipeline.core import Pipeline, PipelineData
from studio.sdk.pipeline.steps import ParallelRunConfig, ParallelRunStep
from tests.integration.test_parallel import DIGITS, _images

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}
# corrupt.png (mini-batch 0) raises on every try; each steady file takes a second.
NAMES = ["corrupt.png", *(f"steady{i:02d}.png" for i in range(14))]

SWAPS = """
window.minibatchSwaps = 0;
document.addEventListener("htmx:afterSwap", function (event) {
  if (event.detail.elt && event.detail.elt.id === "minibatch-panel") window.minibatchSwaps++;
});
"""

# On a phone the step panel is under the graph: the screenshot shows it.
SHOW_PANEL = "document.getElementById('step-panel').scrollIntoView()"


def _submit(ws, tmp_path):
    folder = tmp_path / "Code"
    folder.mkdir()
    (folder / "digit_identification.py").write_text(DIGITS)
    env = Environment(name="parallelenv")
    env.python.user_managed_dependencies = True
    config = ParallelRunConfig(
        environment=env,
        entry_script="digit_identification.py",
        source_directory=str(folder),
        output_action="append_row",
        mini_batch_size=1,
        error_threshold=10,
        run_max_try=2,
        compute_target="local",
        process_count_per_node=2,
        node_count=1,
    )
    step = ParallelRunStep(
        name="score-images",
        parallel_run_config=config,
        inputs=[_images(ws, tmp_path, NAMES).as_named_input("images")],
        output=PipelineData(name="inferences", datastore=ws.get_default_datastore()),
        arguments=["--model_name", "m"],
        allow_reuse=False,
    )
    experiment = Experiment(ws, f"minibatches-{uuid.uuid4().hex[:6]}")
    return experiment.submit(Pipeline(ws, [step]))


def _fact(panel, name: str) -> str:
    return panel.locator(".minibatch-facts div", has_text=name).locator("dd").inner_text()


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_the_mini_batches_tab_follows_a_parallel_run_step(page, studio, tmp_path, shot):
    from playwright.sync_api import expect

    run = _submit(studio.workspace(), tmp_path)
    (step,) = studio.api("GET", f"runs/{run.id}/").json()["steps"]
    page.goto(f"{studio.url}/runs/{run.id}/?step={step['id']}")
    page.evaluate(SWAPS)
    page.get_by_role("tab", name="Mini-batches").click()
    panel = page.locator("#minibatch-panel")
    headline = panel.locator(".minibatch-headline")

    # While it runs: the failed mini-batch is there before the steady ones are all done.
    expect(headline).to_contain_text("of 15 mini-batches done, 1 failed", timeout=120_000)
    assert panel.get_attribute("hx-trigger") == "every 2s", "the step ended too soon to watch"
    expect(panel.locator(".minibatch-legend")).to_contain_text("Failed 1")
    expect(panel.locator(".minibatch-bar .part-running")).to_have_count(1)
    failed = panel.locator(".minibatch-failed li")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Mini-batch 0")
    expect(failed).to_contain_text("corrupt.png")
    expect(failed).to_contain_text("2 tries")
    shot(page, "running-wide")
    page.set_viewport_size(PHONE)
    page.evaluate(SHOW_PANEL)
    shot(page, "running-phone")
    assert _overflow(page) <= 0, "the tab is wider than a phone"
    page.set_viewport_size(WIDE)

    # The error opens, and stays open while the tab refreshes.
    failed.locator("summary").click()
    error = failed.locator("pre.run-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Traceback")
    expect(error).to_contain_text("ValueError: cannot decode corrupt.png")
    swaps = page.evaluate("window.minibatchSwaps")
    for _ in range(50):  # a poll (wait_for_function would need eval, which the CSP forbids)
        if page.evaluate("window.minibatchSwaps") > swaps:
            break
        page.wait_for_timeout(200)
    assert page.evaluate("window.minibatchSwaps") > swaps, "the tab did not refresh"
    expect(failed.locator("details")).to_have_attribute("open", "")

    # Once the step has ended: the final counts, and no more refreshing.
    expect(headline).to_contain_text("14 of 15 mini-batches done, 1 failed", timeout=120_000)
    expect(page.locator("#panel-status")).to_contain_text("Completed", timeout=30_000)
    expect(panel.locator(".minibatch-legend")).to_contain_text("Running 0")
    assert _fact(panel, "Retried") == "1 try"
    assert _fact(panel, "Items done") == "14"
    assert _fact(panel, "Items failed") == "1"
    assert float(_fact(panel, "Items per second")) > 0
    items = panel.locator("table.minibatch-workers tbody tr td:nth-child(5)").all_inner_texts()
    assert sum(int(n) for n in items) == 14
    page.wait_for_timeout(2500)  # longer than the tab's poll
    assert page.locator("#minibatch-panel").get_attribute("hx-trigger") is None
    assert error.is_visible()
    shot(page, "ended-wide")
    page.set_viewport_size(PHONE)
    page.evaluate(SHOW_PANEL)
    shot(page, "ended-phone")
    assert _overflow(page) <= 0, "the tab is wider than a phone"
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished"
