from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs import sandbox
from runs.services import ensure_compute_target
from runs.worker import wanted_queues
from studio.workspace.models import CONTROL_QUEUE


class Command(BaseCommand):
    help = (
        "Start a Celery worker serving the compute targets in STUDIO_WORKER_TARGETS (default: all)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency", type=int, default=int(os.environ.get("STUDIO_WORKER_CONCURRENCY", "4"))
        )
        parser.add_argument("--hostname", default=os.environ.get("STUDIO_WORKER_NAME", "worker@%h"))
        parser.add_argument("--loglevel", default=os.environ.get("LOG_LEVEL", "WARNING"))
        parser.add_argument(
            "--quiet", action="store_true", help="Leave out Celery's start-up banner"
        )

    def handle(
        self, concurrency: int, hostname: str, loglevel: str, quiet: bool, **options: Any
    ) -> None:
        if sandbox.unsandboxed(settings.STUDIO_SANDBOX) and not settings.STUDIO_TRUST_SUBMITTERS:
            remedy = (
                "Unset STUDIO_SANDBOX"
                if settings.STUDIO_SANDBOX == "off"
                else "Install bubblewrap (apt install bubblewrap)"
            )
            raise CommandError(
                f"{sandbox.why_unsandboxed(settings.STUDIO_SANDBOX)} {remedy}, or set "
                "STUDIO_TRUST_SUBMITTERS=1 if everyone who can submit is trusted with this host."
            )
        ensure_compute_target(settings.STUDIO_DEFAULT_COMPUTE)
        queues = sorted(wanted_queues() | {CONTROL_QUEUE})
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "studio.celery",
            *(["--quiet"] if quiet else []),
            "worker",
            "-l",
            loglevel,
            "-c",
            str(concurrency),
            "-n",
            hostname,
            "-Q",
            ",".join(queues),
            "--without-gossip",
            "--without-mingle",
        ]
        os.execv(sys.executable, argv)
