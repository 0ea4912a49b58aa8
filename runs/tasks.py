"""Celery tasks: thin doorbells that load ids and call one service."""

from __future__ import annotations

from studio.celery import app


@app.task(name="runs.execute_step", ignore_result=True)
def execute_step(step_id: str) -> None:
    """Claim and run a queued step (a duplicate delivery finds it claimed and returns)."""
    from runs import execution

    execution.execute_step(step_id)


@app.task(name="runs.dispatch_steps", ignore_result=True)
def dispatch_steps(queued: list[list[str]]) -> None:
    """Fingerprint a submitted run's first steps: reuse them, or ring for them."""
    from runs import services

    services.dispatch([(step_id, target) for step_id, target in queued])
