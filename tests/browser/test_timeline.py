"""The run page's Timeline: a row per step with its queued and running time and reuse marked,
switched with the graph in place (?view=timeline), live while the run goes on, readable at
300 steps on a wide screen and a phone."""

from __future__ import annotations

import json

import pytest

from runs.timeline import short_name
from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT, wait_until

pytestmark = pytest.mark.browser
STEPS = str(ROOT / "tests" / "sources" / "steps")
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}
SIZES = pytest.mark.parametrize("size", [WIDE, PHONE], ids=["wide", "phone"])


def _step(name: str, seconds: float = 0.0, reuse: bool = False) -> PythonScriptStep:
    return PythonScriptStep(
        name=name,
        script_name="sleep.py",
        source_directory=STEPS,
        arguments=["--seconds", str(seconds)],
        allow_reuse=reuse,
    )


@pytest.fixture(scope="module")
def five_steps(studio):
    """A finished 5-step run whose first step was reused from the run before it."""
    ws = studio.workspace()
    experiment = Experiment(ws, "timeline")
    first = experiment.submit(Pipeline(ws, [_step("load data", 0.3, reuse=True)]))
    first.wait_for_completion(show_output=False)
    load = _step("load data", 0.3, reuse=True)
    left, right = _step("train a", 1.0), _step("train b", 1.6)
    left.run_after(load)
    right.run_after(load)
    evaluate = _step("evaluate", 0.4)
    evaluate.run_after(left)
    evaluate.run_after(right)
    report = _step("report", 0.2)
    report.run_after(evaluate)
    run = experiment.submit(Pipeline(ws, [load, left, right, evaluate, report]))
    run.wait_for_completion(show_output=False)
    return {"run": run, "reused_from": first}


# A finished fan-out of 300 steps, written straight into the live Studio's database: one step
# splits the data, 299 score its partitions four at a time (as four workers would).
_FAN_OUT = """
from datetime import timedelta
from django.utils import timezone
from runs.models import Experiment, PipelineGraph, Run, StepRun
from studio.core.spec import GraphSpec, StepSpec
snap = "a" * 64
specs = [StepSpec(node_id="split", name="split", script_name="noop.py", snapshot=snap)]
specs += [
    StepSpec(node_id=f"p{i:03d}", name=f"score_partition_{i:03d}_of_299", script_name="noop.py",
             snapshot=snap, run_after=("split",))
    for i in range(299)
]
graph = PipelineGraph.store(GraphSpec(steps=tuple(specs), description="fan-out"))
experiment, _ = Experiment.objects.get_or_create(name="timeline-fan-out")
t0 = timezone.now() - timedelta(minutes=10)
at = lambda s: t0 + timedelta(seconds=s)
rows = [StepRun(node_id="split", name="split", position=0, compute_target="local",
                status="Completed", attempt=1, queued_at=at(0), started_at=at(0.4), ended_at=at(3))]
for i in range(299):
    start = 3.2 + (i // 4) * 1.7 + (i % 4) * 0.3
    rows.append(StepRun(node_id=f"p{i:03d}", name=f"score_partition_{i:03d}_of_299",
                        position=i + 1, compute_target="local",
                        status="Failed" if i == 137 else "Completed", attempt=1,
                        queued_at=at(3.1), started_at=at(start), ended_at=at(start + 1.2 + (i % 5) * 0.1)))
end = max(r.ended_at for r in rows)
run = Run.objects.create(experiment=experiment, graph=graph, number=1, description="fan-out",
                         status="Failed", created_at=t0, started_at=t0, ended_at=end,
                         duration_ms=int((end - t0).total_seconds() * 1000))
for r in rows:
    r.run = run
StepRun.objects.bulk_create(rows)
print(run.id)
"""


@pytest.fixture(scope="module")
def fan_out(studio) -> str:
    return studio.manage("shell", "-c", _FAN_OUT).strip().splitlines()[-1]


def _traces(page) -> dict[str, dict]:
    """The timeline as drawn: plotly's traces by name."""
    drawn = page.evaluate(
        "JSON.stringify((document.getElementById('timeline-chart').data || [])"
        ".map(t => ({name: t.name, y: t.y, customdata: t.customdata, text: t.text})))"
    )
    return {t["name"]: t for t in json.loads(drawn)}


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _rows_drawn(page) -> int:
    return page.locator("#timeline-chart .ytick").count()


