"""The HTML pages: signed-in users see them, anonymous visitors are sent to sign in."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db

DIGEST = "e" * 64


@pytest.fixture
def run(alice):
    return factories.submitted(
        {
            "parameters": [{"name": "note", "type": "str", "default": "<b>bold</b>"}],
            "steps": [factories.step("train", name="train<i>", script="train.py")],
        },
        alice,
        experiment="mnist",
        description="<script>alert(1)</script>",
    )


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_experiments_send_an_anonymous_visitor_to_sign_in(run):
    response = Client().get("/experiments/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/experiments/"


def test_experiments_list_the_experiments_for_a_signed_in_user(alice, run):
    response = _signed_in(alice).get("/experiments/")
    assert response.status_code == 200
    assert b'href="/experiments/mnist/"' in response.content


def test_experiments_show_an_empty_workspace(alice):
    response = _signed_in(alice).get("/experiments/")
    assert response.status_code == 200
    assert b"No experiments yet" in response.content


def test_the_login_page_renders(db):
    response = Client().get("/login/?next=/experiments/")
    assert response.status_code == 200
    assert b'name="next" value="/experiments/"' in response.content


def test_the_home_page_is_a_dashboard_for_signed_in_users(alice):
    assert Client().get("/")["Location"] == "/login/?next=/"
    page = _signed_in(alice).get("/")
    assert page.status_code == 200
    assert b"Runs by status" in page.content and b"Schedules firing next" in page.content


def test_an_experiments_runs_send_an_anonymous_visitor_to_sign_in(run):
    response = Client().get("/experiments/mnist/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_experiments_runs_list_its_runs_with_the_description_escaped(alice, run):
    response = _signed_in(alice).get("/experiments/mnist/")
    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_an_unknown_experiment_is_404(alice):
    assert _signed_in(alice).get("/experiments/nothing/").status_code == 404


def test_a_run_sends_an_anonymous_visitor_to_sign_in(run):
    response = Client().get(f"/runs/{run.id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_run_renders_for_its_owner_with_user_data_escaped(alice, run):
    response = _signed_in(alice).get(f"/runs/{run.id}/")
    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
    assert b"<b>bold</b>" not in response.content
    assert b"train<i>" not in response.content
    assert b'id="graph-data"' in response.content


def test_cancelling_a_run_from_the_page_needs_a_post(alice, run):
    client = _signed_in(alice)
    assert client.get(f"/runs/{run.id}/cancel/").status_code == 405
    response = client.post(f"/runs/{run.id}/cancel/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.cancel_requested or run.is_finished


def test_cancelling_a_run_sends_an_anonymous_visitor_to_sign_in(run):
    response = Client().post(f"/runs/{run.id}/cancel/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    run.refresh_from_db()
    assert not run.cancel_requested


def test_compute_targets_render_for_a_signed_in_user_only(alice, run):
    assert Client().get("/compute/").status_code == 302
    response = _signed_in(alice).get("/compute/")
    assert response.status_code == 200
    assert b"local" in response.content
