"""What Studio's pages may do in a browser: load Studio's own files, nothing else, and show
user text as text.

Every main page is opened in headless Chromium under the Content-Security-Policy Studio sends;
a violation (an inline script or style, an external load, eval) fails the test. Plotly draws
``<a href>``, ``<b>``, ``<br>`` and entities in the text it renders, so step and metric names
must reach it escaped: a step named like a link shows as text, with no link in the graph.
"""

from __future__ import annotations

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("_browser_available")]

METRICS = str(ROOT / "tests" / "sources" / "metrics")
LINK = '<a href="https://example.com">x</a>'
URL = "https://example.com"
MARKUP = "<b>bold</b> & <br>more"
NAMES = [LINK, URL, MARKUP]

# Installed before any script of a page runs; Chromium also reports each violation on the console.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture(scope="module")
def named_run(studio):
    """A finished run of three steps named like markup, each logging a series of that name."""
    ws = studio.workspace()
    steps = [
        PythonScriptStep(
            name=name,
            script_name="named_metrics.py",
            source_directory=METRICS,
            arguments=[name],
            allow_reuse=False,
        )
        for name in NAMES
    ]
    run = Experiment(ws, "csp-pages").submit(Pipeline(ws, steps))
    assert run.wait_for_completion(show_output=False, timeout_seconds=90) == "Finished"
    ids = {s["name"]: s["id"] for s in studio.api("GET", f"runs/{run.id}/").json()["steps"]}
    return run.id, ids


def _watch(page) -> list[str]:
    """Every CSP violation the page reports, on the console or as an event."""
    seen: list[str] = []
    page.add_init_script(LISTEN)
    page.on(
        "console",
        lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return seen


def _violations(page, console: list[str]) -> list[str]:
    return [*console, *page.evaluate("window.__csp || []")]


def _hover(page, point: int) -> None:
    """Show the hover label of one step, as moving the mouse onto it does."""
    page.evaluate(
        """(n) => {
          const steps = document.getElementById('pipeline-graph').data
            .findIndex(t => t.meta === 'steps');
          Plotly.Fx.hover('pipeline-graph', [{curveNumber: steps, pointNumber: n}]);
        }""",
        point,
    )


def _open(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert "default-src 'self'" in response.headers.get("content-security-policy", ""), url
    page.wait_for_load_state("load")


def test_the_sign_in_page_keeps_to_the_policy(anon_page, studio):
    console = _watch(anon_page)
    _open(anon_page, f"{studio.url}/login/")
    _expect()(anon_page.locator("#id_username")).to_be_visible()
    assert _violations(anon_page, console) == []


def test_the_main_pages_keep_to_the_policy(page, studio, named_run):
    run_id, step_ids = named_run
    console = _watch(page)
    problems: dict[str, list[str]] = {}
    pages = [
        "/",
        "/experiments/",
        "/runs/",
        "/pipelines/",
        "/endpoints/",
        "/schedules/",
        "/schedules/new/",
        "/datasets/",
        "/datastores/",
        "/datastores/workspaceblobstore/",
        "/environments/",
        "/models/",
        "/compute/",
        "/tokens/",
    ]
    for path in pages:
        _open(page, f"{studio.url}{path}")
        problems[path] = _violations(page, console)
        console.clear()

    # A run page: its graph drawn, a hover label shown, then a step's logs and metric chart.
    run_page = f"/runs/{run_id}/"
    _open(page, f"{studio.url}{run_page}")
    _expect()(page.locator("#pipeline-graph .main-svg").first).to_be_visible()
    _hover(page, 0)
    _expect()(page.locator("#pipeline-graph .hoverlayer .hovertext")).to_have_count(1)
    problems[run_page] = _violations(page, console)
    console.clear()
    step = step_ids[URL]
    for tab in ("logs", "metrics", "overview", "parameters"):
        path = f"/runs/{run_id}/?step={step}&tab={tab}"
        _open(page, f"{studio.url}{path}")
        if tab == "metrics":
            _expect()(page.locator(".metric-chart .main-svg").first).to_be_visible()
        problems[path] = _violations(page, console)
        console.clear()
    assert {path: found for path, found in problems.items() if found} == {}


def test_step_names_show_as_text_in_the_graph_and_its_hover_labels(page, studio, named_run):
    run_id, _ = named_run
    page.goto(f"{studio.url}/runs/{run_id}/")
    graph = page.locator("#pipeline-graph")
    labels = graph.locator(".scatterlayer .textpoint")
    _expect()(labels).to_have_count(3)
    assert sorted(labels.all_text_contents()) == sorted(NAMES)
    assert graph.locator("a").count() == 0
    for i in range(3):
        _hover(page, i)
        hover = graph.locator(".hoverlayer .hovertext")
        _expect()(hover).to_have_count(1)
        assert any(f"{name}: Completed" == hover.text_content() for name in NAMES)
        assert graph.locator("a").count() == 0
        assert graph.locator(".hoverlayer tspan.line").count() <= 1  # no <br> line break


def test_metric_names_show_as_text_in_their_charts(page, studio, named_run):
    run_id, step_ids = named_run
    for name in NAMES:
        page.goto(f"{studio.url}/runs/{run_id}/?step={step_ids[name]}&tab=metrics")
        chart = page.locator(".metric-chart")
        _expect()(chart.locator(".gtitle")).to_have_text(name)
        assert chart.locator("a").count() == 0
        assert chart.locator("b, tspan[style*='bold']").count() == 0


def test_the_api_documentation_draws_its_operations_within_the_policy(page, studio):
    console = _watch(page)
    _open(page, f"{studio.url}/api/docs/")
    operations = page.locator("#swagger-ui .opblock")
    _expect()(operations.first).to_be_visible()
    assert operations.count() > 50  # every route of the schema, not a stub
    _expect()(page.locator("#swagger-ui .opblock-summary-path").first).to_contain_text("/api/")
    # Open an operation and try it: Swagger UI sends the request with the signed-in session.
    workspace = page.locator("#swagger-ui .opblock-get", has_text="/api/workspace/").first
    workspace.locator(".opblock-summary").click()
    workspace.get_by_role("button", name="Try it out").click()
    workspace.get_by_role("button", name="Execute").click()
    _expect()(workspace.locator(".live-responses-table tbody .response-col_status")).to_have_text(
        "200"
    )
    assert _violations(page, console) == []
    assert page.locator("nav.sidenav a[aria-current=page]").inner_text() == "API documentation"
