"""The engine against the database, without a worker: how a step's end starts the next one."""

from __future__ import annotations

import pytest

from runs import execution, services, transitions
from runs.models import Experiment, StepRun
from studio.core.status import Status
from tests import factories

pytestmark = pytest.mark.django_db

DIGEST = "c" * 64


@pytest.fixture
def chain(alice):
    return factories.submitted(factories.chain("a", "b", "c"), alice)


def test_the_end_of_a_step_claims_the_next_one_for_the_same_worker(chain, settings):
    settings.STUDIO_WORKER_TARGETS = ["*"]
    first = StepRun.objects.get(run=chain, node_id="a")
    assert first.status == Status.QUEUED
    claim = execution.claim_step(first.id)
    assert claim is not None and claim.step.attempt == 1

    nxt = services.finish_step(first.id, 1, run_id=chain.id, status=Status.COMPLETED, exit_code=0)

    assert nxt is not None and nxt.node_id == "b"
    stored = StepRun.objects.get(id=nxt.id)
    for step in (nxt, stored):
        assert step.status == Status.RUNNING and step.attempt == 1
        assert step.fingerprint and step.worker == transitions.worker_name()
        assert step.started_at is not None and step.queued_at is not None
    assert nxt.run.id == chain.id and nxt.run.experiment.name == "engine"
    first.refresh_from_db()
    assert first.status == Status.COMPLETED and first.exit_code == 0
    assert StepRun.objects.get(run=chain, node_id="c").status == Status.NOT_STARTED


def test_a_step_that_lost_its_claim_is_not_recorded_but_the_run_still_advances(chain, settings):
    settings.STUDIO_WORKER_TARGETS = ["*"]
    first = StepRun.objects.get(run=chain, node_id="a")
    execution.claim_step(first.id)
    # Another attempt took the step over (the reaper re-queued it, another worker claimed it).
    StepRun.objects.filter(id=first.id).update(attempt=2)
    assert services.finish_step(first.id, 1, run_id=chain.id, status=Status.COMPLETED) is None
    first.refresh_from_db()
    assert first.status == Status.RUNNING and first.attempt == 2


def test_a_worker_that_does_not_serve_the_next_step_leaves_it_queued_for_its_own(chain, settings):
    settings.STUDIO_WORKER_TARGETS = ["gpu-cluster"]
    first = StepRun.objects.get(run=chain, node_id="a")
    execution.claim_step(first.id)
    assert services.finish_step(first.id, 1, run_id=chain.id, status=Status.COMPLETED) is None
    second = StepRun.objects.get(run=chain, node_id="b")
    assert second.status == Status.QUEUED and second.fingerprint  # rung for a worker of "local"
    assert Experiment.objects.get(name="engine").last_run_number == 1


def _run_through(run, settings) -> None:
    """Run every step of a chain as a worker would, without processes: claim, then finish."""
    settings.STUDIO_WORKER_TARGETS = ["*"]
    claim = execution.claim_step(StepRun.objects.get(run=run, position=0).id)
    step = claim.step if claim else None
    while step is not None:
        step = services.finish_step(
            step.id, step.attempt, run_id=run.id, status=Status.COMPLETED, exit_code=0
        )


def test_a_next_step_that_an_earlier_run_can_lend_is_reused_not_claimed(chain, alice, settings):
    _run_through(chain, settings)
    chain.refresh_from_db()
    assert chain.status == Status.COMPLETED

    again = services.submit_run(experiment_name="engine", graph_data=chain.graph.spec, user=alice)
    first = StepRun.objects.get(run=again, node_id="a")
    execution.claim_step(first.id)
    assert services.finish_step(first.id, 1, run_id=again.id, status=Status.COMPLETED) is None
    again.refresh_from_db()
    assert again.status == Status.COMPLETED
    for node in ("b", "c"):
        step = StepRun.objects.get(run=again, node_id=node)
        assert step.status == Status.COMPLETED and step.reused_from is not None, node
        assert step.reused_from.run_id == chain.id
