"""The global search of the top bar: runs, experiments, published pipelines, pipeline endpoints,
datasets and datastores, by name or id.

It looks across the apps, so it belongs to the shell (which may import every app). One query per
kind, each bounded; what a request may read is decided by studio.workspace.roles: everyone in
the workspace reads everything, a token limited to one published pipeline or endpoint finds only
that (and an endpoint's pipelines), and nobody signed out finds anything.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.urls import reverse

from pipelines.models import PipelineDraft, PipelineEndpoint, PublishedPipeline
from runs.models import Experiment, Run
from studio.workspace.models import ApiToken, Dataset, Datastore
from studio.workspace.roles import refusal

KINDS = (
    "Runs",
    "Experiments",
    "Published pipelines",
    "Pipeline drafts",
    "Pipeline endpoints",
    "Datasets",
    "Datastores",
)
MAX_QUERY = 200
_RUN_NUMBER = re.compile(r"^(?:run\s*)?#?(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """One thing found: what it is called, a line about it, and where its page is."""

    title: str
    detail: str
    url: str
    ident: str


@dataclass
class SearchResults:
    """The hits of one query, grouped by kind in the order of ``KINDS``."""

    query: str
    groups: dict[str, list[Hit]] = field(default_factory=dict)
    more: set[str] = field(default_factory=set)  # kinds with more hits than shown

    @property
    def count(self) -> int:
        return sum(len(hits) for hits in self.groups.values())


def search_workspace(request: Any, query: str, *, limit: int = 5) -> SearchResults:
    """What ``request`` may read whose name or id matches ``query``: at most ``limit`` per kind.

    Runs match by id (or its start), number ("7", "run 7", "#7"), display name, experiment name
    or description;
    the others by name (contains, any case) or by their full id.
    """
    words = query.strip()[:MAX_QUERY]
    results = SearchResults(query=words)
    if not words:
        return results
    credential = getattr(request, "auth", None)
    limited = isinstance(credential, ApiToken) and bool(
        credential.pipeline_id or credential.endpoint_id
    )
    if not limited and refusal(request, "read") is not None:
        return results
    ident = _uuid(words)
    found: dict[str, list[Hit]] = {}
    if limited:
        assert isinstance(credential, ApiToken)
        found["Published pipelines"] = _pipelines(words, ident, limit + 1, credential)
        found["Pipeline endpoints"] = _endpoints(words, ident, limit + 1, credential)
    else:
        found["Runs"] = _runs(words, limit + 1)
        found["Experiments"] = _experiments(words, limit + 1)
        found["Published pipelines"] = _pipelines(words, ident, limit + 1, None)
        found["Pipeline drafts"] = _drafts(words, ident, limit + 1)
        found["Pipeline endpoints"] = _endpoints(words, ident, limit + 1, None)
        found["Datasets"] = _datasets(words, ident, limit + 1)
        found["Datastores"] = _datastores(words, limit + 1)
    for kind in KINDS:
        hits = found.get(kind, [])
        if len(hits) > limit:
            results.more.add(kind)
        if hits:
            results.groups[kind] = hits[:limit]
    return results


def _uuid(words: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(words)
    except ValueError:
        return None


def _runs(words: str, n: int) -> list[Hit]:
    match = Q(id__istartswith=words) | Q(experiment__name__icontains=words)
    match |= Q(description__icontains=words) | Q(display_name__icontains=words)
    number = _RUN_NUMBER.match(words)
    if number:
        match |= Q(number=int(number.group(1)))
    rows = Run.objects.filter(match).select_related("experiment").order_by("-created_at")[:n]
    return [
        Hit(
            title=f"{run.title} of {run.experiment.name}",
            detail=" · ".join(part for part in (run.status, run.description) if part),
            url=reverse("run-detail", args=[run.id]),
            ident=run.id,
        )
        for run in rows
    ]


def _experiments(words: str, n: int) -> list[Hit]:
    rows = Experiment.objects.filter(name__icontains=words).order_by("name")[:n]
    return [
        Hit(
            title=e.name,
            detail=f"{e.last_run_number} run{'' if e.last_run_number == 1 else 's'}",
            url=reverse("experiment-runs", args=[e.name]),
            ident=e.name,
        )
        for e in rows
    ]


def _pipelines(words: str, ident: uuid.UUID | None, n: int, token: ApiToken | None) -> list[Hit]:
    rows = PublishedPipeline.objects.filter(Q(name__icontains=words) | Q(id=ident))
    if token is not None:
        rows = rows.filter(
            Q(id=token.pipeline_id) | Q(endpoint_versions__endpoint_id=token.endpoint_id)
            if token.endpoint_id
            else Q(id=token.pipeline_id)
        ).distinct()
    return [
        Hit(
            title=p.name,
            detail=" · ".join(
                part for part in (p.status, f"version {p.version}" if p.version else "") if part
            ),
            url=reverse("published-detail", args=[p.id]),
            ident=str(p.id),
        )
        for p in rows.order_by("-created_at")[:n]
    ]


def _drafts(words: str, ident: uuid.UUID | None, n: int) -> list[Hit]:
    rows = PipelineDraft.objects.filter(Q(name__icontains=words) | Q(id=ident))
    return [
        Hit(
            title=d.name,
            detail=f"experiment {d.experiment_name}",
            url=reverse("draft-detail", args=[d.id]),
            ident=str(d.id),
        )
        for d in rows.order_by("-updated_at")[:n]
    ]


def _endpoints(words: str, ident: uuid.UUID | None, n: int, token: ApiToken | None) -> list[Hit]:
    rows = PipelineEndpoint.objects.filter(Q(name__icontains=words) | Q(id=ident))
    if token is not None:
        rows = rows.filter(id=token.endpoint_id)
    return [
        Hit(
            title=e.name,
            detail=f"{e.status} · default version {e.default_version}",
            url=reverse("endpoint-detail", args=[e.id]),
            ident=str(e.id),
        )
        for e in rows.order_by("name")[:n]
    ]


def _datasets(words: str, ident: uuid.UUID | None, n: int) -> list[Hit]:
    # Every version matches; the latest of each name is shown (a name's versions come together).
    rows = Dataset.objects.filter(Q(name__icontains=words) | Q(id=ident)).order_by(
        "name", "-version"
    )[: n * 4]
    latest: dict[str, Dataset] = {}
    for dataset in rows:
        latest.setdefault(dataset.name, dataset)
    return [
        Hit(
            title=d.name,
            detail=f"{d.get_kind_display()} · version {d.version}",
            url=reverse("dataset-detail", args=[d.name]),
            ident=str(d.id),
        )
        for d in list(latest.values())[:n]
    ]


def _datastores(words: str, n: int) -> list[Hit]:
    rows = Datastore.objects.filter(name__icontains=words).order_by("name")[:n]
    return [
        Hit(
            title=s.name,
            detail=s.kind,
            url=reverse("datastore-detail", args=[s.name]),
            ident=s.name,
        )
        for s in rows
    ]
