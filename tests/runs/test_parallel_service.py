"""A ParallelRunStep's mini-batches in the database, as its workers share them: claimed with a
try number, a late report of a lost try changes nothing, failed tries are tried again up to
run_max_try, a later attempt reuses what an earlier one did."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from runs import execution, parallel
from runs.models import MiniBatch, StepRun
from studio.core.status import Status
from tests import factories

pytestmark = pytest.mark.django_db

SETTINGS = {
    "error_threshold": -1,
    "allowed_failed_count": None,
    "allowed_failed_percent": None,
    "run_max_try": 2,
}


@pytest.fixture
def step(alice, settings):
    settings.STUDIO_WORKER_TARGETS = ["*"]
    run = factories.submitted(factories.chain("a"), alice)
    claim = execution.claim_step(StepRun.objects.get(run=run, node_id="a").id)
    assert claim is not None
    return claim.step


def _plan(step, count=5):
    batches = [
        {"index": i, "key": f"k{i}", "items": 2, "message": {"index": i, "files": [f"f{i}"]}}
        for i in range(count)
    ]
    return parallel.plan(step, batches)


def test_mini_batches_are_stored_once_and_claimed_in_order_each_by_one_worker(step):
    assert _plan(step) == {"total": 5, "reused": 0}
    assert _plan(step) == {"total": 5, "reused": 0}  # a second plan finds them
    first = parallel.claim(step.id, step.attempt, "w1", 2)
    second = parallel.claim(step.id, step.attempt, "w2", 2)
    assert [b["index"] for b in first] == [0, 1] and [b["index"] for b in second] == [2, 3]
    assert all(b["tries"] == 1 for b in first + second)
    assert first[0]["message"] == {"index": 0, "files": ["f0"]}
    rows = MiniBatch.objects.filter(step=step).order_by("index")
    assert [r.worker for r in rows] == ["w1", "w1", "w2", "w2", ""]


def test_a_lost_workers_mini_batch_is_claimed_again_and_its_late_report_ignored(step, settings):
    _plan(step, 1)
    (lost,) = parallel.claim(step.id, step.attempt, "w1", 1)
    assert parallel.claim(step.id, step.attempt, "w2", 1) == []  # w1 is alive
    quiet = timezone.now() - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS + 1)
    MiniBatch.objects.filter(step=step).update(heartbeat_at=quiet)
    (again,) = parallel.claim(step.id, step.attempt, "w2", 1)
    assert again["tries"] == 2
    # The lost worker reports after all: its try is not the mini-batch's any more.
    parallel.report([{**lost, "ok": True, "count": 2, "rows": ["x", "y"], "process": 0}], 2)
    row = MiniBatch.objects.get(step=step)
    assert row.status == "running" and row.worker == "w2" and row.rows == ""
    parallel.report([{**again, "ok": True, "count": 2, "rows": ["a", "b"], "process": 1}], 2)
    row.refresh_from_db()
    assert (row.status, row.rows, row.process) == ("done", "a\nb", 1)
    assert [r["rows"] for r in parallel.results(step.id, step.attempt)] == [["a", "b"]]


def test_a_beat_keeps_a_slow_mini_batch_with_its_worker(step, settings):
    _plan(step, 1)
    parallel.claim(step.id, step.attempt, "w1", 1)
    quiet = timezone.now() - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS + 1)
    MiniBatch.objects.filter(step=step).update(heartbeat_at=quiet)
    parallel.beat(step.id, step.attempt, "w1")
    assert parallel.claim(step.id, step.attempt, "w2", 1) == []


@pytest.mark.django_db(transaction=True)
def test_a_beat_passes_over_a_mini_batch_being_reported(step, settings):
    """A report's transaction holds its rows; a beat that waited for them, holding others the
    report wants next, deadlocked on PostgreSQL and ended the worker's feed."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    _plan(step, 2)
    parallel.claim(step.id, step.attempt, "w1", 2)
    quiet = timezone.now() - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS + 1)
    MiniBatch.objects.filter(step=step).update(heartbeat_at=quiet)
    first = MiniBatch.objects.get(step=step, index=0)
    params = connection.get_connection_params()
    with psycopg.connect(**params) as other:
        other.execute("SELECT id FROM runs_minibatch WHERE id = %s FOR UPDATE", [first.id])
        beating = threading.Thread(target=parallel.beat, args=(step.id, step.attempt, "w1"))
        beating.start()
        beating.join(timeout=10)
        waited = beating.is_alive()
        other.rollback()
    beating.join()
    assert not waited, "the beat waited for a locked mini-batch"
    beats = dict(MiniBatch.objects.filter(step=step).values_list("index", "heartbeat_at"))
    assert beats[0] == quiet and beats[1] > quiet


def test_a_failed_try_is_tried_again_up_to_run_max_try_then_counted(step):
    _plan(step, 1)
    for tries, status in [(1, "pending"), (2, "failed")]:
        (batch,) = parallel.claim(step.id, step.attempt, "w1", 1)
        assert batch["tries"] == tries
        parallel.report([{**batch, "ok": False, "error": "ValueError: bad", "process": 0}], 2)
        assert MiniBatch.objects.get(step=step).status == status
    counts = parallel.progress(step.id, step.attempt)
    assert (counts["failed"], counts["failed_items"], counts["retried"]) == (1, 2, 1)
    assert parallel.failed_batches(step.id, step.attempt)[0]["error"] == "ValueError: bad"
    reason = parallel.stop_reason(step.id, step.attempt, {**SETTINGS, "error_threshold": 1}, counts)
    assert reason == "2 failed items is more than error_threshold 1"
    assert parallel.stop_reason(step.id, step.attempt, SETTINGS, counts) is None


def test_claimed_and_not_begun_mini_batches_go_back_uncounted(step):
    _plan(step, 2)
    claimed = parallel.claim(step.id, step.attempt, "w1", 2)
    parallel.release(step.id, step.attempt, claimed)
    again = parallel.claim(step.id, step.attempt, "w2", 2)
    assert [b["tries"] for b in again] == [1, 1]


def test_a_canceled_step_stops_its_workers(step):
    _plan(step, 1)
    counts = parallel.progress(step.id, step.attempt)
    assert parallel.stop_reason(step.id, step.attempt, SETTINGS, counts) is None
    StepRun.objects.filter(id=step.id).update(status=Status.CANCEL_REQUESTED)
    assert parallel.stop_reason(step.id, step.attempt, SETTINGS, counts) is not None


def test_a_later_attempt_reuses_the_mini_batches_done_with_the_same_content(step):
    _plan(step, 3)
    for batch in parallel.claim(step.id, step.attempt, "w1", 2):
        rows = [f"row {batch['index']}"]
        parallel.report([{**batch, "ok": True, "count": 1, "rows": rows, "process": 0}], 2)
    StepRun.objects.filter(id=step.id).update(attempt=2)
    step.refresh_from_db()
    batches = [
        {"index": 0, "key": "k0", "items": 2, "message": {}},
        {"index": 1, "key": "changed", "items": 2, "message": {}},  # other files
        {"index": 2, "key": "k2", "items": 2, "message": {}},
    ]
    assert parallel.plan(step, batches) == {"total": 3, "reused": 1}
    results = list(parallel.results(step.id, 2))
    assert [r["status"] for r in results] == ["reused", "pending", "pending"]
    assert results[0]["rows"] == ["row 0"] and results[0]["count"] == 1