@SIZES
def test_the_timeline_shows_a_row_per_step_with_reuse_marked_and_switches_in_place(
    page, studio, five_steps, size, shot
):
    from playwright.sync_api import expect

    run = five_steps["run"]
    page.set_viewport_size(size)
    page.goto(f"{studio.url}/runs/{run.id}/")
    graph, timeline = page.locator("#pipeline-graph"), page.locator("#timeline")
    expect(graph).to_be_visible()
    expect(timeline).to_be_hidden()
    page.evaluate("window.studioMarker = 'same page'")

    page.get_by_role("tab", name="Timeline").click()
    expect(timeline).to_be_visible()
    expect(graph).to_be_hidden()
    assert "view=timeline" in page.url
    expect(page.locator("#timeline-chart .ytick")).to_have_count(5)
    expect(page.locator("#timeline-chart")).to_contain_text("reused from run 1")
    legend = page.locator("#timeline .timeline-legend li")
    expect(legend.filter(has_text="Completed")).to_have_count(1)
    expect(legend.last).to_have_text("Reused")
    assert page.evaluate("window.studioMarker") == "same page"  # no page load
    traces = _traces(page)
    assert traces["Reused"]["text"] == ["reused from run 1"]
    ran = set(traces["Completed"]["customdata"])
    assert len(ran) == 4 and traces["Reused"]["customdata"][0] not in ran
    assert _overflow(page) <= 0
    shot(page, "timeline")

    page.get_by_role("tab", name="Graph").click()
    expect(graph).to_be_visible()
    expect(timeline).to_be_hidden()
    assert "view=" not in page.url
    page.go_back()
    expect(timeline).to_be_visible()
    assert page.evaluate("window.studioMarker") == "same page"

    # Shared: the address opens the timeline.
    page.goto(f"{studio.url}/runs/{run.id}/?view=timeline")
    expect(timeline).to_be_visible()
    expect(page.locator("#timeline-chart .ytick")).to_have_count(5)
    assert page.get_by_role("tab", name="Timeline").get_attribute("aria-selected") == "true"
    # The graph, drawn while hidden, fits its card once shown.
    page.get_by_role("tab", name="Graph").click()
    expect(graph.locator(".main-svg").first).to_be_visible()
    page.wait_for_function(
        "() => { const g = document.getElementById('pipeline-graph');"
        " const svg = g.querySelector('.main-svg');"
        " return svg && Math.abs(svg.getBoundingClientRect().width - g.clientWidth) <= 2; }"
    )
    assert _overflow(page) <= 0


def test_clicking_a_bar_selects_its_step_and_keeps_the_timeline(page, studio, five_steps):
    from playwright.sync_api import expect

    run = five_steps["run"]
    page.goto(f"{studio.url}/runs/{run.id}/?view=timeline")
    expect(page.locator("#timeline-chart .ytick")).to_have_count(5)
    traces = _traces(page)
    completed = traces["Completed"]
    step_id = completed["customdata"][-1]
    bar = page.locator("#timeline-chart .barlayer .trace").last.locator(".point").last
    box = bar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"**step={step_id}**")
    assert "view=timeline" in page.url
    expect(page.locator("section.step-panel h2")).to_contain_text("report")
    expect(page.locator("#timeline")).to_be_visible()


@SIZES
def test_a_300_step_fan_out_fits_the_screen_and_scrolls_inside_its_card(
    page, studio, fan_out, size, shot
):
    from playwright.sync_api import expect

    page.set_viewport_size(size)
    page.goto(f"{studio.url}/runs/{fan_out}/?view=timeline")
    expect(page.locator("#timeline-chart .ytick")).to_have_count(300, timeout=20_000)
    assert _overflow(page) <= 0
    scroller = page.locator(".timeline-scroll")
    heights = scroller.evaluate("el => [el.scrollHeight, el.clientHeight]")
    assert heights[0] > 300 * 14 and heights[1] <= size["height"] * 0.75
    assert len(_traces(page)["Completed"]["y"]) == 299
    assert _traces(page)["Failed"]["y"] and len(_traces(page)["Waiting"]["y"]) == 300
    labels = page.eval_on_selector_all(
        "#timeline-chart .ytick text", "els => els.map(e => e.textContent)"
    )
    assert max(len(label) for label in labels) <= 24
    assert "score_partit…_000_of_299" in labels
    # The full name on hover.
    bar = page.locator("#timeline-chart .barlayer .trace").nth(1).locator(".point").nth(1)
    box = bar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator("#timeline-chart .hoverlayer .hovertext")
    expect(hover).to_contain_text("score_partition_000_of_299")
    shot(page, "fan-out")


