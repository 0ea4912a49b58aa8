"""List pages answer with a fixed number of queries, whatever the number of runs."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from runs.models import Run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    user = get_user_model().objects.create_superuser("boss", password="x" * 12)
    client = Client()
    client.force_login(user)
    return client


def _generate(runs: int) -> None:
    call_command(
        "generate_runs",
        runs=runs,
        steps=10,
        experiments=3,
        big_run_steps=200,
        batch=500,
        stdout=open("/dev/null", "w"),
    )


@pytest.mark.parametrize("runs", [30, 300])
def test_the_runs_list_costs_the_same_queries_for_few_and_many_runs(
    admin_client, django_assert_max_num_queries, runs
):
    _generate(runs)
    with django_assert_max_num_queries(8):
        page = admin_client.get("/runs/?metric=accuracy&col=status&col=experiment&col=duration")
    assert page.status_code == 200 and page.content.count(b'name="runs"') == 25
    with django_assert_max_num_queries(8):
        assert admin_client.get("/runs/?status=Failed&sort=-duration").status_code == 200
    with django_assert_max_num_queries(8):
        assert admin_client.get("/experiments/generated-001/?q=generated").status_code == 200


def test_keyset_pages_walk_every_run_once(admin_client):
    _generate(60)
    seen, url = [], "/runs/?sort=-start"
    while url:
        page = admin_client.get(url)
        seen += [
            line.split('value="')[1].split('"')[0]
            for line in page.content.decode().splitlines()
            if 'name="runs"' in line
        ]
        marker = (
            page.content.decode().split('rel="next"')[0].rsplit('href="', 1)[-1]
            if 'rel="next"' in page.content.decode()
            else None
        )
        url = "/runs/" + marker.split('"')[0].replace("&amp;", "&") if marker else None
    assert len(seen) == len(set(seen)) == Run.objects.count()


def test_the_run_page_of_a_200_step_pipeline_and_the_compare_page_are_bounded(
    admin_client, django_assert_max_num_queries
):
    _generate(20)
    big = Run.objects.get(description="200 steps")
    for tab in ("logs", "metrics", "overview", "parameters"):
        with django_assert_max_num_queries(12):
            assert admin_client.get(f"/runs/{big.id}/?tab={tab}").status_code == 200
    ids = list(Run.objects.exclude(pk=big.pk).values_list("id", flat=True)[:5])
    with django_assert_max_num_queries(8):
        page = admin_client.get("/compare/?" + "&".join(f"runs={i}" for i in ids))
    assert page.status_code == 200
    with django_assert_max_num_queries(12):
        assert admin_client.get("/").status_code == 200
