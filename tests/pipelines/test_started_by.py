"""The run page says what started a run: the schedule, the endpoint and the endpoint's version,
and the published pipeline, each linked."""

from __future__ import annotations

import pytest

from pipelines import scheduling, services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint_v1(alice):
    """An endpoint whose version 1 is the "scoring v2" pipeline (version 0 is "scoring")."""
    first = services.publish_run(
        factories.submitted(factories.chain("a"), alice), user=alice, name="scoring"
    )
    second = services.publish_run(
        factories.submitted(factories.chain("a", "b"), alice), user=alice, name="scoring v2"
    )
    endpoint = services.publish_endpoint(name="scorer", description="", pipeline=first, user=alice)
    services.add_endpoint_version(endpoint, second, make_default=True)
    return endpoint, second


def test_a_run_started_through_an_endpoint_names_its_version(client, alice, endpoint_v1):
    endpoint, pipeline = endpoint_v1
    run, _ = services.submit_published(
        pipeline, experiment_name="scored", endpoint=endpoint, user=alice
    )
    assert run.source["pipeline_endpoint"] == {
        "id": str(endpoint.id),
        "name": "scorer",
        "version": "1",
    }
    client.force_login(alice)
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert "Started by" in page
    assert f'endpoint <a href="/endpoints/{endpoint.id}/">scorer</a> version 1' in page
    assert f'published pipeline <a href="/pipelines/{pipeline.id}/">' in page


def test_a_run_started_by_a_schedule_links_the_schedule(client, alice, endpoint_v1):
    _, pipeline = endpoint_v1
    schedule = scheduling.create_schedule(
        scheduling.ScheduleInput(
            name="nightly",
            experiment_name="scored",
            published_pipeline=pipeline,
            recurrence={"frequency": "Day", "interval": 1},
        ),
        user=alice,
    )
    run, _ = services.submit_published(
        pipeline, experiment_name="scored", schedule=schedule, user=alice
    )
    client.force_login(alice)
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert f'schedule <a href="/schedules/{schedule.id}/">nightly</a>' in page
    assert "endpoint <a" not in page


def test_a_run_from_the_sdk_says_nothing_started_it(client, alice):
    run = factories.submitted(factories.chain("a"), alice)
    client.force_login(alice)
    assert "Started by" not in client.get(f"/runs/{run.id}/").content.decode()
