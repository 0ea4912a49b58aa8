"""The state machine: each transition moves a step or a run from its states only, and
refuses (moving nothing) from every other state, or from another attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs import transitions
from runs.models import Run, StepRun
from studio.core.status import TERMINAL, Status
from tests import factories

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def original(alice):
    """A completed step whose outputs a reuse takes."""
    step = factories.step_in(Status.COMPLETED, node_id="done", owner=alice)
    StepRun.objects.filter(id=step.id).update(outputs={"model": {"datastore": "d", "path": "p"}})
    step.refresh_from_db()
    return step


def _call(name: str, step: StepRun, original: StepRun | None = None) -> bool:
    """Each step transition, called as the engine calls it, for ``step`` at its attempt."""
    calls = {
        "queue": lambda: transitions.queue([step.id], NOW) == 1,
        "fingerprint": lambda: transitions.record_fingerprint(step.id, {"fingerprint": "f" * 64}),
        "ring": lambda: transitions.ring(step.id, NOW),
        "ring_again": lambda: transitions.ring_again([step.id], NOW) == 1,
        "unring": lambda: transitions.unring([step.id]) == 1,
        "claim": lambda: transitions.claim(step.id, NOW),
        "prepare": lambda: transitions.prepare(step.id, step.attempt),
        "prepared": lambda: transitions.prepared(step.id, step.attempt),
        "start": lambda: transitions.start(step.id, step.attempt, pid=4242),
        "heartbeat": lambda: transitions.heartbeat(step.id, step.attempt, NOW),
        "reuse": lambda: transitions.reuse(step.id, original, {"fingerprint": "f" * 64}, NOW),
        "fail": lambda: transitions.fail(step.id, "inputs unreadable", NOW),
        "finish": lambda: transitions.finish(step.id, step.attempt, Status.COMPLETED, NOW),
        "cancel": lambda: transitions.cancel(step.id, "upstream failed", NOW),
        "request_cancel": lambda: transitions.request_cancel(step.run) == 1,
        "lose": lambda: transitions.lose(step.id, step.attempt, Status(step.status), NOW),
        "requeue": lambda: transitions.requeue(step.id, step.attempt, NOW),
        "renew": lambda: transitions.renew(step.id, step.attempt, Status(step.status), NOW),
    }
    return calls[name]()


EXPECTED_TARGET = {
    "queue": Status.QUEUED,
    "claim": Status.RUNNING,
    "prepare": Status.PREPARING,
    "prepared": Status.RUNNING,
    "reuse": Status.COMPLETED,
    "fail": Status.FAILED,
    "finish": Status.COMPLETED,
    "cancel": Status.CANCELED,
    "request_cancel": Status.CANCEL_REQUESTED,
    "requeue": Status.QUEUED,
}


def _row(step: StepRun) -> dict:
    return StepRun.objects.filter(id=step.id).values().get()


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("name", list(transitions.STEP))
def test_a_step_transition_moves_from_its_states_and_refuses_every_other(
    name, status, alice, original
):
    step = factories.step_in(status, attempt=1, owner=alice)
    if name == "unring":  # what it moves is a step whose message was taken for sending
        StepRun.objects.filter(id=step.id).update(rung_at=NOW)
    before = _row(step)
    moved = _call(name, step, original)
    after = _row(step)
    transition = transitions.STEP[name]
    if status in transition.sources:
        assert moved, f"{name} should move a step from {status}"
        assert after["status"] in transition.targets
        if name in EXPECTED_TARGET:
            assert after["status"] == EXPECTED_TARGET[name]
        elif name == "lose":
            expected = Status.CANCELED if status == Status.CANCEL_REQUESTED else Status.FAILED
            assert after["status"] == expected
        else:
            assert after["status"] == status  # the status stays, other fields change
        assert after != before
    else:
        assert not moved, f"{name} must refuse a step that is {status}"
        assert after == before


def test_a_claim_makes_the_next_attempt_and_is_refused_to_a_second_worker(alice):
    step = factories.step_in(Status.QUEUED, attempt=2, owner=alice)
    assert transitions.claim(step.id, NOW)
    step.refresh_from_db()
    assert (step.status, step.attempt, step.worker) == (
        Status.RUNNING,
        3,
        transitions.worker_name(),
    )
    assert step.started_at == step.heartbeat_at == NOW and step.exit_code is None
    assert not transitions.claim(step.id, NOW)  # a duplicate delivery finds it claimed
    assert StepRun.objects.get(id=step.id).attempt == 3


def test_a_claim_at_a_stale_attempt_is_refused(alice):
    step = factories.step_in(Status.QUEUED, attempt=2, owner=alice)
    assert not transitions.claim(step.id, NOW, attempt=1, fingerprint="f" * 64)
    assert transitions.claim(step.id, NOW, attempt=2, fingerprint="f" * 64)
    step.refresh_from_db()
    assert step.attempt == 3 and step.fingerprint == "f" * 64


@pytest.mark.parametrize("name", ["start", "heartbeat", "finish", "lose", "requeue"])
def test_an_attempts_own_transitions_are_refused_to_an_older_attempt(name, alice):
    step = factories.step_in(Status.RUNNING, attempt=2, owner=alice)
    before = _row(step)
    step.attempt = 1  # the worker of attempt 1 still believes it owns the step
    assert not _call(name, step)
    assert _row(step) == before


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_finish_records_each_way_an_attempt_ends(status, alice):
    step = factories.step_in(Status.RUNNING, owner=alice)
    later = NOW + timedelta(seconds=3)
    assert transitions.finish(step.id, 1, status, later, exit_code=7, error="why", log_size=12)
    step.refresh_from_db()
    assert (step.status, step.exit_code, step.error, step.log_size, step.ended_at) == (
        status,
        7,
        "why",
        12,
        later,
    )


def test_a_requested_cancel_finishes_as_canceled(alice):
    step = factories.step_in(Status.CANCEL_REQUESTED, owner=alice)
    assert transitions.finish(step.id, 1, Status.CANCELED, NOW)
    assert StepRun.objects.get(id=step.id).status == Status.CANCELED


@pytest.mark.parametrize(
    ("name", "target"),
    [("finish", Status.QUEUED), ("finish", Status.NOT_STARTED), ("finish", Status.RUNNING)],
)
def test_a_transition_never_moves_to_a_state_outside_its_targets(name, target, alice):
    step = factories.step_in(Status.RUNNING, owner=alice)
    with pytest.raises(transitions.RefusedTransition):
        transitions.finish(step.id, 1, target, NOW)
    assert StepRun.objects.get(id=step.id).status == Status.RUNNING


def test_lose_is_refused_once_the_step_moved_since_it_was_seen(alice):
    step = factories.step_in(Status.RUNNING, owner=alice)
    StepRun.objects.filter(id=step.id).update(status=Status.CANCEL_REQUESTED)  # a cancel came
    assert not transitions.lose(step.id, 1, Status.RUNNING, NOW)
    assert transitions.lose(step.id, 1, Status.CANCEL_REQUESTED, NOW)
    step.refresh_from_db()
    assert (step.status, step.error) == (Status.CANCELED, "Canceled (worker lost)")


def test_a_lost_running_step_fails_saying_why(alice):
    step = factories.step_in(Status.RUNNING, owner=alice)
    assert transitions.lose(step.id, 1, Status.RUNNING, NOW)
    step.refresh_from_db()
    assert step.status == Status.FAILED and "stopped responding" in step.error


def test_a_reuse_takes_the_originals_outputs_and_says_so(alice, original):
    step = factories.step_in(Status.QUEUED, owner=alice)
    assert transitions.reuse(step.id, original, {"fingerprint": "f" * 64}, NOW)
    step.refresh_from_db()
    assert step.reused_from_id == original.id and step.outputs == original.outputs
    assert step.properties["azureml.isreused"] == "true" and step.exit_code == 0


def test_request_cancel_moves_only_the_runs_active_steps(alice):
    run = factories.submitted(factories.chain("a", "b", "c"), alice)
    StepRun.objects.filter(run=run, node_id="a").update(status=Status.RUNNING)
    StepRun.objects.filter(run=run, node_id="b").update(status=Status.COMPLETED)
    assert transitions.request_cancel(run) == 1
    statuses = dict(StepRun.objects.filter(run=run).values_list("node_id", "status"))
    assert statuses == {
        "a": Status.CANCEL_REQUESTED,
        "b": Status.COMPLETED,
        "c": Status.NOT_STARTED,
    }


# --- runs ------------------------------------------------------------------------------------


def _run_in(status: Status, alice) -> Run:
    run = factories.submitted(factories.chain("a"), alice, experiment="run-states")
    Run.objects.filter(id=run.id).update(status=status, started_at=None)
    return Run.objects.get(id=run.id)


@pytest.mark.parametrize("status", list(Status))
def test_a_run_starts_only_when_it_has_not_started(status, alice):
    run = _run_in(status, alice)
    fields = transitions.start_run(run, NOW)
    if status == Status.NOT_STARTED:
        assert fields == ["status", "started_at"] and run.status == Status.RUNNING
    else:
        assert fields == [] and run.status == status


@pytest.mark.parametrize("status", list(Status))
def test_a_run_ends_only_from_a_state_it_may_end_from(status, alice):
    run = _run_in(status, alice)
    fields = transitions.end_run(run, Status.FAILED, NOW, error="Step a failed: boom")
    if status in transitions.RUN["end"].sources:
        assert run.status == Status.FAILED and run.ended_at == NOW and run.duration_ms == 0
        assert run.error == "Step a failed: boom" and "error" in fields
    else:
        assert fields == [] and run.status == status and run.ended_at is None


def test_a_run_never_ends_as_running(alice):
    run = _run_in(Status.RUNNING, alice)
    with pytest.raises(transitions.RefusedTransition):
        transitions.end_run(run, Status.RUNNING, NOW)


@pytest.mark.parametrize("status", list(Status))
def test_a_cancel_is_requested_only_of_a_run_not_yet_ended(status, alice):
    run = _run_in(status, alice)
    StepRun.objects.filter(run=run).update(status=Status.RUNNING)
    requested = transitions.request_cancel_run(run)
    stored = Run.objects.get(id=run.id)
    step = StepRun.objects.get(run=run)
    if status in (Status.NOT_STARTED, Status.RUNNING):
        assert requested and stored.status == Status.CANCEL_REQUESTED and stored.cancel_requested
        assert step.status == Status.CANCEL_REQUESTED
    else:
        assert not requested and stored.status == status and not stored.cancel_requested
        assert step.status == Status.RUNNING


def test_a_requeued_step_is_claimed_as_its_next_attempt(alice):
    step = factories.step_in(Status.RUNNING, attempt=1, owner=alice)
    assert transitions.requeue(step.id, 1, NOW)
    step.refresh_from_db()
    assert (step.status, step.attempt, step.worker, step.queued_at) == (
        Status.QUEUED,
        1,
        "",
        NOW,
    )
    assert transitions.claim(step.id, NOW)
    assert StepRun.objects.get(id=step.id).attempt == 2
