"""Celery tasks: thin doorbells that load ids and call one service; and the worker's
heartbeat, started and stopped with the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import shared_task, signals

from runs import execution, parallel, services, shutdown, worker

if TYPE_CHECKING:
    from celery.worker.consumer import Consumer

_heartbeat: dict = {}


@signals.worker_ready.connect
def _start_heartbeat(sender: Consumer | None = None, **kwargs: Any) -> None:
    queues = {q.name for q in sender.task_consumer.queues} if sender.task_consumer else set()
    _heartbeat["thread"] = worker.start_heartbeat(sender.app, sender.hostname, queues)


@signals.worker_shutdown.connect
def _stop_heartbeat(**kwargs: Any) -> None:
    thread = _heartbeat.pop("thread", None)
    if thread is not None:
        thread.stop.set()
        thread.join(timeout=5)
    shutdown.end()


@signals.worker_init.connect
def _worker_started(**kwargs: Any) -> None:
    shutdown.started()


@signals.worker_shutting_down.connect
def _shutting_down(**kwargs: Any) -> None:
    shutdown.begin()


@signals.worker_process_init.connect
def _detach(**kwargs: Any) -> None:
    shutdown.detach_pool_process()


@signals.task_prerun.connect
def _hold_term(**kwargs: Any) -> None:
    shutdown.hold_term_during_steps()


@shared_task(name=services.EXECUTE_STEP, ignore_result=True)
def execute_step(step_id: str) -> None:
    """Claim and run a queued step (a duplicate delivery finds it claimed and returns)."""
    execution.execute_step(step_id)


@shared_task(name=services.DISPATCH_STEPS, ignore_result=True)
def dispatch_steps(queued: list[list[str]]) -> None:
    """Fingerprint queued steps handed to this worker: reuse them, or ring for them."""
    services.dispatch([(step_id, target) for step_id, target in queued], handed=True)


@shared_task(name=parallel.RUN_PART, ignore_result=True)
def run_parallel_part(step_id: str, attempt: int, number: int) -> None:
    """Join a running ParallelRunStep as one more of its workers."""
    execution.execute_parallel_part(step_id, attempt, number)
