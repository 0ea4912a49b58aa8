"""RunHistory statuses (what the server stores) and Azure's pipeline vocabulary (what get_status answers)."""

from __future__ import annotations

TERMINAL = {"Completed", "Failed", "Canceled"}

_AETHER = {
    "NotStarted": "NotStarted",
    "Queued": "Queued",
    "Preparing": "Running",
    "Running": "Running",
    "Finalizing": "Running",
    "CancelRequested": "Running",
    "Completed": "Finished",
    "Failed": "Failed",
    "Canceled": "Canceled",
}


def aether_status(status: str) -> str:
    return _AETHER.get(status, status)
