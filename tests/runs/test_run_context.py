"""A run's display name and tags: set over the API (PATCH, what the SDK sends) and from the run
page's form, by its owner, an admin or a step of the run; shown by the pages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from runs.models import Run, StepRun
from studio.core.status import Status
from studio.workspace.auth import issue_run_token
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(alice):
    return factories.submitted(
        factories.chain("a"), alice, experiment="context", tags={"team": "risk"}
    )


def test_the_owner_names_a_run_and_changes_its_tags(api, run):
    answer = api.patch(
        f"/api/runs/{run.id}/",
        {"display_name": "  baseline  ", "tags": {"stage": "dev"}},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["display_name"] == "baseline"
    assert answer.json()["tags"] == {"team": "risk", "stage": "dev"}
    answer = api.patch(f"/api/runs/{run.id}/", {"remove_tags": ["team"]}, format="json")
    assert answer.json()["tags"] == {"stage": "dev"}
    assert answer.json()["display_name"] == "baseline"  # what is not given is kept
    run.refresh_from_db()
    assert (run.title, run.tags) == ("baseline", {"stage": "dev"})
    api.patch(f"/api/runs/{run.id}/", {"display_name": ""}, format="json")
    run.refresh_from_db()
    assert run.title == "Run 1"


def test_bad_names_and_tags_are_refused_with_the_field(api, run):
    answer = api.patch(f"/api/runs/{run.id}/", {"display_name": "x" * 256}, format="json")
    assert answer.status_code == 400 and "display_name" in answer.content.decode()
    answer = api.patch(f"/api/runs/{run.id}/", {"tags": {"": "x"}}, format="json")
    assert answer.status_code == 400
    answer = api.patch(f"/api/runs/{run.id}/", {"tags": ["a"]}, format="json")
    assert answer.status_code == 400
    run.refresh_from_db()
    assert (run.display_name, run.tags) == ("", {"team": "risk"})


def test_another_user_or_a_read_token_may_not_change_a_run(run, bob, alice):
    other = factories.client_for(bob, scope="submit")
    assert (
        other.patch(f"/api/runs/{run.id}/", {"display_name": "mine"}, format="json").status_code
        == 403
    )
    reader = factories.client_for(alice, scope="read")
    assert (
        reader.patch(f"/api/runs/{run.id}/", {"display_name": "x"}, format="json").status_code
        == 403
    )
    admin = factories.client_for(factories.user("root", superuser=True))
    assert (
        admin.patch(f"/api/runs/{run.id}/", {"display_name": "ok"}, format="json").status_code
        == 200
    )


def test_a_running_step_tags_its_own_pipeline_run_but_not_another(run, alice):
    step = StepRun.objects.get(run=run)
    StepRun.objects.filter(id=step.id).update(status=Status.RUNNING, attempt=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_run_token(step.id, 1, alice.id)}")
    answer = client.patch(f"/api/runs/{run.id}/", {"tags": {"best": "yes"}}, format="json")
    assert answer.status_code == 200, answer.content
    other = factories.submitted(factories.chain("a"), alice, experiment="context")
    answer = client.patch(f"/api/runs/{other.id}/", {"tags": {"best": "yes"}}, format="json")
    assert answer.status_code == 403
    assert Run.objects.get(id=other.id).tags == {}


def test_the_run_page_form_sets_the_name_and_the_whole_tag_set(client, alice, run):
    client.force_login(alice)
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert "Edit name and tags" in page and "team: risk" in page
    answer = client.post(
        f"/runs/{run.id}/context/",
        {"display_name": "champion", "tags": "stage=prod\nnote=a=b\n\n"},
    )
    assert answer.status_code == 302
    run.refresh_from_db()
    assert run.display_name == "champion"
    assert run.tags == {"stage": "prod", "note": "a=b"}  # team removed: the form holds them all
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert "<h1>champion <small>Run 1</small>" in page
    assert "champion" in client.get("/runs/").content.decode()
    assert "champion" in client.get("/runs/", {"q": "champ"}).content.decode()


def test_only_who_may_change_the_run_sees_or_uses_the_form(client, bob, run):
    client.force_login(bob)
    assert "Edit name and tags" not in client.get(f"/runs/{run.id}/").content.decode()
    assert client.post(f"/runs/{run.id}/context/", {"display_name": "x"}).status_code == 403
    run.refresh_from_db()
    assert run.display_name == ""
