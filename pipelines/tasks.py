"""Celery tasks of the pipelines app: thin doorbells that load ids and call one service."""

from __future__ import annotations

from studio.celery import app


@app.task(name="pipelines.dispatch_fire", ignore_result=True)
def dispatch_fire(fire_id: int) -> None:
    """Start the run of a schedule's pending fire (a fire already started is left alone)."""
    from pipelines import scheduling

    scheduling.dispatch_fire(fire_id)
