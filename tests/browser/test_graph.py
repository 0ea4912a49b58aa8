"""The run page's pipeline graph explains itself (arrows, named edges, data nodes, a legend) and
stays readable and navigable at 300 steps (find a step, zoom to fit, a minimap), on a wide
screen and on a phone."""

from __future__ import annotations

import time

import pytest

from studio.sdk.core import Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.data.data_reference import DataReference
from studio.sdk.data.datapath import DataPath, DataPathComputeBinding
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
STEPS = str(ROOT / "tests" / "sources" / "steps")
SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCRIPT = (
    "import argparse, os\n"
    "parser = argparse.ArgumentParser()\n"
    "parser.add_argument('--out', action='append', default=[])\n"
    "args, _ = parser.parse_known_args()\n"
    "for folder in args.out:\n"
    "    os.makedirs(folder, exist_ok=True)\n"
    "    open(os.path.join(folder, 'part.txt'), 'w').write('x')\n"
)


@pytest.fixture(scope="module")
def five_steps(studio, tmp_path_factory):
    """A finished run of five steps reading a DataReference and a DataPath parameter."""
    ws = studio.workspace()
    store = ws.get_default_datastore()
    source = tmp_path_factory.mktemp("graph-steps")
    (source / "step.py").write_text(SCRIPT)
    (source / "data").mkdir()
    (source / "data" / "a.csv").write_text("a,b\n1,2\n")
    store.upload(str(source / "data"), target_path="graph-test/raw")
    store.upload(str(source / "data"), target_path="graph-test/holdout")
    raw = DataReference(store, "raw_data", "graph-test/raw")
    holdout = (
        PipelineParameter(name="holdout", default_value=DataPath(store, "graph-test/holdout")),
        DataPathComputeBinding(mode="mount"),
    )
    prepped, model = OutputFileDatasetConfig("prepped_data"), OutputFileDatasetConfig("model")
    baseline, scores = OutputFileDatasetConfig("baseline"), OutputFileDatasetConfig("scores")

    def step(name, *arguments, inputs=None):
        return PythonScriptStep(
            name=name,
            script_name="step.py",
            source_directory=str(source),
            arguments=list(arguments),
            inputs=inputs,
        )

    steps = [
        step("prep data", "--in", raw, "--out", prepped, inputs=[raw]),
        step("train model", "--in", prepped.as_input("prepped_data"), "--out", model),
        step("baseline", "--in", prepped.as_input("prepped_data"), "--out", baseline),
        step(
            "score model",
            *("--in", model.as_input("model"), "--in", holdout, "--out", scores),
            inputs=[holdout],
        ),
        step(
            "compare and register",
            *("--in", scores.as_input("scores"), "--in", baseline.as_input("baseline_scores")),
        ),
    ]
    run = Experiment(ws, "graph-five").submit(Pipeline(ws, steps))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    return run


@pytest.fixture(scope="module")
def fan_out(studio):
    """A running 300-step fan-out: split (sleeping) → 298 shards → merge; canceled at the end."""
    ws = studio.workspace()
    shards = OutputFileDatasetConfig("shards")
    split = PythonScriptStep(
        name="split",
        script_name="sleep.py",
        source_directory=STEPS,
        arguments=["--seconds", "300", "--out", shards],
        allow_reuse=False,
    )
    parts = [
        PythonScriptStep(
            name=f"shard-{i:03d} featurize",
            script_name="noop.py",
            source_directory=STEPS,
            arguments=["--in", shards.as_input("shards")],
            allow_reuse=False,
        )
        for i in range(298)
    ]
    merge = PythonScriptStep(
        name="merge", script_name="noop.py", source_directory=STEPS, allow_reuse=False
    )
    for part in parts:
        merge.run_after(part)
    run = Experiment(ws, "graph-fan-out").submit(Pipeline(ws, [split, *parts, merge]))
    yield run
    run.cancel()


@pytest.fixture(params=["wide", "phone"])
def size(request, page):
    page.set_viewport_size(SIZES[request.param])
    return request.param


