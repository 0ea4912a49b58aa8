"""Live lists: Home's "In progress", the runs lists, a schedule's history and Compute ask again
while something goes on, answer 304 for next to nothing when nothing changed, and stop polling
once nothing goes on."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from pipelines.models import Schedule, ScheduleFire
from pipelines.services import publish_run
from runs.models import Metric, Run, StepRun
from studio.core.status import Status
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# Every signed-in request reads its session and its user before the view runs.
SIGNED_IN = 2


@pytest.fixture
def client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def _run(status: Status, experiment: str = "live", description: str = "") -> Run:
    run = factories.submitted(
        factories.chain("train"), experiment=experiment, description=description
    )
    Run.objects.filter(id=run.id).update(status=status, started_at=timezone.now())
    return run


def _finish(run: Run) -> None:
    Run.objects.filter(id=run.id).update(status=Status.COMPLETED, ended_at=timezone.now())


def _refresh(client: Client, url: str, etag: str | None = None):
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return client.get(url, **HTMX, **headers)


def _polls(html: str, element_id: str) -> bool:
    start = html.index(f'id="{element_id}"')
    return 'hx-trigger="every 2s"' in html[start : html.index(">", start)]


def test_the_runs_list_refresh_costs_one_query_when_nothing_changed(
    client, django_assert_max_num_queries
):
    for _ in range(3):
        _finish(_run(Status.RUNNING))
    running = _run(Status.RUNNING)
    page = client.get("/runs/")
    assert _polls(page.content.decode(), "runs-rows")
    etag = page.content.decode().split('data-etag="')[1].split('"')[0].replace("&quot;", '"')

    with django_assert_max_num_queries(SIGNED_IN + 1):
        unchanged = _refresh(client, "/runs/?partial=rows", etag)
    assert unchanged.status_code == 304 and unchanged["ETag"] == etag and not unchanged.content

    _finish(running)
    with django_assert_max_num_queries(SIGNED_IN + 3):
        changed = _refresh(client, "/runs/?partial=rows", etag)
    # Nothing goes on any more: the last answer is drawn and stops the polling (htmx's 286).
    assert changed.status_code == 286 and changed["ETag"] != etag
    assert "Completed" in changed.content.decode() and "Running" not in changed.content.decode()
    assert not _polls(changed.content.decode(), "runs-rows")


def test_a_refresh_that_finds_a_change_answers_the_new_rows_and_keeps_polling(client):
    _run(Status.RUNNING, description="first")
    page = client.get("/runs/")
    tag = page.content.decode().split('data-etag="')[1].split('"')[0].replace("&quot;", '"')
    _run(Status.RUNNING, description="second")
    changed = _refresh(client, "/runs/?partial=rows", tag)
    assert changed.status_code == 200
    html = changed.content.decode()
    assert "second" in html and "first" in html and _polls(html, "runs-rows")
    # A run that goes on shows a duration that counts up in the page.
    assert 'class="ticking" data-since="' in html


def test_metric_columns_change_the_answer_while_a_run_goes_on(
    client, django_assert_max_num_queries
):
    run = _run(Status.RUNNING)
    step = StepRun.objects.get(run=run)
    Metric.objects.create(step_run=step, name="loss", value=0.5)
    url = "/runs/?metric=loss&partial=rows"
    first = _refresh(client, url)
    with django_assert_max_num_queries(SIGNED_IN + 2):
        assert _refresh(client, url, first["ETag"]).status_code == 304
    Metric.objects.create(step_run=step, name="loss", value=0.25)
    again = _refresh(client, url, first["ETag"])
    assert again.status_code == 200 and "0.25" in again.content.decode()


def test_run_level_metric_columns_change_the_answer_while_a_run_goes_on(
    client, django_assert_max_num_queries
):
    run = _run(Status.RUNNING)
    Metric.objects.create(run=run, name="best", value=0.5)
    url = "/runs/?run_metric=best&partial=rows"
    first = _refresh(client, url)
    assert "best (run)" in first.content.decode()
    with django_assert_max_num_queries(SIGNED_IN + 2):
        assert _refresh(client, url, first["ETag"]).status_code == 304
    Metric.objects.create(run=run, name="best", value=0.25)
    again = _refresh(client, url, first["ETag"])
    assert again.status_code == 200 and '<td class="num">0.25</td>' in again.content.decode()


def test_a_refresh_keeps_filters_columns_and_the_keyset_page(client):
    for number in range(30):
        _run(Status.RUNNING, experiment="many", description=f"run-{number}")
    _run(Status.RUNNING, experiment="other", description="elsewhere")
    first = client.get(
        "/runs/?experiment=many&col=status&col=tags&metrics=loss&run_metrics=best"
    ).content.decode()
    after = first.split('rel="next"')[0].rsplit("after=", 1)[1].split('"')[0]
    page = client.get(
        f"/experiments/many/?col=status&col=tags&metric=loss&run_metric=best&after={after}"
    )
    html = page.content.decode()
    refresh_url = html.split('id="runs-rows" hx-get="')[1].split('"')[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(refresh_url).query) == {
        "after": parse_qs(f"after={after}")["after"],
        "col": ["status", "tags"],
        "metric": ["loss"],
        "run_metric": ["best"],
        "partial": ["rows"],
    }
    refreshed = _refresh(client, "/experiments/many/" + refresh_url).content.decode()
    assert refreshed.count('name="runs"') == 5  # the second page: runs 5..1 of 30
    assert "elsewhere" not in refreshed and "<th>Tags</th>" in refreshed
    assert "best (run)</th>" in refreshed
    assert 'id="runs-pager" aria-label="Pages" hx-swap-oob="true"' in refreshed


def test_the_list_does_not_poll_when_nothing_goes_on(client):
    _finish(_run(Status.RUNNING))
    html = client.get("/runs/").content.decode()
    assert not _polls(html, "runs-rows")


def test_home_in_progress_is_live_while_a_run_goes_on(client, django_assert_max_num_queries):
    run = _run(Status.RUNNING)
    html = client.get("/").content.decode()
    assert _polls(html, "in-progress")
    tag = html.split('data-etag="')[1].split('"')[0].replace("&quot;", '"')
    with django_assert_max_num_queries(SIGNED_IN + 1):
        assert _refresh(client, "/?partial=running", tag).status_code == 304
    _finish(run)
    with django_assert_max_num_queries(SIGNED_IN + 1):
        last = _refresh(client, "/?partial=running", tag)
    assert last.status_code == 286 and "Nothing is running." in last.content.decode()
    assert not _polls(client.get("/").content.decode(), "in-progress")


def test_compute_is_live_while_a_step_waits_or_runs(client, django_assert_max_num_queries):
    run = _run(Status.RUNNING)
    StepRun.objects.filter(run=run).update(status=Status.QUEUED)
    html = client.get("/compute/").content.decode()
    assert _polls(html, "compute-rows")
    tag = html.split('data-etag="')[1].split('"')[0].replace("&quot;", '"')
    with django_assert_max_num_queries(SIGNED_IN + 2):
        assert _refresh(client, "/compute/?partial=targets", tag).status_code == 304
    StepRun.objects.filter(run=run).update(status=Status.COMPLETED)
    last = _refresh(client, "/compute/?partial=targets", tag)
    assert last.status_code == 286 and not _polls(last.content.decode(), "compute-rows")


def test_a_schedule_history_is_live_while_its_run_goes_on(
    client, alice, django_assert_max_num_queries
):
    run = _run(Status.RUNNING)
    published = publish_run(run, user=alice, name="nightly")
    schedule = Schedule.objects.create(
        name="every hour",
        kind="recurrence",
        published_pipeline=published,
        experiment_name="live",
        recurrence={"frequency": "Hour", "interval": 1},
        status="Disabled",
    )
    ScheduleFire.objects.create(
        schedule=schedule,
        fire_time=timezone.now() - timedelta(minutes=1),
        status="submitted",
        run=run,
    )
    url = f"/schedules/{schedule.id}/"
    html = client.get(url).content.decode()
    assert _polls(html, "schedule-history")
    tag = html.split('data-etag="')[1].split('"')[0].replace("&quot;", '"')
    with django_assert_max_num_queries(SIGNED_IN + 1):
        assert _refresh(client, url + "?partial=history", tag).status_code == 304
    _finish(run)
    last = _refresh(client, url + "?partial=history", tag)
    assert last.status_code == 286 and "Completed" in last.content.decode()
    assert not _polls(last.content.decode(), "schedule-history")
