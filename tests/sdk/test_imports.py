"""The Django-free core: importing it in a fresh interpreter loads no Django module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m == "django" or m.startswith("django."))))
"""


def _django_modules_loaded_by(module: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [str(PYTHON if PYTHON.exists() else sys.executable), "-c", PROBE, module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "module",
    [
        *(f"studio.core.{p.stem}" for p in sorted((ROOT / "studio" / "core").glob("[!_]*.py"))),
        "studio.sdk.core",
        "studio.sdk.data",
        "studio.sdk.pipeline.core",
        "studio.sdk.pipeline.steps",
        "studio.sdk.widgets",
        "studio.sdk.train.estimator",
        "runs.logs",
        "runs.executor",
        "runs.charts",
        "studio.env",
    ],
)
def test_it_imports_without_loading_django(module):
    assert _django_modules_loaded_by(module) == []


def test_the_probe_does_see_django_when_a_module_needs_it():
    assert "django" in _django_modules_loaded_by("django.conf")
