from __future__ import annotations

from django.apps import AppConfig


class StudioConfig(AppConfig):
    """The project shell: settings, urls, the Celery app, the home page, ``runstudio``."""

    name = "studio"
    verbose_name = "Studio"

    def ready(self) -> None:
        # The Celery app, configured (its broker above all) before any engine sends a task.
        from studio import celery  # noqa: F401
