"""The Drafts pages: a draft made with the SDK is found in the list, shown with its graph and
parameters, submitted from its typed form (a bad value refused next to its field), published,
and deleted after a confirmation."""

from __future__ import annotations

import re
import uuid

import pytest

from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline, PipelineDraft
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser

STEPS = str(ROOT / "tests" / "sources" / "steps")
RUN_TIMEOUT_MS = 30_000
PHONE = {"width": 390, "height": 844}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def draft(studio):
    """A draft of a one-step pipeline whose float parameter reg_rate (default 0.01) is 0.2."""
    ws = studio.workspace()
    out = OutputFileDatasetConfig("out")
    step = PythonScriptStep(
        name="write",
        script_name="write.py",
        source_directory=STEPS,
        arguments=["--out", out, "--value", PipelineParameter("reg_rate", 0.01)],
    )
    return PipelineDraft.create(
        ws,
        Pipeline(ws, [step]),
        name=f"browser-draft-{uuid.uuid4().hex[:6]}",
        description="tuning reg_rate",
        experiment_name=f"browser-drafts-{uuid.uuid4().hex[:6]}",
        pipeline_parameters={"reg_rate": 0.2},
        tags={"team": "ml"},
    )


def test_a_draft_is_submitted_with_a_typed_value_published_and_deleted(page, studio, draft, shot):
    expect = _expect()
    page.goto(f"{studio.url}/")
    page.locator("nav.sidenav").get_by_role("link", name="Drafts").click()
    page.wait_for_url(f"{studio.url}/drafts/")
    expect(page.locator('.sidenav a[aria-current="page"]')).to_have_text("Drafts")
    row = page.locator("table.grid tbody tr", has=page.get_by_role("link", name=draft.name))
    expect(row.locator("td")).to_have_text(
        [draft.name, draft._experiment_name, re.compile(r".+"), "—", "0"]
    )
    shot(page, "drafts")
    row.get_by_role("link", name=draft.name).click()

    page.wait_for_url(f"{studio.url}/drafts/{draft.id}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(draft.name)
    expect(page.get_by_role("paragraph").filter(has_text="tuning reg_rate")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("team: ml")
    expect(
        page.locator("#pipeline-graph .scatterlayer .trace:last-child g.textpoint text")
    ).to_have_text(["write"])
    expect(page.locator("#draft-parameters tbody tr td")).to_have_text(
        ["reg_rate", "float", "0.01", "0.2"]
    )
    form = page.locator("#submit-form")
    expect(form.locator("#id_experiment_name")).to_have_value(draft._experiment_name)
    expect(form.get_by_label("reg_rate (float)")).to_have_value("0.2")
    shot(page, "draft")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, "draft-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # A value that is no float is refused next to its field; nothing starts.
    form.get_by_label("reg_rate (float)").fill("abc")
    with page.expect_response(lambda r: r.url.endswith("/submit/")) as answer:
        form.get_by_role("button", name="Submit").click()
    assert answer.value.status == 400
    expect(page.locator("#id_param_reg_rate-error")).to_contain_text(
        "Expected type of the pipeline parameter reg_rate is float"
    )
    page.locator("#submit-form").get_by_label("reg_rate (float)").fill("0.5")
    page.locator("#submit-form").get_by_role("button", name="Submit").click()

    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    run_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator(".messages")).to_contain_text(
        f"Submitted run 1 of {draft._experiment_name}."
    )
    expect(page.locator("#run-status .run-summary .status")).to_have_text(
        "Completed", timeout=RUN_TIMEOUT_MS
    )
    expect(page.locator("#log-text")).to_contain_text("wrote 0.5", timeout=10_000)
    page.locator(".facts").get_by_role("link", name=draft.name).click()

    # The draft lists its run; its own value stays 0.2.
    page.wait_for_url(f"{studio.url}/drafts/{draft.id}/")
    runs = page.locator("#draft-runs tbody tr")
    expect(runs).to_have_count(1)
    expect(runs.first).to_contain_text("reg_rate=0.5")
    expect(runs.first.get_by_role("link")).to_have_attribute("href", f"/runs/{run_id}/")
    expect(page.locator("#draft-parameters tbody tr td").nth(3)).to_have_text("0.2")

    # Publish: the draft's value becomes the published pipeline's default.
    publish = page.locator("#publish-form")
    expect(publish.get_by_label("Name")).to_have_value(draft.name)
    publish.get_by_label("Name").fill(f"{draft.name}-published")
    publish.get_by_label("Version").fill("1")
    publish.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(rf"/pipelines/{UUID}/$"))
    expect(page.locator(".messages")).to_contain_text(f"Published {draft.name}-published 1.")
    params = page.locator("section.card", has=page.get_by_role("heading", name="Parameters"))
    expect(params.locator("table.grid").first.locator("tbody tr td")).to_have_text(
        ["reg_rate", "float", "0.2"]
    )

    # Delete, after opening the confirmation.
    page.goto(f"{studio.url}/drafts/{draft.id}/")
    delete = page.get_by_role("button", name=f"Delete draft {draft.name}")
    expect(delete).to_be_hidden()
    page.get_by_text("Delete this draft…").click()
    shot(page, "delete")
    delete.click()
    page.wait_for_url(f"{studio.url}/drafts/")
    expect(page.locator(".messages")).to_contain_text(f"Deleted draft {draft.name}.")
    expect(page.get_by_role("link", name=draft.name)).to_have_count(0)
    assert studio.api("GET", f"pipelinedrafts/{draft.id}/").status_code == 404
    assert studio.api("GET", f"runs/{run_id}/").json()["status"] == "Completed"
