"""The run page in a cold browser, one that has only signed in: what it downloads (at most 1.5 MB,
compressed as sent) and how its static files are served (compressed, under names that carry
their content's hash, cached for good). bench/cold_load.py measures the time it takes."""

from __future__ import annotations

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}
BUDGET_BYTES = 1_500_000
IMMUTABLE = "max-age=315360000, public, immutable"


def submit_cold_run(ws, name: str = "cold-load"):
    """A run of three steps, one of which logs metrics of every kind (the run page's charts)."""
    steps_dir = str(ROOT / "tests" / "sources" / "steps")
    steps = [
        PythonScriptStep(name="prepare", script_name="noop.py", source_directory=steps_dir),
        PythonScriptStep(
            name="train",
            script_name="log_metrics.py",
            source_directory=str(ROOT / "tests" / "sources" / "metrics"),
        ),
        PythonScriptStep(name="score", script_name="noop.py", source_directory=steps_dir),
    ]
    return Experiment(ws, name).submit(Pipeline(ws, steps))


@pytest.fixture(scope="module")
def cold_run(studio):
    run = submit_cold_run(studio.workspace())
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    steps = studio.api("GET", f"runs/{run.id}/").json()["steps"]
    return run.id, next(s["id"] for s in steps if s["name"] == "train")


def _load(page, url: str) -> list:
    """Open ``url`` until its load event; every response the page received on the way."""
    responses: list = []
    page.on("response", lambda response: responses.append(response))
    answer = page.goto(url, wait_until="load")
    assert answer is not None and answer.status == 200, url
    return responses


def _sent_bytes(responses: list) -> int:
    """The bodies' sizes as they came over the wire (compressed where they were)."""
    return sum(r.request.sizes()["responseBodySize"] for r in responses)


@pytest.mark.parametrize("tab", ["graph", "metrics"])
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["wide", "phone"])
def test_the_run_page_downloads_at_most_1_5_mb_in_a_cold_browser(
    page, studio, cold_run, viewport, tab
):
    run_id, train = cold_run
    page.set_viewport_size(viewport)
    query = f"?step={train}&tab=metrics" if tab == "metrics" else ""
    responses = _load(page, f"{studio.url}/runs/{run_id}/{query}")
    page.wait_for_selector("#pipeline-graph .main-svg")
    if tab == "metrics":
        page.wait_for_selector(".metric-chart .main-svg")
    sizes = {r.url: r.request.sizes()["responseBodySize"] for r in responses}
    assert any("plotly-basic" in url for url in sizes), sizes
    assert _sent_bytes(responses) <= BUDGET_BYTES, sizes


def test_static_files_are_compressed_and_cached_for_good_under_hashed_names(page, studio, cold_run):
    run_id, _ = cold_run
    responses = _load(page, f"{studio.url}/runs/{run_id}/")
    static = [r for r in responses if "/static/" in r.url]
    scripts = [r for r in static if r.url.endswith((".js", ".css"))]
    assert {r.url.rsplit("/", 1)[-1].split(".")[0] for r in scripts} >= {
        "plotly-basic",
        "studio",
        "htmx-2",
    }
    for response in static:
        name = response.url.rsplit("/", 1)[-1]
        assert len(name.split(".")) >= 3 and len(name.split(".")[-2]) == 12, f"{name}: no hash"
        assert response.headers.get("cache-control") == IMMUTABLE, response.url
    for response in scripts:
        assert response.headers.get("content-encoding") in ("gzip", "br"), response.url
    plotly = next(r for r in scripts if "plotly-basic" in r.url)
    assert plotly.request.sizes()["responseBodySize"] < 500_000  # 1.2 MB as a file


def test_the_vendored_plotly_draws_what_studio_draws(page, studio, cold_run):
    """Scatter with lines, markers, text and arrow markers (the graph), and horizontal bars (a
    Gantt timeline), from the basic bundle of the plotly.js version the README names."""
    run_id, _ = cold_run
    _load(page, f"{studio.url}/runs/{run_id}/")
    page.wait_for_selector("#pipeline-graph .main-svg")
    schema = page.evaluate(
        """() => {
        const s = Plotly.PlotSchema.get();
        return {version: Plotly.version, traces: Object.keys(s.traces).sort(),
                symbols: s.traces.scatter.attributes.marker.symbol.values};
    }"""
    )
    assert schema["version"] == "4.1.1"
    assert {"scatter", "bar"} <= set(schema["traces"])
    assert {"arrow", "arrow-right", "triangle-right", "diamond"} <= set(schema["symbols"])
    drawn = page.evaluate(
        """async () => {
        const div = document.createElement("div");
        document.body.appendChild(div);
        await Plotly.newPlot(div, [
            {type: "bar", orientation: "h", base: [0, 2], x: [2, 3], y: ["a", "b"]},
            {type: "scatter", mode: "lines+markers+text", x: [0, 1], y: [0, 1], text: ["p", "q"],
             marker: {symbol: "arrow", angle: [45, 90]}},
        ]);
        return {bars: div.querySelectorAll(".barlayer .point").length,
                points: div.querySelectorAll(".scatterlayer .point").length};
    }"""
    )
    assert drawn == {"bars": 2, "points": 2}
