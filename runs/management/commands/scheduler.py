from __future__ import annotations

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from runs.services import reap_lost_steps

log = logging.getLogger("studio.scheduler")


class Command(BaseCommand):
    help = "Run the scheduler: fail steps whose worker was lost and re-ring lost doorbells."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit")

    def handle(self, once: bool, **options):
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        while not stopping:
            started = time.monotonic()
            try:
                lost = reap_lost_steps()
                if lost:
                    log.warning("marked %d step(s) failed: worker lost", lost)
            except Exception:
                log.exception("scheduler pass failed")
                connection.close()
            if once:
                return
            remaining = settings.STUDIO_REAPER_SECONDS - (time.monotonic() - started)
            end = time.monotonic() + max(0.0, remaining)
            while not stopping and time.monotonic() < end:
                time.sleep(min(0.2, end - time.monotonic()) if end > time.monotonic() else 0)
