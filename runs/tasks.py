"""Celery tasks: thin doorbells that load ids and call one service."""

from __future__ import annotations

from studio.celery import app


@app.task(name="runs.execute_step", ignore_result=True)
def execute_step(step_id: str) -> None:
    """Claim and run a queued step (a duplicate delivery finds it claimed and returns)."""
    from runs import execution

    execution.execute_step(step_id)
