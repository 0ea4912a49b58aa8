"""The pages as a person sees them: login, experiments, a run's graph, step table and live log."""

from __future__ import annotations

import re
import time

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline, StepSequence
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.browser.fixtures import login
from tests.harness import PASSWORD, ROOT, wait_until

pytestmark = pytest.mark.browser

STEPS = str(ROOT / "tests" / "sources" / "steps")
EXPERIMENT = "browser-pages"
XSS_NAME = "<script>alert(1)</script>"
XSS_LOG = "<img src=x onerror=alert(1)>"
STEP_NODES = "#pipeline-graph .scatterlayer .trace:last-child path.point"


def _step(name, script, arguments=(), allow_reuse=True):
    return PythonScriptStep(
        name=name,
        script_name=script,
        source_directory=STEPS,
        arguments=list(arguments),
        allow_reuse=allow_reuse,
    )


def _run_json(studio, run_id: str) -> dict:
    return studio.api("GET", f"runs/{run_id}/").json()


def _steps(studio, run_id: str) -> dict[str, dict]:
    return {s["name"]: s for s in _run_json(studio, run_id)["steps"]}


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture(scope="module")
def finished(studio):
    """Two finished runs, submitted together: a 2-step pipeline and one with a hostile step name."""
    ws = studio.workspace()
    two = Experiment(ws, EXPERIMENT).submit(
        Pipeline(
            ws,
            [
                StepSequence(
                    [
                        _step("prepare data", "noop.py", ["hello-from-prepare"]),
                        _step("train model", "noop.py", ["hello-from-train"]),
                    ]
                )
            ],
        )
    )
    xss = Experiment(ws, "browser-xss").submit(
        Pipeline(ws, [_step(XSS_NAME, "noop.py", [XSS_LOG])])
    )
    assert two.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    assert xss.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    return {"two": two.id, "xss": xss.id}


def _running_step(studio, run_id: str, name: str) -> dict:
    """Wait until ``name`` runs and has printed a tick; return its API record."""
    step = wait_until(
        lambda: next(
            (
                s
                for s in _run_json(studio, run_id)["steps"]
                if s["name"] == name and s["status"] == "Running"
            ),
            None,
        ),
        timeout=20,
        message=f"step {name} to run",
    )
    wait_until(
        lambda: "tick 1" in studio.api("GET", f"steps/{step['id']}/log/").json()["data"],
        timeout=10,
        message="the first ticks",
    )
    return step


def _log_text(page) -> str:
    return page.locator("#log-text").text_content() or ""


def test_login_experiments_and_a_completed_two_step_run(anon_page, studio, finished, shot):
    page, expect = anon_page, _expect()
    run_id = finished["two"]

    page.goto(f"{studio.url}/login/")
    expect(page.get_by_role("heading", name="Sign in to Studio")).to_be_visible()
    shot(page, "login")
    login(page, studio.url)
    expect(page).to_have_url(f"{studio.url}/")
    expect(page.get_by_role("heading", name="Home")).to_be_visible()
    page.get_by_role("link", name="Experiments", exact=True).click()

    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    shot(page, "experiments")
    page.get_by_role("link", name=EXPERIMENT, exact=True).click()
    expect(page).to_have_url(f"{studio.url}/experiments/{EXPERIMENT}/")
    expect(page.get_by_role("heading", name=EXPERIMENT)).to_be_visible()
    shot(page, "experiment-runs")
    page.locator(f'a[href="/runs/{run_id}/"]').click()
    expect(page).to_have_url(f"{studio.url}/runs/{run_id}/")

    # The plotly graph: an svg inside #pipeline-graph, labelled with the step names.
    expect(page.locator("#pipeline-graph svg.main-svg").first).to_be_visible()
    expect(page.locator("#pipeline-graph g.textpoint text")).to_have_text(
        ["prepare data", "train model"]
    )
    # One node per step (the steps are drawn last, over the edges and their arrowheads).
    expect(page.locator(STEP_NODES)).to_have_count(2)

    # The step table, with statuses as text.
    rows = page.locator("#run-status table.steps tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td:nth-child(1)")).to_have_text(["prepare data", "train model"])
    expect(rows.locator("td:nth-child(2)")).to_have_text(["Completed", "Completed"])
    expect(page.locator("#run-status .run-summary .status")).to_have_text("Completed")

    # The selected step's log.
    selected = (
        page.locator("#run-status table.steps tr.selected td:nth-child(1)").text_content().strip()
    )
    marker = {"prepare data": "hello-from-prepare", "train model": "hello-from-train"}[selected]
    expect(page.locator(".log-card h2")).to_contain_text(selected)
    expect(page.locator("#log-text")).to_contain_text(f"noop {marker}")
    # A finished run cannot be canceled.
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)


