"""The Models page: a model two training runs registered, its versions with the step that
produced each, the scoring run that read one, its files, a download, and two versions compared."""

from __future__ import annotations

import re
import uuid

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.browser

TRAIN = """
import argparse, os, pickle
from studio.sdk.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--name")
parser.add_argument("--weight", type=float)
args = parser.parse_args()
run = Run.get_context()
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.pkl", "wb") as fh:
    pickle.dump({"weight": args.weight}, fh)
run.log("accuracy", args.weight / 10)
run.register_model(args.name, model_path="outputs/model.pkl", tags={"stage": "candidate"},
                   properties={"weight": str(args.weight)})
"""

SCORE = """
import argparse, pickle
from studio.sdk.core import Model
parser = argparse.ArgumentParser()
parser.add_argument("--name")
args = parser.parse_args()
with open(Model.get_model_path(args.name, version=1), "rb") as fh:
    print("weight", pickle.load(fh)["weight"])
"""


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture(scope="module")
def registered(studio, tmp_path_factory):
    """A model with two versions from two training runs; version 1 read by a scoring run."""
    ws = studio.workspace()
    root = tmp_path_factory.mktemp("models")
    for name, text in {"train": TRAIN, "score": SCORE}.items():
        (root / name).mkdir()
        (root / name / f"{name}.py").write_text(text)
    name = f"churn-model-{uuid.uuid4().hex[:6]}"
    experiment = Experiment(ws, "browser-models")
    for weight in ("7", "9"):
        step = PythonScriptStep(
            name="train",
            script_name="train.py",
            source_directory=str(root / "train"),
            arguments=["--name", name, "--weight", weight],
            allow_reuse=False,
        )
        run = experiment.submit(Pipeline(ws, [step]))
        run.wait_for_completion(show_output=False)
        assert run.get_status() == "Finished"
    score = PythonScriptStep(
        name="score with version 1",
        script_name="score.py",
        source_directory=str(root / "score"),
        arguments=["--name", name],
    )
    run = Experiment(ws, "browser-scoring").submit(Pipeline(ws, [score]))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished"
    return name


def test_the_models_page_lists_versions_producers_readers_and_files(page, studio, registered, shot):
    expect = _expect()
    name = registered
    page.goto(f"{studio.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Models")
    row = page.locator("table.grid tbody tr", has=page.get_by_role("link", name=name))
    expect(row.locator("td")).to_have_text(
        [name, "2", "2", re.compile(r"^(just now|\d+ min ago)$"), "stage: candidate"]
    )
    shot(page, "list")

    row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name} version 2")
    versions = page.locator("#model-versions tbody tr")
    expect(versions.locator("td:first-child")).to_have_text(["2", "1"])
    expect(page.locator("#model-facts")).to_contain_text("browser-models · Run")
    expect(page.locator("#model-files tbody td")).to_have_text(["model.pkl", re.compile("bytes")])
    expect(page.locator("#model-reads")).to_contain_text("No step has loaded this version yet.")

    versions.first.page.get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name} version 1")
    reads = page.locator("#model-reads tbody tr")
    expect(reads).to_have_count(1)
    expect(reads.locator("td").nth(1)).to_have_text("score with version 1")
    expect(reads.locator("td").nth(2)).to_have_text("1")
    shot(page, "version-1")  # tests/screenshots/model.png

    with page.expect_download() as download:
        page.locator("#model-files").get_by_role("link", name="model.pkl").click()
    assert download.value.suggested_filename == "model.pkl"

    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare versions")
    table = page.locator("#model-compare")
    expect(table.locator("thead th")).to_have_text(
        ["What", re.compile(r"^Version 1"), re.compile(r"^Version 2")]
    )
    accuracy = table.locator("tbody tr", has=page.locator("code", has_text="accuracy"))
    expect(accuracy).to_have_class("differs")
    expect(accuracy.locator("td")).to_have_text([re.compile("^accuracy"), "0.7", "0.9"])
    shot(page, "compare")  # tests/screenshots/model-compare.png
    page.get_by_role("link", name="Compare the producing runs step by step").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare runs")


def test_the_models_pages_fit_a_phone(browser, auth_state, studio, registered, shot):
    context = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=auth_state)
    try:
        page = context.new_page()
        for path in ("/models/", f"/models/{registered}/"):
            page.goto(f"{studio.url}{path}")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
            shot(page, "phone-" + ("list" if path == "/models/" else "detail"))
    finally:
        context.close()
