"""The worker's own heartbeat: tells the database it is alive and which queues it serves,
and starts consuming the queue of any compute target created while it runs."""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from studio.workspace import outages
from studio.workspace.models import ComputeTarget, WorkerHeartbeat, queue_for

log = logging.getLogger("studio.worker")
BEAT_SECONDS = 2.0


def wanted_queues() -> set[str]:
    served = settings.STUDIO_WORKER_TARGETS
    names = ComputeTarget.objects.values_list("name", flat=True)
    return {queue_for(n) for n in names if "*" in served or n in served}


def start_heartbeat(app: Celery, hostname: str, initial_queues: set[str]) -> threading.Thread:
    stop = threading.Event()
    consumed = set(initial_queues)

    def beat() -> None:
        while not stop.is_set():
            try:
                for queue in sorted(wanted_queues() - consumed):
                    replies = app.control.add_consumer(
                        queue, destination=[hostname], reply=True, timeout=3, limit=1
                    )
                    if replies:
                        consumed.add(queue)
                        log.info("now serving %s", queue)
                WorkerHeartbeat.objects.update_or_create(
                    hostname=hostname,
                    defaults={
                        "queues": sorted(consumed),
                        "pid": os.getpid(),
                        "last_seen": timezone.now(),
                    },
                )
            except (
                Exception
            ) as exc:  # the heartbeat must outlive a passing database or broker error
                reason = outages.database_unwritable(exc)
                if reason is not None:
                    log.warning(
                        "worker heartbeat not recorded: the database cannot write (%s)", reason
                    )
                else:
                    log.exception("worker heartbeat failed")
                connection.close()
            stop.wait(BEAT_SECONDS)
        WorkerHeartbeat.objects.filter(hostname=hostname).delete()
        connection.close()

    thread = threading.Thread(target=beat, name="studio-heartbeat", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
