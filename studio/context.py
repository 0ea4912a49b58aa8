"""Template context: which section of the side navigation the page belongs to."""

from __future__ import annotations

from django.http import HttpRequest

_SECTIONS = {
    "home": "home",
    "runs": "runs",
    "compare": "runs",
    "experiments": "experiments",
    "experiment-runs": "experiments",
    "run-detail": "experiments",
    "run-publish": "experiments",
    "run-resubmit": "experiments",
    "compute-targets": "compute",
    "environments": "environments",
    "datastores": "datastores",
    "datastore-detail": "datastores",
    "datasets": "datasets",
    "dataset-detail": "datasets",
    "models": "models",
    "model-detail": "models",
    "model-compare": "models",
    "published-list": "pipelines",
    "published-detail": "pipelines",
    "published-submit": "pipelines",
    "draft-list": "drafts",
    "draft-detail": "drafts",
    "draft-submit": "drafts",
    "draft-publish": "drafts",
    "endpoint-list": "endpoints",
    "endpoint-detail": "endpoints",
    "endpoint-submit-form": "endpoints",
    "schedule-list": "schedules",
    "schedule-create": "schedules",
    "schedule-detail": "schedules",
    "schedule-edit": "schedules",
    "module-list": "modules",
    "module-detail": "modules",
    "tokens": "tokens",
    "api-docs": "api-docs",
}


def navigation(request: HttpRequest) -> dict[str, str]:
    match = getattr(request, "resolver_match", None)
    return {"nav": _SECTIONS.get(match.url_name if match else "", "")}
