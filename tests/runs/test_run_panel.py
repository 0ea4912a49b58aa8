"""The run page's step panel: a step or tab asked for by htmx draws the panel alone, and the
live refresh reads the picked step from the page's address."""

from __future__ import annotations

import pytest
from django.test import Client

from runs.models import StepRun
from studio.core.status import Status
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(alice):
    return factories.submitted(factories.chain("prepare", "train", "score"), alice)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _panel_request(client, run, step, tab):
    return client.get(
        f"/runs/{run.id}/",
        {"step": step.id, "tab": tab},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="step-panel",
        HTTP_HX_CURRENT_URL=f"http://testserver/runs/{run.id}/",
    )


@pytest.mark.parametrize("tab", ["overview", "parameters", "data", "logs", "metrics"])
def test_a_step_asked_for_by_htmx_gets_the_panel_alone(
    alice, run, tab, django_assert_max_num_queries
):
    client = _client(alice)
    train = StepRun.objects.get(run=run, node_id="train")
    with django_assert_max_num_queries(12):
        response = _panel_request(client, run, train, tab)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<section") and "<html" not in html
    assert 'id="step-panel"' in html and f'data-step="{train.id}"' in html
    assert 'aria-selected="true" class="active"' in html
    assert f"tab={tab}" in html.split('class="active"')[0].rsplit("<a", 1)[1]
    assert "pipeline-graph" not in html  # the graph is not drawn again


def test_a_full_page_has_the_panel_with_links_that_load_it_in_place(alice, run):
    html = _client(alice).get(f"/runs/{run.id}/").content.decode()
    train = StepRun.objects.get(run=run, node_id="train")
    assert (
        f'hx-get="?step={train.id}" hx-target="#step-panel" hx-swap="outerHTML settle:0ms"' in html
    )
    assert 'hx-history="false"' in html  # back and forward load the page again


def test_the_live_refresh_keeps_the_step_the_address_names(alice, run):
    client = _client(alice)
    prepare, train = (StepRun.objects.get(run=run, node_id=n) for n in ("prepare", "train"))
    StepRun.objects.filter(id=prepare.id).update(status=Status.RUNNING)
    poll = {"partial": "status", "shown": prepare.id}
    # Picked in the page (the address says so): the table marks it; the panel is not moved.
    picked = client.get(
        f"/runs/{run.id}/",
        poll,
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/runs/{run.id}/?step={train.id}&tab=data",
    )
    assert picked.status_code == 200 and "HX-Location" not in picked
    assert (
        f'data-step="{train.id}" data-name="train" data-status="NotStarted" class="selected"'
        in (picked.content.decode())
    )
    # Not picked, and the running step is another one than shown: the page follows it.
    StepRun.objects.filter(id=prepare.id).update(status=Status.COMPLETED)
    StepRun.objects.filter(id=train.id).update(status=Status.RUNNING)
    followed = client.get(
        f"/runs/{run.id}/",
        poll,
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/runs/{run.id}/",
    )
    assert followed.headers["HX-Location"].startswith('{"path": "/runs/')
