from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.harness import Studio, isolated_services

PIPELINES = Path(__file__).parent / "pipelines"


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


@pytest.fixture
def pipeline_dir(tmp_path):
    """A copy of a pipeline folder under tests/pipelines, as the current directory."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(PIPELINES / name, target)
        return target

    old = os.getcwd()
    yield copy
    os.chdir(old)
