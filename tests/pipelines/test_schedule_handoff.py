"""The scheduler hands pending fires to workers; each fire still starts exactly one run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines import scheduling
from pipelines import services as pipeline_services
from pipelines.models import ScheduleFire
from runs.models import Run, StepRun
from studio.core.status import Status
from tests import factories

pytestmark = pytest.mark.django_db

DIGEST = "d" * 64


@pytest.fixture
def fire(alice):
    run = factories.submitted(factories.chain("a"), alice, experiment="handoff")
    published = pipeline_services.publish_graph(graph=run.graph, name="handoff", user=alice)
    schedule = scheduling.create_schedule(
        scheduling.ScheduleInput(
            name="daily",
            experiment_name="handoff",
            published_pipeline=published,
            recurrence={"frequency": "Day", "interval": 1},
        ),
        user=alice,
    )
    assert scheduling.record_due_fires(timezone.now() + timedelta(days=2)) == 1
    return ScheduleFire.objects.get(schedule=schedule)


def test_a_pending_fire_is_handed_once_and_again_only_when_its_message_may_be_lost(fire):
    assert scheduling.hand_off_pending() == 1
    fire.refresh_from_db()
    assert fire.status == "pending" and fire.handed_at is not None
    assert scheduling.hand_off_pending() == 0  # handed a moment ago: its task is on its way

    ScheduleFire.objects.filter(id=fire.id).update(
        handed_at=timezone.now() - scheduling.HANDOFF_RETRY - timedelta(seconds=1)
    )
    assert scheduling.hand_off_pending() == 1


def test_a_fire_dispatched_twice_starts_one_run(fire):
    before = Run.objects.count()
    assert scheduling.dispatch_fire(fire.id) == 1
    assert scheduling.dispatch_fire(fire.id) == 0
    fire.refresh_from_db()
    assert fire.status == "submitted" and fire.run is not None
    assert Run.objects.count() == before + 1
    assert fire.run.tags["schedule"] == "daily"
    assert scheduling.hand_off_pending() == 0  # nothing pending any more


def test_an_idle_tick_records_and_hands_nothing(fire):
    scheduling.dispatch_fire(fire.id)
    # The runs left their first steps owed a message (in a test no commit ever sends it): the
    # tick sends them, once.
    owed = StepRun.objects.filter(status=Status.QUEUED, rung_at__isnull=True).count()
    assert owed == 2
    assert scheduling.tick(timezone.now()) == {
        "recorded": 0,
        "changes": 0,
        "handed": 0,
        "rung": owed,
    }
    assert scheduling.tick(timezone.now())["rung"] == 0
