"""Studio on a phone (390 x 844) and a wide screen: the sidebar folds into a Menu button, and no
page is wider than the screen. The walk takes every page the navigation links to, and one page
of each kind those pages link to (a run, a published pipeline, a dataset...), so pages added
later are guarded too."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def a_run(studio):
    """A finished run with a long step name, for the run page."""
    ws = studio.workspace()
    step = PythonScriptStep(
        name="a-step-with-a-rather-long-name-that-must-wrap",
        script_name="noop.py",
        source_directory=str(ROOT / "tests" / "sources" / "steps"),
    )
    run = Experiment(ws, "phone").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    run.publish_pipeline(
        name="a-published-pipeline-with-a-long-name", description="for phones", version="1.0"
    )
    return run


def _kind(url: str) -> str:
    """A page's kind: its path with ids, numbers and names in detail routes made alike."""
    parts = urlsplit(url).path.strip("/").split("/")
    return "/".join(parts[:1] + ["*" if re.search(r"[0-9]", p) else p for p in parts[1:]])


def _overflow(page) -> int:
    """How many pixels the document is wider than the screen."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_no_page_of_the_navigation_is_wider_than_a_phone(page, studio, a_run):
    page.set_viewport_size(PHONE)
    page.goto(f"{studio.url}/")
    links = page.eval_on_selector_all("nav.sidenav a", "els => els.map(e => e.href)")
    assert len(links) >= 10
    wide: dict[str, int] = {}
    seen: set[str] = set()

    def visit(url: str) -> list[str]:
        seen.add(_kind(url))
        page.goto(url)
        page.wait_for_load_state("load")
        if _overflow(page) > 0:
            wide[url] = _overflow(page)
        return page.eval_on_selector_all("main a[href]", "els => els.map(e => e.href)")

    pages = [u for u in links if not u.endswith("/api/schema/")]  # the schema: a download
    others = [
        f"{studio.url}/runs/{a_run.id}/",
        f"{studio.url}/tokens/",
        f"{studio.url}/search/?q=a",
        f"{studio.url}/no-such-page/",
    ]
    for url in [*pages, *others]:
        for deeper in visit(url):
            if (
                deeper.startswith(studio.url)
                and "/api/" not in deeper
                and "download" not in deeper
                and "/files/" not in deeper
                and not urlsplit(deeper).query
                and _kind(deeper) not in seen
            ):
                visit(deeper)
    assert len(seen) >= 15, sorted(seen)
    assert wide == {}, f"pages wider than 390 px (by so many px): {wide}"


def test_the_sidebar_folds_into_a_menu_on_a_phone_and_stays_on_a_wide_screen(page, studio):
    page.set_viewport_size(PHONE)
    page.goto(f"{studio.url}/")
    nav, menu = page.locator("nav.sidenav"), page.locator("button.menu-toggle")
    assert menu.is_visible() and not nav.is_visible()
    menu.click()
    assert nav.is_visible() and menu.get_attribute("aria-expanded") == "true"
    nav.get_by_role("link", name="Runs").click()
    page.wait_for_url("**/runs/")
    assert not nav.is_visible()  # a new page opens with the menu folded
    page.set_viewport_size(WIDE)
    assert nav.is_visible() and not menu.is_visible()


# Each table in view: the box it shows in (its .scroll-x wrapper, else itself) must lie within
# its card (else main), and the card must not scroll sideways as a whole (the table scrolls).
_TABLES_OUT_OF_THEIR_CARDS = """() => [...document.querySelectorAll('main table')].flatMap(t => {
  if (!t.offsetParent) return [];  // hidden (another tab)
  const box = t.closest('.scroll-x') || t;
  const card = t.closest('.card') || document.querySelector('main');
  const b = box.getBoundingClientRect(), c = card.getBoundingClientRect();
  const problems = [];
  if (b.right > c.right + 1 || b.left < c.left - 1) problems.push('wider than its card');
  if (card.scrollWidth > card.clientWidth + 1) problems.push('its card scrolls as a whole');
  return problems.length ? [`table.${t.className.replace(/ /g, '.')}: ${problems.join(', ')}`] : [];
})"""


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["phone", "wide"])
def test_no_table_is_wider_than_its_card_on_any_page(page, studio, a_run, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"{studio.url}/")
    links = page.eval_on_selector_all("nav.sidenav a", "els => els.map(e => e.href)")
    found = {}
    pages = [*links, f"{studio.url}/runs/{a_run.id}/", f"{studio.url}/runs/?metrics=accuracy"]
    for url in pages:
        if "/api/" in url:
            continue  # the API's documentation, not a page of tables
        page.goto(url)
        page.wait_for_load_state("load")
        if problems := page.evaluate(_TABLES_OUT_OF_THEIR_CARDS):
            found[url] = problems
    assert found == {}
