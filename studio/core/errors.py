"""One error type for everything a user asks for that cannot be done.

It carries the field at fault, a message that names the problem, and the HTTP status the API
answers with: the API translates it once, at its edge (``studio.workspace.api.errors``); forms show it
next to the field; the SDK raises it as azureml would.
"""

from __future__ import annotations


class StudioError(ValueError):
    """Refused: ``field`` names the culprit, ``status`` is 400 unless the state of things
    refuses it (409) or what it names does not exist (404)."""

    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message
