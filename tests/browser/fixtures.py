"""Headless Debian Chromium driven by the sync Playwright API, against the live ``studio`` fixture.

These fixtures are defined once, for the whole suite (tests/conftest.py imports them): one
Playwright instance per session, whichever folders' browser tests run. Browser tests ask for
``_browser_available`` first (tests/browser/conftest.py does so for its folder).

The browser tests skip (with the reason) when /usr/bin/chromium or playwright is missing,
unless STUDIO_REQUIRE_BROWSER=1, in which case they fail. The check runs before the
live server starts, so a skipped run costs nothing.

Every test that uses ``page`` or ``anon_page`` leaves a 1280x800 screenshot in
tests/artifacts/<test-name>.png (taken at teardown, so also when the test fails), and
fails if the page ever opened a JavaScript dialog (alert/confirm/prompt) or raised an
uncaught JavaScript error.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

from tests.harness import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"{reason} (and STUDIO_REQUIRE_BROWSER=1 requires the browser tests to run)",
            pytrace=False,
        )
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _browser_available():
    """Autouse, so it runs before ``studio``: skip or fail early when the browser cannot run."""
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests"
        )
    if importlib.util.find_spec("playwright") is None:
        _unavailable("the playwright Python package is not installed in this environment")


@pytest.fixture(scope="session")
def browser(_browser_available):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def login(page, base_url: str, username: str = "admin", password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))


@pytest.fixture(scope="session")
def auth_state(browser, studio):
    """The cookies of one form login, reused by the ``page`` fixture of every test."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        login(page, studio.url)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def dialogs():
    """Messages of every JavaScript dialog any page of the test opened (each one is dismissed)."""
    return []


@pytest.fixture
def js_errors():
    """Uncaught JavaScript errors of the test's pages."""
    return []


def _open_page(browser, dialogs, js_errors, storage_state=None):
    context = browser.new_context(viewport=VIEWPORT, storage_state=storage_state)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message):
        # Shown with a failure's captured output (e.g. the favicon.ico 404, which is harmless).
        if message.type in ("error", "warning"):
            print(f"console {message.type}: {message.text} {message.location.get('url', '')}")

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    page.on("console", on_console)
    return context, page


def _finish(context, page, request, dialogs, js_errors):
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            if not page.is_closed():
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        except Exception as exc:  # a screenshot must never hide the test's own result
            print(f"screenshot failed: {exc}")
    finally:
        context.close()
    assert not dialogs, f"the page opened JavaScript dialogs: {dialogs}"
    assert not js_errors, f"the page raised JavaScript errors: {js_errors}"


@pytest.fixture
def page(browser, auth_state, request, dialogs, js_errors):
    """A signed-in page (1280x800) in a fresh browser context."""
    context, page = _open_page(browser, dialogs, js_errors, storage_state=auth_state)
    yield page
    _finish(context, page, request, dialogs, js_errors)


@pytest.fixture
def anon_page(browser, studio, request, dialogs, js_errors):
    """A page with no session: nobody is signed in."""
    context, page = _open_page(browser, dialogs, js_errors)
    yield page
    _finish(context, page, request, dialogs, js_errors)


@pytest.fixture
def shot(request):
    """Save an extra screenshot: shot(page, "login") -> tests/artifacts/<test-name>-login.png."""

    def save(page, suffix: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        path = ARTIFACTS / f"{name}-{suffix}.png"
        page.screenshot(path=str(path))
        return path

    return save
