"""The Modules pages: a module's versions with their ports, parameters and users; making a
version the default and deprecating one; the run page naming the version a step ran."""

from __future__ import annotations

import re
import uuid

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline, PipelineData
from studio.sdk.pipeline.core.graph import InputPortDef, OutputPortDef
from studio.sdk.pipeline.core.module import Module
from studio.sdk.pipeline.steps import ModuleStep

pytestmark = pytest.mark.browser

CALC = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()
os.makedirs(os.path.dirname(args.out), exist_ok=True)
open(args.out, "w").write(os.environ["AML_PARAMETER_factor"])
print("{label} wrote", os.environ["AML_PARAMETER_factor"])
"""
PHONE = {"width": 390, "height": 844}


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture(scope="module")
def module_in_use(studio, tmp_path_factory):
    """calc-*: version 1 run by a pipeline, version 2 (the default) in a published pipeline."""
    ws = studio.workspace()
    root = tmp_path_factory.mktemp("modules")
    for label in ("v1", "v2"):
        (root / label).mkdir()
        (root / label / "calc.py").write_text(CALC.replace("{label}", label))
    module = Module.create(ws, name=f"calc-{uuid.uuid4().hex[:6]}", description="Writes a factor")
    out = OutputPortDef(name="result", label="The factor")
    module.publish_python_script(
        "calc.py",
        "first",
        inputs=[InputPortDef("extra", is_optional=True, label="Unused")],
        outputs=[out],
        params={"factor": 10},
        version="1",
        source_directory=str(root / "v1"),
    )
    module.publish_python_script(
        "calc.py",
        "second",
        inputs=[],
        outputs=[out],
        params={"factor": 20},
        version="2",
        is_default=True,
        source_directory=str(root / "v2"),
    )

    def pipeline(version):
        result = PipelineData("result_data", is_directory=False)
        step = ModuleStep(
            module=module,
            version=version,
            outputs_map={"result": result},
            arguments=["--out", result],
        )
        return Pipeline(ws, [step])

    run = Experiment(ws, "browser-modules").submit(pipeline("1"))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    published = pipeline(None).publish(name=f"uses-{module.name}", description="module v2")
    return module, run, published


def test_the_modules_pages(page, studio, module_in_use, shot):
    expect = _expect()
    module, run, published = module_in_use
    page.goto(f"{studio.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Modules").click()
    expect(page.get_by_role("heading", name="Modules", level=1)).to_be_visible()
    row = page.locator("table.grid tbody tr", has=page.get_by_role("link", name=module.name))
    expect(row.locator("td")).to_have_text([module.name, "2", "2", "Active", "Writes a factor"])
    shot(page, "list")
    row.get_by_role("link", name=module.name).click()

    page.wait_for_url(re.compile(rf"/modules/{module.id}/$"))
    expect(page.get_by_role("heading", name=module.name, level=1)).to_be_visible()
    versions = page.get_by_role("table", name="Versions").locator("tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0).locator("td").nth(0)).to_have_text("2 default")
    expect(versions.nth(1).locator("td").nth(4)).to_have_text("0")  # no published pipeline
    expect(versions.nth(1).locator("td").nth(5)).to_have_text("1")  # one run

    one = page.get_by_role("region", name="Version 1")
    ports = one.get_by_role("table", name="Ports of version 1").locator("tbody tr")
    expect(ports.nth(0).locator("td")).to_have_text(
        ["extra", "input (optional)", "Unused", "AnyFile, AnyDirectory", "mount"]
    )
    expect(ports.nth(1).locator("td").nth(0)).to_have_text("result")
    params = one.get_by_role("table", name="Parameters of version 1").locator("tbody tr")
    expect(params.locator("td")).to_have_text(["factor", "10", "int"])
    expect(one.get_by_text("python calc.py")).to_be_visible()
    expect(
        one.get_by_role("link", name=re.compile(r"browser-modules · Run \d+"))
    ).to_have_attribute("href", f"/runs/{run.id}/")
    two = page.get_by_role("region", name="Version 2")
    expect(two.get_by_role("link", name=published.name)).to_be_visible()
    shot(page, "detail")  # tests/screenshots/module.png

    # Make version 1 the default; deprecate it.
    versions.nth(1).get_by_role("button", name="Make default").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Version 1 is now the default of {module.name}."
    )
    expect(versions.nth(1).locator("td").nth(0)).to_have_text("1 default")
    assert Module.get(studio.workspace(), module_id=module.id).default_version == "1"
    page.get_by_role("button", name="Deprecate version 1").click()
    expect(page.get_by_role("region", name="Version 1").locator(".title-row .status")).to_have_text(
        "Deprecated"
    )

    # On a phone the page fits the screen.
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, "phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # The run's page says which version its step ran, with a link back here.
    page.get_by_role("region", name="Version 1").get_by_role(
        "link", name=re.compile("browser-modules")
    ).click()
    page.get_by_role("link", name=module.name, exact=True).first.click()
    note = page.locator("#step-panel .step-module")
    expect(note).to_have_text(f"Module {module.name} version 1")
    shot(page, "run-step")  # tests/screenshots/module-step.png
    note.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/modules/{module.id}/#version-1$"))
