"""Everyday tools: dark mode (following the system, or the top bar's Theme button), keyboard
shortcuts (``/`` focuses search, Esc closes panels) and the global search, at 1280x800 and
390x844."""

from __future__ import annotations

import re

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
STEPS = str(ROOT / "tests" / "sources" / "steps")
SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def a_run(studio):
    """A finished run of two steps, described, in the experiment "everyday-tools"."""
    ws = studio.workspace()
    steps = [
        PythonScriptStep(name=name, script_name="noop.py", source_directory=STEPS)
        for name in ("prepare data", "train model")
    ]
    run = Experiment(ws, "everyday-tools").submit(
        Pipeline(ws, steps, description="nightly churn model")
    )
    run.wait_for_completion(show_output=False)
    return run


@pytest.fixture(params=list(SIZES))
def size(request, page):
    page.set_viewport_size(SIZES[request.param])
    return request.param


def _rgb(page, script: str) -> tuple[int, int, int]:
    value = page.evaluate(script)
    r, g, b = (int(n) for n in re.findall(r"\d+", value)[:3])
    return r, g, b


def _lightness(rgb: tuple[int, int, int]) -> float:
    r, g, b = rgb
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def _background(page) -> float:
    return _lightness(_rgb(page, "getComputedStyle(document.documentElement).backgroundColor"))


def _text(page) -> float:
    return _lightness(_rgb(page, "getComputedStyle(document.querySelector('main')).color"))


def _graph_labels(page) -> list[float]:
    """The lightness of each step name the graph draws."""
    page.wait_for_selector("#pipeline-graph[data-drawn] g.textpoint text")
    fills = page.eval_on_selector_all(
        "#pipeline-graph .scatterlayer g.textpoint text",
        "els => els.filter(e => e.textContent.trim()).map(e => getComputedStyle(e).fill)",
    )
    return [_lightness(tuple(int(n) for n in re.findall(r"\d+", f)[:3])) for f in fills]


def test_the_pages_follow_a_dark_system_theme(page, studio, a_run, size, shot):
    page.emulate_media(color_scheme="dark")
    page.goto(f"{studio.url}/runs/{a_run.id}/")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert _background(page) < 0.15
    assert _text(page) > 0.8
    labels = _graph_labels(page)
    assert labels and all(light > 0.7 for light in labels), labels
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, f"{size}-dark")  # at 1280x800: tests/screenshots/run-page-dark.png


def test_the_pages_are_light_on_a_light_system(page, studio, a_run):
    page.emulate_media(color_scheme="light")
    page.goto(f"{studio.url}/runs/{a_run.id}/")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert _background(page) > 0.9
    assert _text(page) < 0.3
    assert all(light < 0.4 for light in _graph_labels(page))


def test_the_theme_button_switches_and_remembers_the_choice(page, studio, a_run, size):
    from playwright.sync_api import expect

    page.emulate_media(color_scheme="dark")
    page.goto(f"{studio.url}/runs/{a_run.id}/")
    button = page.locator("button.theme-toggle")
    expect(button).to_have_attribute("data-choice", "system")
    button.click()  # system -> light
    expect(button).to_have_attribute("data-choice", "light")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert _background(page) > 0.9
    # The graph is drawn again in the page's colours: dark names on a light page.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#pipeline-graph g.textpoint text')]"
        ".some(e => e.textContent.trim() && getComputedStyle(e).fill === 'rgb(50, 49, 48)')"
    )
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    expect(button).to_have_attribute("data-choice", "light")
    button.click()  # light -> dark, on a light system too
    page.emulate_media(color_scheme="light")
    page.goto(f"{studio.url}/experiments/")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert _background(page) < 0.15
    expect(button).to_have_attribute("data-choice", "dark")
    button.click()  # dark -> system: light again
    expect(button).to_have_attribute("data-choice", "system")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"


