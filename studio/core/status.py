"""One status vocabulary: RunHistory's words, what each means, and how each is shown.

The database, the API and the pages speak RunHistory (NotStarted ... Completed); the SDK's
``get_status()`` answers in Azure's pipeline vocabulary (Finished for Completed), as azureml
does. Each status has a tone, which is what charts colour and the CSS class names carry.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A status word; ``str()`` and formatting give the word itself (as StrEnum, which is
    Python 3.11+: the core also runs in 3.10 environments)."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELED})
ACTIVE = frozenset({Status.PREPARING, Status.RUNNING, Status.FINALIZING, Status.CANCEL_REQUESTED})
WAITING = frozenset({Status.NOT_STARTED, Status.QUEUED})

# How each status is shown: a tone (the CSS class ``tone-<tone>``) and its colour in charts.
TONES = {
    Status.NOT_STARTED: "idle",
    Status.QUEUED: "waiting",
    Status.PREPARING: "busy",
    Status.RUNNING: "busy",
    Status.FINALIZING: "busy",
    Status.CANCEL_REQUESTED: "warn",
    Status.COMPLETED: "ok",
    Status.FAILED: "bad",
    Status.CANCELED: "muted",
}
TONE_COLOURS = {
    "idle": "#c8c6c4",
    "waiting": "#8a8886",
    "busy": "#0078d4",
    "warn": "#ca5010",
    "ok": "#107c10",
    "bad": "#d13438",
    "muted": "#605e5c",
}

# Published pipelines, endpoints and schedules are Active or Disabled.
ENTITY_TONES = {"Active": "ok", "Disabled": "muted"}

# Azure's pipeline vocabulary (PipelineRun/StepRun.get_status()).
_AETHER = {
    Status.NOT_STARTED: "NotStarted",
    Status.QUEUED: "Queued",
    Status.PREPARING: "Running",
    Status.RUNNING: "Running",
    Status.FINALIZING: "Running",
    Status.CANCEL_REQUESTED: "Running",
    Status.COMPLETED: "Finished",
    Status.FAILED: "Failed",
    Status.CANCELED: "Canceled",
}


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def aether_status(status: str) -> str:
    """Azure's pipeline word for a RunHistory status (an unknown word is returned as it is)."""
    try:
        return _AETHER[Status(status)]
    except ValueError:
        return status


def tone(status: str) -> str:
    """The tone of a status (``idle`` for a word that is not a status)."""
    try:
        return TONES[Status(status)]
    except ValueError:
        return ENTITY_TONES.get(status, "idle")


def colour(status: str) -> str:
    return TONE_COLOURS[tone(status)]
