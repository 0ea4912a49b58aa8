"""The browser tests: their fixtures live in tests/browser/fixtures.py (shared by the suite)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _browser_first(_browser_available):
    """Before the live server starts: skip or fail early when the browser cannot run."""
