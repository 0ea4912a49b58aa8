from __future__ import annotations

from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """Compute targets and workers, datastores, datasets, snapshots, API tokens and auth,
    storage, and the API toolkit every app's API uses. Imports no other app."""

    name = "studio.workspace"
    label = "workspace"
    verbose_name = "Studio workspace"