def test_the_global_search_drops_down_results_as_one_types(page, studio, a_run, size, shot):
    from playwright.sync_api import expect

    page.goto(f"{studio.url}/")
    box = page.locator("#global-search")
    expect(box).to_be_visible()
    box.press_sequentially("everyday")
    dropdown = page.locator("#search-dropdown")
    hit = dropdown.locator("a.search-hit", has_text="Run 1 of everyday-tools")
    expect(hit).to_be_visible()
    expect(dropdown.locator("a.search-hit", has_text="everyday-tools").first).to_be_visible()
    # The dropdown stays inside the screen.
    box_right = page.evaluate(
        "document.getElementById('search-dropdown').getBoundingClientRect().right"
    )
    assert box_right <= SIZES[size]["width"]
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, f"{size}-dropdown")
    hit.click()
    page.wait_for_url(f"{studio.url}/runs/{a_run.id}/")


def test_enter_opens_the_full_results_page(page, studio, a_run, size):
    from playwright.sync_api import expect

    page.goto(f"{studio.url}/datasets/")
    page.locator("#global-search").fill(a_run.id[:8])
    page.locator("#global-search").press("Enter")
    page.wait_for_url(f"{studio.url}/search/?q={a_run.id[:8]}")
    expect(page.locator("h1")).to_contain_text("1 found")
    expect(page.locator("main a", has_text="Run 1 of everyday-tools")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_slash_focuses_the_search_and_escape_closes_the_results(page, studio, a_run, size):
    from playwright.sync_api import expect

    page.goto(f"{studio.url}/experiments/")
    page.keyboard.press("/")
    expect(page.locator("#global-search")).to_be_focused()
    page.keyboard.type("everyday")  # the slash was not typed into the box
    expect(page.locator("#global-search")).to_have_value("everyday")
    expect(page.locator("#search-dropdown a.search-hit").first).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#search-dropdown")).to_be_hidden()
    # On the run page "/" finds a step; typed into a box, "/" is just a character.
    page.goto(f"{studio.url}/runs/{a_run.id}/")
    page.keyboard.press("/")
    steps = page.locator("#step-filter-name")
    expect(steps).to_be_focused()
    page.keyboard.type("a/b")
    expect(steps).to_have_value("a/b")


def test_escape_closes_the_phone_menu(page, studio):
    from playwright.sync_api import expect

    page.set_viewport_size(SIZES["phone"])
    page.goto(f"{studio.url}/")
    page.locator("button.menu-toggle").click()
    expect(page.locator("nav.sidenav")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("nav.sidenav")).to_be_hidden()
    expect(page.locator("button.menu-toggle")).to_have_attribute("aria-expanded", "false")


@pytest.fixture(scope="module")
def metric_run(studio, tmp_path_factory):
    """A finished one-step run that logged a "loss" series."""
    ws = studio.workspace()
    source = tmp_path_factory.mktemp("metric-step")
    (source / "train.py").write_text(
        "from studio.sdk.core import Run\n"
        "run = Run.get_context()\n"
        "for loss in (0.9, 0.5, 0.2):\n"
        "    run.log('loss', loss)\n"
    )
    step = PythonScriptStep(name="train", script_name="train.py", source_directory=str(source))
    run = Experiment(ws, "everyday-metrics").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    return run


def test_metric_charts_are_drawn_in_the_themes_colours(page, studio, metric_run):
    step = metric_run.get_steps()[0]
    page.emulate_media(color_scheme="dark")
    page.goto(f"{studio.url}/runs/{metric_run.id}/?step={step.id}&tab=metrics")
    ticks = "#step-panel .metric-chart .ytick text"
    page.wait_for_selector(ticks)
    fill = page.eval_on_selector(ticks, "e => getComputedStyle(e).fill")
    assert _lightness(tuple(int(n) for n in re.findall(r"\d+", fill)[:3])) > 0.7
    grid = page.eval_on_selector(
        "#step-panel .metric-chart .ygrid", "e => getComputedStyle(e).stroke"
    )
    assert _lightness(tuple(int(n) for n in re.findall(r"\d+", grid)[:3])) < 0.4
    page.locator("button.theme-toggle").click()  # system (dark) -> light: drawn again
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector("
        "'#step-panel .metric-chart .ytick text')).fill === 'rgb(50, 49, 48)'"
    )
