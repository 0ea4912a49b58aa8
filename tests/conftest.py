from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.harness import Studio, isolated_services


@pytest.fixture(scope="session")
def studio():
    """A live Studio for the integration and browser tests (ended when the session ends)."""
    data_dir = Path(tempfile.mkdtemp(prefix="studio-live-"))
    server = Studio(data_dir, **isolated_services("suite"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def ws(studio):
    return studio.workspace()
