"""The outbox of step messages: a queued step is owed its message until one sender takes it;
a broker that refuses it leaves it owed; a message no worker took is sent again, less and
less often."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from runs import services, transitions
from runs.models import StepRun
from studio.core.status import Status
from tests import factories

pytestmark = pytest.mark.django_db


def _owed() -> list[str]:
    return list(
        StepRun.objects.filter(status=Status.QUEUED, rung_at__isnull=True).values_list(
            "id", flat=True
        )
    )


def test_a_queued_step_is_owed_its_message_until_one_sender_takes_it(alice):
    step = factories.step_in(Status.QUEUED, owner=alice)
    assert _owed() == [step.id]  # queued in its run's transaction; no commit has sent it here
    assert services.ring_pending() == 1
    assert _owed() == []
    assert services.ring_pending() == 0  # sent once, however many ticks
    assert not transitions.ring(step.id, timezone.now())  # and no other sender takes it


def test_a_step_queued_again_is_owed_a_message_again(alice):
    step = factories.step_in(Status.NOT_STARTED, owner=alice)
    StepRun.objects.filter(id=step.id).update(rung_at=timezone.now())
    transitions.queue([step.id], timezone.now())
    assert _owed() == [step.id]


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("filesystem://"),
    reason="breaks the embedded broker's folder (tests/reliability stops a Redis)",
)
def test_a_message_the_broker_refuses_stays_owed_until_it_takes_it(alice):
    step = factories.step_in(Status.QUEUED, owner=alice)
    queue = settings.BROKER_DIR / "queue"
    away = queue.with_name("queue.away")
    queue.rename(away)
    try:
        queue.write_text("not a folder")
        assert services.ring_pending() == 0
        assert _owed() == [step.id]
    finally:
        queue.unlink()
        away.rename(queue)
    assert services.ring_pending() == 1
    assert _owed() == []


def test_a_message_no_worker_took_is_rung_again_after_a_wait_that_grows(alice, settings):
    settings.STUDIO_RERING_SECONDS = 15
    now = timezone.now()

    def queued(waited: int, rung_ago: int) -> StepRun:
        step = factories.step_in(Status.QUEUED, owner=alice)
        StepRun.objects.filter(id=step.id).update(
            queued_at=now - timedelta(seconds=waited),
            rung_at=now - timedelta(seconds=rung_ago),
        )
        return step

    fresh = queued(waited=10, rung_ago=10)  # sent 10 s ago: not yet
    first = queued(waited=20, rung_ago=20)  # sent once, 20 s ago: again
    waiting = queued(waited=100, rung_ago=30)  # waited 70 s before its last ring: not yet
    long_waiting = queued(waited=100, rung_ago=60)  # waited 40 s before it, rung 60 s ago
    backlog = queued(waited=7200, rung_ago=400)  # waits at most 5 minutes between rings
    services.reap_lost_steps()
    rung = {
        step.id: StepRun.objects.get(id=step.id).rung_at > now - timedelta(seconds=5)
        for step in (fresh, first, waiting, long_waiting, backlog)
    }
    assert rung == {
        fresh.id: False,
        first.id: True,
        waiting.id: False,
        long_waiting.id: True,
        backlog.id: True,
    }
    # The queue time stays what it was: "why not reused" orders earlier runs by it.
    assert StepRun.objects.get(id=first.id).queued_at == now - timedelta(seconds=20)