def test_a_running_steps_log_grows_live_and_polling_stops_when_it_ends(page, studio):
    expect = _expect()
    ws = studio.workspace()
    run = Experiment(ws, "browser-live").submit(
        # Never reused: another test may have run the same script with the same arguments.
        Pipeline(ws, [_step("sleeper", "sleep.py", ["--seconds", "6"], allow_reuse=False)])
    )
    step = _running_step(studio, run.id, "sleeper")

    log_requests: list[tuple[float, str]] = []
    status_requests: list[tuple[float, str]] = []

    def on_request(req):
        if f"/steps/{step['id']}/log/" in req.url:
            log_requests.append((time.monotonic(), req.url))
        elif "partial=status" in req.url:
            status_requests.append((time.monotonic(), req.url))

    page.on("request", on_request)
    page.goto(f"{studio.url}/runs/{run.id}/")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#run-status .run-summary .status")).to_have_text("Running")
    expect(page.locator("#log-text .log-poller")).to_have_count(1)

    first = _log_text(page)
    assert "tick" in first and "slept" not in first
    # The log grows with no reload: htmx appends the tail every second.
    page.wait_for_function(
        "n => document.getElementById('log-text').textContent.length > n",
        arg=len(first),
        timeout=5000,
    )
    grown = _log_text(page)
    assert grown.startswith(first), "the log was replaced rather than appended to"
    ticks = [int(t) for t in re.findall(r"tick (\d+)", grown)]
    assert ticks == list(range(ticks[0], ticks[-1] + 1)), f"ticks lost or repeated: {ticks}"

    # The status turns to Completed by itself, and the whole log arrives, once.
    expect(page.locator("#run-status .run-summary .status")).to_have_text(
        "Completed", timeout=20_000
    )
    expect(page.locator("#run-status table.steps tbody td:nth-child(2)")).to_have_text(
        ["Completed"]
    )
    expect(page.locator("#log-text")).to_contain_text("slept", timeout=5000)
    expect(page.locator("#log-text .log-poller")).to_have_count(0, timeout=5000)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    final = _log_text(page)
    ticks = [int(t) for t in re.findall(r"tick (\d+)", final)]
    assert ticks == list(range(ticks[-1] + 1)), f"ticks lost or repeated: {ticks}"
    assert final.count("slept") == 1
    assert final.rstrip().endswith("slept")
    assert page.locator("#run-status").get_attribute("hx-get") is None

    # Polling has stopped: no further requests for the log or the status.
    logs_then, status_then = len(log_requests), len(status_requests)
    assert logs_then >= 3, f"the log was polled only {logs_then} times"
    page.wait_for_timeout(3000)
    assert len(log_requests) == logs_then, (
        f"still polling the log after completion: {log_requests[logs_then:]}"
    )
    assert len(status_requests) == status_then, (
        f"still polling the status after completion: {status_requests[status_then:]}"
    )


def test_the_cancel_button_cancels_a_running_run(page, studio):
    expect = _expect()
    ws = studio.workspace()
    run = Experiment(ws, "browser-cancel").submit(
        Pipeline(
            ws,
            [
                StepSequence(
                    [
                        _step("long sleeper", "sleep.py", ["--seconds", "60"]),
                        _step("never", "noop.py"),
                    ]
                )
            ],
        )
    )
    _running_step(studio, run.id, "long sleeper")
    page.goto(f"{studio.url}/runs/{run.id}/")
    expect(page.locator("#run-status .run-summary .status")).to_have_text("Running")

    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{studio.url}/runs/{run.id}/")
    expect(page.locator("#run-status .run-summary .status")).to_have_text(
        "Canceled", timeout=15_000
    )
    expect(page.locator("#run-status table.steps tbody td:nth-child(2)")).to_have_text(
        ["Canceled", "Canceled"]
    )
    assert _run_json(studio, run.id)["status"] == "Canceled"