def _open(page, url: str) -> float:
    """Open a run page; seconds until its graph is drawn."""
    started = time.monotonic()
    page.goto(url)
    page.wait_for_selector("#pipeline-graph[data-drawn='1']", timeout=30_000)
    return time.monotonic() - started


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _trace_texts(page, meta: str) -> list[str]:
    """The labels drawn in the SVG for a trace (``meta`` names it, as runs/charts.py does;
    a hidden trace draws none)."""
    return page.evaluate(
        """meta => {
          const gd = document.getElementById('pipeline-graph');
          const uid = gd._fullData.find(t => t.meta === meta).uid;
          const trace = gd.querySelector('.scatterlayer .trace' + uid);
          return trace ? [...trace.querySelectorAll('.textpoint')].map(t => t.textContent) : [];
        }""",
        meta,
    )


def _arrowheads(page) -> int:
    """Arrowhead markers drawn at the ends of the edges (markers of size 0 draw no outline)."""
    return page.evaluate(
        """() => {
          const gd = document.getElementById('pipeline-graph');
          const uid = gd._fullData.find(t => t.meta === 'edges').uid;
          const trace = gd.querySelector('.scatterlayer .trace' + uid);
          return [...trace.querySelectorAll('path.point')]
            .filter(p => /[1-9]/.test(p.getAttribute('d') || '')).length;
        }"""
    )


def _view(page) -> dict:
    return page.evaluate(
        """() => {
          const full = document.getElementById('pipeline-graph')._fullLayout;
          return {x: full.xaxis.range.slice(), y: full.yaxis.range.slice()};
        }"""
    )


def _step_point(page, name: str) -> dict:
    """A step's place in the graph, in data units and on the screen."""
    return page.evaluate(
        """name => {
          const gd = document.getElementById('pipeline-graph');
          const figure = JSON.parse(document.getElementById('graph-data').textContent);
          const steps = figure.data.find(t => t.meta === 'steps');
          const i = steps.text.findIndex(t => t === name);
          const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          const box = gd.getBoundingClientRect();
          return {x: steps.x[i], y: steps.y[i], id: steps.customdata[i],
                  left: box.left + xa._offset + xa.l2p(steps.x[i]),
                  top: box.top + ya._offset + ya.l2p(steps.y[i])};
        }""",
        name,
    )


def _steps_in_view(page) -> int:
    return page.evaluate(
        """() => {
          const full = document.getElementById('pipeline-graph')._fullLayout;
          const [x0, x1] = full.xaxis.range, [y0, y1] = full.yaxis.range;
          const figure = JSON.parse(document.getElementById('graph-data').textContent);
          const steps = figure.data.find(t => t.meta === 'steps');
          return steps.x.filter((x, i) => x0 < x && x < x1 && y0 < steps.y[i] && steps.y[i] < y1)
            .length;
        }"""
    )


def test_the_graph_shows_arrows_named_edges_data_nodes_and_a_legend(
    page, studio, five_steps, size, shot
):
    from playwright.sync_api import expect

    _open(page, f"{studio.url}/runs/{five_steps.id}/")
    assert _arrowheads(page) == 7  # one per edge: 5 between steps, 2 from the data nodes
    assert len(_trace_texts(page, "data")) == 2
    legend = page.locator(".graph-legend")
    expect(legend).to_be_visible()
    for word in ("Completed", "Failed", "Running", "ran", "reused", "data"):
        expect(legend).to_contain_text(word)
    if size == "wide":
        labels = _trace_texts(page, "edge-labels")
        assert "raw_data" in labels and "model" in labels and "holdout" in labels
        # Names under the nodes, long ones on two lines.
        assert set(_trace_texts(page, "data")) == {"graph-test/raw", "DataPathholdout"}
        assert "train model" in _trace_texts(page, "steps")
    assert _overflow(page) <= 0
    shot(page, size)  # at 1280x800: tests/screenshots/run-page.png
    page.locator(".graph-card").scroll_into_view_if_needed()
    shot(page, f"{size}-graph")


