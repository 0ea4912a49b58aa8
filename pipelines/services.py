"""Publishing pipelines, pipeline endpoints and their versions, and submitting them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import IntegrityError, transaction

from pipelines.models import (
    PipelineEndpoint,
    PipelineEndpointVersion,
    PublishedPipeline,
    Schedule,
)
from runs import services as run_services
from runs.models import PipelineGraph, Run
from studio.core.errors import StudioError
from studio.core.names import check_name
from studio.core.parameters import split_known
from studio.workspace.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

# What can be enabled and disabled here: set_status gives back what it was given.
_Switchable = TypeVar("_Switchable", PublishedPipeline, PipelineEndpoint)


def check_text(field: str, value: str | None, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise StudioError(field, f"{field} must be at most {limit} characters.")
    if "\x00" in value:
        raise StudioError(field, f"{field} must not contain NUL characters.")
    return value


def publish_graph(
    *,
    graph: PipelineGraph,
    name: str,
    description: str = "",
    version: str = "",
    continue_on_step_failure: bool | None = None,
    user: AbstractUser | None = None,
    source_run: Run | None = None,
) -> PublishedPipeline:
    name = check_name("published pipeline", check_text("name", name, 255))
    return PublishedPipeline.objects.create(
        name=name,
        description=check_text("description", description, 5000),
        version=check_text("version", version, 64),
        graph=graph,
        continue_on_step_failure=continue_on_step_failure,
        created_by=user if user is not None and user.is_authenticated else None,
        source_run=source_run,
    )


def publish_pipeline(
    *, graph_data: Any, user: AbstractUser | None = None, **fields: Any
) -> PublishedPipeline:
    """Validate a graph (as a submission would be) and freeze it as a PublishedPipeline."""
    spec = run_services.validate_submission(graph_data)
    return publish_graph(graph=PipelineGraph.store(spec), user=user, **fields)


def publish_run(run: Run, *, user: AbstractUser | None = None, **fields: Any) -> PublishedPipeline:
    """Publish the pipeline of a run, finished or not (as Azure allows)."""
    return publish_graph(graph=run.graph, user=user, source_run=run, **fields)


def set_status(obj: _Switchable, status: str) -> _Switchable:
    if status not in ("Active", "Disabled"):
        raise StudioError("status", "Status must be Active or Disabled.")
    obj.status = status
    obj.save(update_fields=["status"])
    return obj


def submit_published(
    pipeline: PublishedPipeline,
    *,
    experiment_name: str,
    parameters: Mapping[str, Any] | None = None,
    description: str | None = None,
    run_source: str = "API",
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    continue_on_step_failure: bool | None = None,
    user: AbstractUser | None = None,
    token: ApiToken | None = None,
    idempotency_key: str | None = None,
    endpoint: PipelineEndpoint | None = None,
    schedule: Schedule | None = None,
    dispatch_in_worker: bool = False,
    ignore_unknown_parameters: bool = False,
) -> tuple[Run, bool]:
    """Start a run of a published pipeline; returns (run, created).

    A repeated ``idempotency_key`` from the same user returns the run it started
    the first time instead of starting another. ``dispatch_in_worker``: see
    :func:`runs.services.submit_run`. With ``ignore_unknown_parameters`` (Azure's REST
    endpoint accepts them), values for parameters the pipeline does not declare are
    left out and the run carries a warning naming each; otherwise they are refused.
    """
    if not pipeline.is_active:
        raise StudioError(
            "status",
            f"Published pipeline {pipeline.id} is Disabled; enable it to submit runs.",
            409,
        )
    if endpoint is not None and not endpoint.is_active:
        raise StudioError(
            "status",
            f"Pipeline endpoint {endpoint.name} is Disabled; enable it to submit runs.",
            409,
        )
    if idempotency_key:
        existing = Run.objects.filter(created_by=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    warnings = []
    if ignore_unknown_parameters:
        parameters, ignored = split_known(pipeline.graph.graph(), parameters)
        warnings = [
            f"Pipeline parameter {name} does not exist in this pipeline; its value was ignored."
            for name in ignored
        ]
    cosf = (
        pipeline.continue_on_step_failure
        if continue_on_step_failure is None
        else continue_on_step_failure
    )
    try:
        run = run_services.submit_run(
            experiment_name=experiment_name,
            graph_data=pipeline.graph.spec,
            user=user,
            token=token,
            pipeline_parameters=parameters,
            continue_on_step_failure=bool(cosf),
            tags=tags,
            properties=properties,
            description=description if description is not None else experiment_name,
            run_source=run_source,
            source=_source(pipeline, endpoint, schedule),
            idempotency_key=idempotency_key or None,
            dispatch_in_worker=dispatch_in_worker,
            warnings=warnings,
        )
    except IntegrityError:
        if idempotency_key:  # a concurrent retry with the same key won the race
            existing = Run.objects.filter(created_by=user, idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing, False
        raise
    return run, True


def _source(
    pipeline: PublishedPipeline, endpoint: PipelineEndpoint | None, schedule: Schedule | None
) -> dict:
    """What a run records of what started it (runs do not know pipelines' models): ids and
    names, and the endpoint's version that named the pipeline."""
    named = {"published_pipeline": pipeline, "pipeline_endpoint": endpoint, "schedule": schedule}
    source = {
        kind: {"id": str(obj.pk), "name": str(obj) if kind == "published_pipeline" else obj.name}
        for kind, obj in named.items()
        if obj is not None
    }
    if endpoint is not None:
        version = endpoint.versions.filter(pipeline=pipeline).values_list("version", flat=True)
        source["pipeline_endpoint"]["version"] = next(iter(version), "")
    return source


# --- endpoints -------------------------------------------------------------------------


@transaction.atomic
def publish_endpoint(
    *, name: str, description: str, pipeline: PublishedPipeline, user: AbstractUser | None = None
) -> PipelineEndpoint:
    name = check_name("pipeline endpoint", check_text("name", name, 255))
    if PipelineEndpoint.objects.filter(name=name).exists():
        raise StudioError(
            "name", f"A pipeline endpoint named {name} already exists; use add() to add a version."
        )
    endpoint = PipelineEndpoint.objects.create(
        name=name,
        description=check_text("description", description, 5000),
        default_version="0",
        created_by=user,
    )
    PipelineEndpointVersion.objects.create(endpoint=endpoint, version="0", pipeline=pipeline)
    return endpoint


@transaction.atomic
def add_endpoint_version(
    endpoint: PipelineEndpoint, pipeline: PublishedPipeline, make_default: bool = False
) -> str:
    """Add a published pipeline as the next version ("0", "1", ...); returns that version."""
    endpoint = PipelineEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    existing = endpoint.versions.filter(pipeline=pipeline).first()
    if existing is not None:
        version = existing.version
    else:
        version = str(
            max((int(v) for v in endpoint.versions.values_list("version", flat=True)), default=-1)
            + 1
        )
        PipelineEndpointVersion.objects.create(
            endpoint=endpoint, version=version, pipeline=pipeline
        )
    if make_default:
        endpoint.default_version = version
        endpoint.save(update_fields=["default_version"])
    return version


def rename_endpoint(endpoint: PipelineEndpoint, name: str) -> PipelineEndpoint:
    """Give an endpoint a new name; its id and URL stay."""
    name = check_name("pipeline endpoint", check_text("name", name, 255))
    if PipelineEndpoint.objects.filter(name=name).exclude(pk=endpoint.pk).exists():
        raise StudioError(
            "name",
            "PipelineEndpoint already exists with the given name. Please choose a unique value.",
        )
    endpoint.name = name
    endpoint.save(update_fields=["name"])
    return endpoint


def set_default_version(endpoint: PipelineEndpoint, version: str) -> PipelineEndpoint:
    if not endpoint.versions.filter(version=str(version)).exists():
        raise StudioError(
            "version", f"Version {version} does not exist in pipeline endpoint {endpoint.name}."
        )
    endpoint.default_version = str(version)
    endpoint.save(update_fields=["default_version"])
    return endpoint


def endpoint_pipeline(endpoint: PipelineEndpoint, version: str | None = None) -> PublishedPipeline:
    wanted = str(version) if version not in (None, "") else endpoint.default_version
    row = endpoint.versions.select_related("pipeline__graph").filter(version=wanted).first()
    if row is None:
        raise StudioError(
            "version",
            f"Version {wanted} does not exist in pipeline endpoint {endpoint.name}.",
            404,
        )
    return row.pipeline


__all__ = ["StudioError"]