def test_clicking_a_graph_node_selects_its_step(page, studio, finished):
    expect = _expect()
    run_id = finished["two"]
    steps = _steps(studio, run_id)
    page.goto(f"{studio.url}/runs/{run_id}/")
    expect(page.locator(STEP_NODES)).to_have_count(2)
    selected = (
        page.locator("#run-status table.steps tr.selected td:nth-child(1)").text_content().strip()
    )
    target = "train model" if selected == "prepare data" else "prepare data"
    index = ["prepare data", "train model"].index(target)

    box = page.locator(STEP_NODES).nth(index).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"**/runs/{run_id}/?step={steps[target]['id']}")
    expect(page.locator("#run-status table.steps tr.selected td:nth-child(1)")).to_have_text(target)
    expect(page.locator(".log-card h2")).to_contain_text(target)
    marker = {"prepare data": "hello-from-prepare", "train model": "hello-from-train"}[target]
    expect(page.locator("#log-text")).to_contain_text(f"noop {marker}")


def test_an_anonymous_visit_to_a_run_goes_to_the_login_page(anon_page, studio, finished):
    page, expect = anon_page, _expect()
    run_id = finished["two"]
    page.goto(f"{studio.url}/runs/{run_id}/")
    expect(page).to_have_url(re.compile(rf"/login/\?next=(/|%2F)runs(/|%2F){run_id}(/|%2F)$"))
    expect(page.get_by_role("heading", name="Sign in to Studio")).to_be_visible()
    expect(page.locator("#pipeline-graph")).to_have_count(0)
    expect(page.locator(".sidenav")).to_have_count(0)
    # Signing in there leads back to the run.
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{studio.url}/runs/{run_id}/")
    page.goto(f"{studio.url}/login/")  # the screenshot shows the login page


def test_a_hostile_step_name_and_log_render_as_text(page, studio, finished, dialogs):
    expect = _expect()
    run_id = finished["xss"]
    step_id = _steps(studio, run_id)[XSS_NAME]["id"]
    page.goto(f"{studio.url}/runs/{run_id}/")
    expect(page.locator(STEP_NODES)).to_have_count(1)

    expect(page.locator("#run-status table.steps tbody td:nth-child(1)")).to_have_text([XSS_NAME])
    expect(page.locator(".log-card h2")).to_contain_text(XSS_NAME)
    expect(page.locator("#log-text")).to_contain_text(f"noop {XSS_LOG}")
    assert page.locator("#log-text img, main img").count() == 0
    assert page.locator("main script:not([type='application/json'])").count() == 0

    # The htmx path too: the log tail fragment swapped into the page stays text.
    page.evaluate(
        "url => htmx.ajax('GET', url, {target: '#log-text', swap: 'innerHTML'})",
        f"/steps/{step_id}/log/?offset=0",
    )
    expect(page.locator("#log-text")).to_have_text(re.compile(re.escape(f"noop {XSS_LOG}")))
    assert page.locator("#log-text img").count() == 0

    page.wait_for_timeout(500)  # give an injected onerror or script time to fire
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert dialogs == [], f"a dialog opened: {dialogs}"


def test_the_cancel_button_goes_away_by_itself_when_the_run_ends(page, studio):
    expect = _expect()
    ws = studio.workspace()
    run = Experiment(ws, "browser-short").submit(
        Pipeline(ws, [_step("short", "sleep.py", ["--seconds", "1.5"])])
    )
    _running_step(studio, run.id, "short")
    page.goto(f"{studio.url}/runs/{run.id}/")
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    expect(page.locator("#run-status .run-summary .status")).to_have_text(
        "Completed", timeout=15_000
    )
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0, timeout=3000)


def test_the_side_nav_marks_the_current_section(page, studio, finished):
    expect = _expect()
    page.goto(f"{studio.url}/experiments/")
    expect(page.locator('.sidenav a[aria-current="page"]')).to_have_text(
        "Experiments", timeout=2000
    )
    page.goto(f"{studio.url}/runs/{finished['two']}/")
    expect(page.locator('.sidenav a[aria-current="page"]')).to_have_text(
        "Experiments", timeout=2000
    )
