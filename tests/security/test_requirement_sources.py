"""Requirement lines that name their own source (a local path, a version control URL, an index
or a folder of packages) are refused when an environment is registered or a run submitted,
and again when a worker would build them, unless an administrator allows them."""

from __future__ import annotations

import pytest

from runs import execution
from runs.models import StepRun
from studio.core.status import Status
from tests import factories
from tests.factories import run_body

pytestmark = pytest.mark.django_db

LINE = "git+https://github.com/o/mine.git#egg=mine"
INDEX = "--index-url http://127.0.0.1:9/simple"


def test_registering_an_environment_with_a_version_control_url_names_the_line(api, settings):
    body = {"name": "mine", "definition": {"name": "mine", "pip_packages": ["numpy", LINE]}}
    response = api.post("/api/environments/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "definition.pip_packages[1]"
    assert f"'{LINE}' installs from a version control URL" in error["message"]
    assert "STUDIO_ENV_ALLOW_CUSTOM_SOURCES=1" in error["message"]
    settings.STUDIO_ENV_ALLOW_CUSTOM_SOURCES = True  # an administrator allows them
    assert api.post("/api/environments/", body, format="json").status_code == 201


def test_submitting_a_step_whose_environment_names_an_index_names_the_line(api, snapshot, settings):
    body = run_body(snapshot)
    body["graph"]["steps"][1]["environment"] = {"name": "e", "pip_packages": [INDEX, "numpy"]}
    response = api.post("/api/runs/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "graph.steps[1].environment.pip_packages[0]"
    assert f"'{INDEX}' installs from a package index of its own" in error["message"]
    assert not StepRun.objects.exists()
    settings.STUDIO_ENV_ALLOW_CUSTOM_SOURCES = True  # an administrator allows them
    assert api.post("/api/runs/", body, format="json").status_code == 201


def test_a_step_accepted_while_they_were_allowed_is_not_built_once_they_are_not(settings):
    settings.STUDIO_ENV_ALLOW_CUSTOM_SOURCES = True
    step = factories.step("a", environment={"name": "e", "pip_packages": ["numpy", "./mine"]})
    run = factories.submitted({"steps": [step]})
    settings.STUDIO_ENV_ALLOW_CUSTOM_SOURCES = False
    queued = StepRun.objects.get(run=run)
    assert queued.status == Status.QUEUED
    execution.execute_step(queued.id)
    failed = StepRun.objects.get(id=queued.id)
    assert failed.status == Status.FAILED
    assert "environment.pip_packages[1]: './mine' installs from a local path" in failed.error