def test_the_timeline_grows_while_the_run_goes(page, studio):
    from playwright.sync_api import expect

    ws = studio.workspace()
    # Each step runs longer than two of the page's 2 s refreshes, so each state is seen; the
    # first longer still, as the page opens while it runs.
    first, second = _step("first step", 8.0), _step("second step", 5.0)
    second.run_after(first)
    run = Experiment(ws, "timeline-live").submit(Pipeline(ws, [first, second]))
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/timeline/" in r.url else None)
    page.goto(f"{studio.url}/runs/{run.id}/?view=timeline")
    expect(page.locator("#timeline-chart .ytick")).to_have_count(2)

    def rows(status: str) -> list[int]:
        """The rows with a bar of this status (row 0 is the step that started first)."""
        return (_traces(page).get(status) or {}).get("y") or []

    wait_until(lambda: rows("Running") == [0], timeout=60, message="the first step running")
    assert rows("Completed") == []
    wait_until(
        lambda: rows("Completed") == [0] and rows("Running") == [1],
        timeout=60,
        message="the first step done and the second running",
    )
    # The step panel followed the run to the second step (the page's main part loaded again
    # in place): still the timeline, and the address still says so.
    expect(page.locator("section.step-panel h2")).to_contain_text("second step", timeout=30_000)
    expect(page.locator("#timeline")).to_be_visible()
    assert "view=timeline" in page.url
    wait_until(lambda: rows("Completed") == [0, 1], timeout=60, message="both steps done")
    run.wait_for_completion(show_output=False)
    # Live only while the run goes: the page stops asking once it finished.
    page.wait_for_timeout(2500)
    settled = len(asked)
    page.wait_for_timeout(4500)
    assert len(asked) == settled


def test_step_names_show_as_text_and_the_view_keeps_to_the_content_policy(page, studio):
    from playwright.sync_api import expect

    from tests.security.test_csp import LINK, LISTEN, MARKUP

    ws = studio.workspace()
    steps = [
        PythonScriptStep(name=n, script_name="noop.py", source_directory=STEPS, allow_reuse=False)
        for n in (LINK, MARKUP)
    ]
    run = Experiment(ws, "timeline-names").submit(Pipeline(ws, steps))
    run.wait_for_completion(show_output=False)
    page.add_init_script(LISTEN)
    page.goto(f"{studio.url}/runs/{run.id}/?view=timeline")
    chart = page.locator("#timeline-chart")
    expect(chart.locator(".ytick")).to_have_count(2)
    ticks = chart.locator(".ytick text").all_text_contents()
    assert sorted(ticks) == sorted([short_name(LINK), MARKUP])
    bar = chart.locator(".barlayer .point").first.bounding_box()
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    expect(chart.locator(".hoverlayer .hovertext")).to_have_count(1)
    assert chart.locator("a").count() == 0
    assert any(n in chart.locator(".hoverlayer .hovertext").text_content() for n in (LINK, MARKUP))
    assert page.evaluate("window.__csp") == []


def test_a_step_that_builds_its_environment_shows_its_preparing_time(page, studio):
    from playwright.sync_api import expect

    from studio.sdk.core import Environment, RunConfiguration
    from studio.sdk.core.conda_dependencies import CondaDependencies

    ws = studio.workspace()
    environment = Environment("timeline-env")
    # A requirement no other test asks for: this run builds the environment.
    environment.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["studio-envtest>=2.5"]
    )
    config = RunConfiguration()
    config.environment = environment
    steps = [
        PythonScriptStep(
            name=f"shard {i}",
            script_name="show.py",
            source_directory=str(ROOT / "tests" / "sources" / "environments"),
            runconfig=config,
            allow_reuse=False,
        )
        for i in (1, 2)
    ]
    run = Experiment(ws, "timeline-env").submit(Pipeline(ws, steps))
    run.wait_for_completion(show_output=False, timeout_seconds=240)
    page.goto(f"{studio.url}/runs/{run.id}/?view=timeline")
    expect(page.locator("#timeline-chart .ytick")).to_have_count(2)
    traces = _traces(page)
    preparing = traces["Preparing"]["customdata"]
    assert 1 <= len(preparing) <= 2
    assert set(preparing) <= set(traces["Completed"]["customdata"])
    expect(page.locator("#timeline .timeline-legend")).to_contain_text("Preparing")
