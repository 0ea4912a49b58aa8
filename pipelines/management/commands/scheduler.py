from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from pipelines import scheduling
from runs.services import reap_lost_steps

log = logging.getLogger("studio.scheduler")


class Command(BaseCommand):
    help = (
        "Run the scheduler: fire schedules (recurrences and data changes) and fail steps whose "
        "worker was lost. Several schedulers may run at once; each fire still starts one run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between ticks (default 1)"
        )
        parser.add_argument(
            "--simulate",
            nargs=2,
            metavar=("FROM", "TO"),
            help="Tick a simulated clock from FROM to TO (ISO UTC times), for tests and what-if checks",
        )
        parser.add_argument(
            "--step", type=float, default=60.0, help="Simulated seconds per tick (with --simulate)"
        )

    def handle(
        self,
        once: bool,
        interval: float,
        simulate: list[str] | None,
        step: float,
        **options: Any,
    ) -> None:
        stopping: list[bool] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        if simulate:
            try:
                clock, end = (datetime.fromisoformat(v).replace(tzinfo=UTC) for v in simulate)
            except ValueError:
                raise CommandError(
                    "--simulate takes two ISO times, like 2026-03-29T00:00:00 2026-03-30T00:00:00"
                ) from None
            while clock <= end and not stopping:
                self._tick(clock)
                clock += timedelta(seconds=step)
            return
        last_reap = 0.0
        while not stopping:
            started = time.monotonic()
            self._tick(timezone.now())
            if started - last_reap >= settings.STUDIO_REAPER_SECONDS:
                last_reap = started
                try:
                    lost = reap_lost_steps()
                    if lost:
                        log.warning("marked %d step(s) failed: worker lost", lost)
                except Exception:
                    log.exception("reaper pass failed")
                    connection.close()
            if once:
                return
            end = started + interval
            while not stopping and time.monotonic() < end:
                time.sleep(min(0.1, max(0.0, end - time.monotonic())))

    def _tick(self, now: datetime) -> None:
        try:
            scheduling.tick(now)
        except Exception:  # a bad schedule or a database hiccup must not stop the scheduler
            log.exception("scheduler tick failed")
            connection.close()
