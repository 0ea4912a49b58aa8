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
    broker_url="studiofs://localhost//" if _embedded else settings.CELERY_BROKER_URL,
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
    # A worker keeps trying to reach a broker that is down, however long it stays down.
    broker_connection_max_retries=None,
)

if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task's message is acknowledged as the task starts (a step's own loss is the reaper's:
    # its heartbeat stops), so a message is unacknowledged only between a worker taking it and
    # starting it. Without prefetch a worker takes one only for a free process, so that is a
    # moment, and a message of a worker killed in that moment is handed to another after
    # STUDIO_BROKER_REDELIVERY_SECONDS: every worker looks for such messages each second.
    # A message handed out twice is harmless: the step is claimed in the database once.
    app.conf.worker_disable_prefetch = True
    app.conf.broker_transport_options = {
        "visibility_timeout": settings.STUDIO_BROKER_REDELIVERY_SECONDS,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 30,  # a worker killed while restoring holds the lock no longer
    }

if _embedded:
    # Celery takes CELERY_BROKER_URL from the environment before its configuration: a
    # "filesystem://" named there (the default, spelled out) would get kombu's own transport
    # instead of the one above.
    os.environ.pop("CELERY_BROKER_URL", None)
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
