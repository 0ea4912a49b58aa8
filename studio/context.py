"""Template context: which section of the side navigation the page belongs to."""

from __future__ import annotations

_SECTIONS = {
    "experiments": "experiments",
    "experiment-runs": "experiments",
    "run-detail": "experiments",
    "compute-targets": "compute",
    "datastores": "datastores",
    "datastore-detail": "datastores",
    "datasets": "datasets",
    "dataset-detail": "datasets",
}


def navigation(request) -> dict:
    match = getattr(request, "resolver_match", None)
    return {"nav": _SECTIONS.get(match.url_name if match else "", "")}
