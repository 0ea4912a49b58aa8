"""Celery tasks of the pipelines app: thin doorbells that load ids and call one service."""

from __future__ import annotations

from celery import shared_task

from pipelines import scheduling


@shared_task(name=scheduling.DISPATCH_FIRE, ignore_result=True)
def dispatch_fire(fire_id: int) -> None:
    """Start the run of a schedule's pending fire (a fire already started is left alone)."""
    scheduling.dispatch_fire(fire_id)
