"""The Environments page, and a step's environment and build log on the run page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from runs.models import StepRun
from studio.core.status import Status
from studio.workspace import environments as registry
from studio.workspace import storage
from studio.workspace.models import EnvironmentBuild
from tests import factories

pytestmark = pytest.mark.django_db

DEFINITION = {"name": "train-env", "python": "3.11", "pip_packages": ["scikit-learn==1.5"]}


def test_the_environments_page_lists_versions_builds_and_the_runs_that_used_them(client, alice):
    client.force_login(alice)
    version = registry.register("train-env", DEFINITION, user=alice)
    registry.build_started(version.build_hash, "worker-a", DEFINITION, ["scikit-learn==1.5"], "s")
    registry.build_finished(version.build_hash, "worker-a", True, "Built in 0.4 s.", "3.11.7", 2048)
    step = factories.step_in(Status.COMPLETED, owner=alice)
    StepRun.objects.filter(id=step.id).update(environment_hash=version.build_hash)
    page = client.get(reverse("environments")).content.decode()
    assert "train-env" in page and "scikit-learn==1.5" in page
    assert "Ready" in page and "worker-a" in page and "Built in 0.4 s." in page
    assert reverse("run-detail", args=[step.run_id]) in page


def test_a_failed_build_is_shown_with_its_log(client, alice):
    client.force_login(alice)
    registry.build_started("f" * 20, "worker-b", DEFINITION, ["nope==9"], "s")
    registry.build_finished("f" * 20, "worker-b", False, "error: No solution found")
    assert EnvironmentBuild.objects.get(build_hash="f" * 20).state == EnvironmentBuild.FAILED
    page = client.get(reverse("environments")).content.decode()
    assert "Failed" in page and "error: No solution found" in page


def test_a_preparing_step_shows_its_build_log_live(client, alice):
    client.force_login(alice)
    step = factories.step_in(Status.PREPARING, owner=alice)
    log = storage.step_log_dir(step.id) / "azureml-logs" / "20_image_build_log.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("Resolved 3 packages\n")
    page = client.get(reverse("run-detail", args=[step.run_id]), {"step": step.id}).content.decode()
    assert "Preparing" in page and "Resolved 3 packages" in page
    assert "file=azureml-logs/20_image_build_log.txt" in page.replace("%2F", "/")
    log.write_text("Resolved 3 packages\nInstalled 3 packages\n")
    tail = client.get(
        reverse("step-log-tail", args=[step.id]),
        {"offset": len("Resolved 3 packages\n"), "file": "azureml-logs/20_image_build_log.txt"},
    ).content.decode()
    assert "Installed 3 packages" in tail and "hx-get" in tail  # still live while Preparing
