"""A run's context on its page: the display name and tags set from the SDK (as azureml's
``run.display_name = ...``, ``run.tag``) or the page's form, shown by the lists too; at
1280x800 and 390x844."""

from __future__ import annotations

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline, PipelineRun
from studio.sdk.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.browser
SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def named_run(studio, tmp_path_factory):
    """A finished run named and tagged from the SDK, and tagged by its step."""
    ws = studio.workspace()
    source = tmp_path_factory.mktemp("tagging-step")
    (source / "tag_parent.py").write_text(
        "from studio.sdk.core import Run\nRun.get_context().parent.tag('checked', 'by step')\n"
    )
    step = PythonScriptStep(
        name="only step", script_name="tag_parent.py", source_directory=str(source)
    )
    run = Experiment(ws, "run-context").submit(Pipeline(ws, [step]), tags={"team": "risk"})
    run.wait_for_completion(show_output=False)
    run.display_name = "baseline model"
    run.tag("stage", "dev")
    run.set_tags({"owner": "ana", "tmp": "x"})
    run.remove_tags(["tmp"])
    return run


@pytest.fixture(params=list(SIZES))
def size(request, page):
    page.set_viewport_size(SIZES[request.param])
    return request.param


def test_the_sdk_sets_the_display_name_and_tags(studio, named_run):
    again = PipelineRun.get(studio.workspace(), named_run.id)
    assert again.display_name == "baseline model"
    assert again.get_tags() == {
        "team": "risk",
        "checked": "by step",
        "stage": "dev",
        "owner": "ana",
    }


def test_the_page_and_the_lists_show_the_display_name_and_tags(page, studio, named_run, size):
    from playwright.sync_api import expect

    page.goto(f"{studio.url}/runs/{named_run.id}/")
    expect(page.locator("h1")).to_contain_text("baseline model")
    expect(page.locator("h1 small").first).to_have_text("Run 1")
    tags = page.locator(".run-context .tag")
    expect(tags).to_have_text(["team: risk", "checked: by step", "stage: dev", "owner: ana"])
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.goto(f"{studio.url}/experiments/run-context/")
    expect(page.locator("main table a", has_text="baseline model")).to_be_visible()


def test_the_run_page_form_renames_and_retags(page, studio, named_run, size):
    from playwright.sync_api import expect

    page.goto(f"{studio.url}/runs/{named_run.id}/")
    page.locator(".run-edit summary").click()
    page.fill("#run-display-name", f"champion {size}")
    page.fill("#run-tags", "stage=prod\nowner=ana")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text(f"champion {size}")
    expect(page.locator(".run-context .tag")).to_have_text(["stage: prod", "owner: ana"])
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert PipelineRun.get(studio.workspace(), named_run.id).display_name == f"champion {size}"


def test_the_code_tab_shows_the_steps_source_highlighted(page, studio, named_run, size, shot):
    from playwright.sync_api import expect

    page.goto(f"{studio.url}/runs/{named_run.id}/")
    page.locator("#step-panel .tabs a", has_text="Code").click()
    page.wait_for_url("**tab=code**")
    view = page.locator(".code-view")
    expect(page.locator("#step-panel h3")).to_contain_text("tag_parent.py")
    expect(view.locator(".kn").first).to_have_text("from")  # a keyword, coloured by class
    light = view.locator(".kn").first.evaluate("e => getComputedStyle(e).color")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, f"{size}-code")
    page.emulate_media(color_scheme="dark")
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    dark = view.locator(".kn").first.evaluate("e => getComputedStyle(e).color")
    background = view.locator(".source").evaluate("e => getComputedStyle(e).backgroundColor")
    assert dark != light and background == "rgb(13, 17, 23)"
