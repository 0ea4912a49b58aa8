"""The Celery app. The broker is a doorbell: every state change lives in the database."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

from django.conf import settings
from django.db import close_old_connections

from studio.broker import register as register_transport

register_transport()
_embedded = settings.CELERY_BROKER_URL.startswith("filesystem://")

app = Celery("studio")
app.conf.update(
    broker_url="studiofs://" if _embedded else settings.CELERY_BROKER_URL,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    result_backend=None,
    worker_prefetch_multiplier=1,
    task_acks_late=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    task_default_queue="studio",
    worker_send_task_events=False,
    task_send_sent_event=False,
    broker_transport_options={"visibility_timeout": 24 * 3600},
)

if _embedded:
    folders = {
        "data_folder_in": settings.BROKER_DIR / "queue",
        "data_folder_out": settings.BROKER_DIR / "queue",
        "control_folder": settings.BROKER_DIR / "control",
        "processed_folder": settings.BROKER_DIR / "processed",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    app.conf.broker_transport_options = {
        **{key: str(value) for key, value in folders.items()},
        "polling_interval": settings.CELERY_BROKER_POLLING_INTERVAL,
        "store_processed": False,
    }

# Celery's Django fixup closes every database connection before and after each task unless
# CELERY_DB_REUSE_MAX is set: a new PostgreSQL connection per step costs 5-17 ms. Connections
# are kept instead, and Django's own rule (CONN_MAX_AGE, health checks) decides when one goes,
# as it does between web requests.
app.conf.CELERY_DB_REUSE_MAX = 1_000_000
app.autodiscover_tasks(["runs", "pipelines"])


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(**kwargs):
    close_old_connections()