def test_a_click_on_a_step_in_the_graph_selects_it(page, studio, five_steps, size):
    from playwright.sync_api import expect

    _open(page, f"{studio.url}/runs/{five_steps.id}/")
    page.locator("#pipeline-graph").scroll_into_view_if_needed()
    train = _step_point(page, "train model")
    # The page's own step switcher, when it has one, is called with the step's id.
    page.evaluate("window.studioSelectStep = id => { window.pickedStep = id; }")
    page.mouse.click(train["left"], train["top"])
    page.wait_for_function("window.pickedStep !== undefined")
    assert page.evaluate("window.pickedStep") == train["id"]
    # Without one, the page opens at the step.
    page.evaluate("delete window.studioSelectStep")
    page.mouse.click(train["left"], train["top"])
    page.wait_for_url(f"**/runs/{five_steps.id}/?step={train['id']}")
    expect(page.locator("section.step-panel h2")).to_contain_text("train model")


def test_a_300_step_fan_out_opens_readable_and_find_zooms_to_a_step(
    page, studio, fan_out, size, shot
):
    from playwright.sync_api import expect

    seconds = _open(page, f"{studio.url}/runs/{fan_out.id}/")
    drawing = page.evaluate(
        """() => performance.getEntriesByName('studio-graph-drawn')[0].startTime
                 - performance.getEntriesByType('navigation')[0].domContentLoadedEventStart"""
    )
    print(
        f"300 steps ({size}): drawn {seconds:.2f} s after the request, {drawing:.0f} ms of it drawing"
    )
    assert seconds < 10 and drawing < 2500
    assert _overflow(page) <= 0
    # Opened zoomed in far enough to read names, the whole graph in the minimap.
    expect(page.locator("#graph-minimap")).to_be_visible()
    assert "split" in _trace_texts(page, "steps")
    assert 3 <= _steps_in_view(page) < 60
    page.locator(".graph-card").scroll_into_view_if_needed()
    shot(page, f"{size}-open")  # at 1280x800: tests/screenshots/graph-300.png

    find = page.locator("#graph-find")
    find.fill("shard-25")
    expect(page.locator("#graph-find-count")).to_have_text("1 of 10")
    first = _step_point(page, "shard-250 featurize")
    view = _view(page)
    assert view["y"][0] < first["y"] < view["y"][1]
    assert view["x"][0] < first["x"] < view["x"][1]
    assert any(n.startswith("shard-250") for n in _trace_texts(page, "steps"))
    rings = page.evaluate(
        "document.getElementById('pipeline-graph')._fullData.find(t => t.meta === 'found').x"
    )
    assert len(rings) == 10  # every match is ringed
    find.press("Enter")
    expect(page.locator("#graph-find-count")).to_have_text("2 of 10")
    second = _step_point(page, "shard-251 featurize")
    view = _view(page)
    assert view["y"][0] < second["y"] < view["y"][1]
    page.locator(".graph-card").scroll_into_view_if_needed()
    shot(page, f"{size}-found")

    # The live refresh (every 2 s while the run runs) keeps the view where the user put it.
    page.wait_for_timeout(4500)
    assert _view(page) == view

    page.get_by_role("button", name="Zoom to fit").click()
    fit = page.evaluate("JSON.parse(document.getElementById('graph-data').textContent).fit")
    assert _view(page) == fit
    assert _trace_texts(page, "steps") == []  # too close to read: hover names them
    shot(page, f"{size}-fit")


def test_the_minimap_moves_the_view(page, studio, fan_out):
    _open(page, f"{studio.url}/runs/{fan_out.id}/")
    before = _view(page)
    box = page.locator("#graph-minimap").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.9)
    page.wait_for_function(
        "y => document.getElementById('pipeline-graph')._fullLayout.yaxis.range[1] < y",
        arg=before["y"][0],
    )
    after = _view(page)
    assert after["y"][1] - after["y"][0] == pytest.approx(before["y"][1] - before["y"][0])
