"""The floors only look down: the import contracts of pyproject.toml hold, and they fail
when a back-edge is planted (in a copy of the project, never in the tree itself)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's packages, not the installed ones
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_layer_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy(tmp_path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("studio", "runs", "pipelines"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _plant(root: Path, module: str, line: str) -> None:
    path = root / module
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("runs/models.py", "from pipelines import models as _", "runs never imports pipelines"),
        ("studio/core/spec.py", "import django as _", "studio.core is plain Python"),
        ("studio/core/status.py", "from studio.workspace import storage as _", "studio.core"),
        (
            "studio/sdk/core/run.py",
            "from runs import models as _",
            "studio.sdk imports studio.core",
        ),
        (
            "studio/workspace/storage.py",
            "from runs import models as _",
            "studio.workspace imports no app",
        ),
        (
            "pipelines/models.py",
            "from studio import urls as _",
            "pipelines imports no part of the shell",
        ),
        # a circle inside a part: the core run class importing the pipeline run, which imports it
        ("studio/sdk/core/run.py", "from studio.sdk.pipeline.core import run as _", "No circles"),
        ("runs/models.py", "from runs import services as _", "No circles"),
    ],
)
def test_a_planted_back_edge_breaks_its_contract(copy, module, line, broken):
    assert _lint(copy).returncode == 0  # the copy itself keeps every contract
    _plant(copy, module, line)
    result = _lint(copy)
    assert result.returncode != 0
    assert any(broken in row and "BROKEN" in row for row in result.stdout.splitlines()), (
        result.stdout
    )
