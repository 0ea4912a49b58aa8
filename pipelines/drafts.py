"""Pipeline drafts: mutable pipelines that are edited in place, submitted as runs and published.

A draft keeps a stored graph (the same content-addressed PipelineGraph runs and published
pipelines keep) and the settings of its next submission. Submitting goes through
:func:`runs.services.submit_run` and publishing through :func:`pipelines.services.publish_graph`:
a draft's runs are ordinary runs, its published pipelines ordinary published pipelines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from pipelines import services
from pipelines.models import PipelineDraft, PublishedPipeline
from runs import services as run_services
from runs.models import PipelineGraph, Run
from studio.core.errors import StudioError
from studio.core.names import check_experiment_name, check_name, check_tags
from studio.core.spec import GraphSpec

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

    from studio.workspace.models import ApiToken


def _owner(user: AbstractUser | None) -> AbstractUser | None:
    return user if user is not None and user.is_authenticated else None


def _assignments(spec: GraphSpec, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameter values a draft keeps: each checked and coerced as a submission would be
    (a dataset named by the dataset it is), for the parameters it assigns."""
    if values is not None and not isinstance(values, Mapping):
        raise StudioError("pipeline_parameters", "pipeline_parameters must be an object.")
    resolved = run_services.run_parameters(spec, values)
    return {name: resolved[name] for name in values or {}}


def _kept(spec: GraphSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The stored values that still apply to a new graph: those of parameters it declares, that
    its types take (a value that no longer fits is left out, and the default applies)."""
    declared = {p.name for p in spec.parameters}
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if name not in declared:
            continue
        try:
            kept.update(_assignments(spec, {name: value}))
        except StudioError:
            continue
    return kept


def _fields(
    *,
    name: str | None = None,
    description: str | None = None,
    experiment_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The checked values of the fields given (None: not given)."""
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = check_name("pipeline draft", services.check_text("name", name, 255))
    if description is not None:
        fields["description"] = services.check_text("description", description, 5000)
    if experiment_name is not None:
        fields["experiment_name"] = check_experiment_name(experiment_name)
    if tags is not None:
        fields["tags"] = dict(check_tags(dict(tags)))
    if properties is not None:
        fields["properties"] = dict(check_tags(dict(properties), "properties"))
    return fields


def create_draft(
    *,
    graph_data: Any,
    name: str,
    experiment_name: str,
    description: str = "",
    pipeline_parameters: Mapping[str, Any] | None = None,
    continue_on_step_failure: bool | None = None,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    user: AbstractUser | None = None,
) -> PipelineDraft:
    """Validate a graph as a submission would be and keep it as a new draft."""
    fields = _fields(
        name=name,
        description=description or "",
        experiment_name=experiment_name,
        tags=tags or {},
        properties=properties or {},
    )
    spec = run_services.validate_submission(graph_data)
    parameters = _assignments(spec, pipeline_parameters)
    return PipelineDraft.objects.create(
        **fields,
        graph=PipelineGraph.store(spec),
        pipeline_parameters=parameters,
        continue_on_step_failure=continue_on_step_failure,
        created_by=_owner(user),
    )


def experiment_name_for(name: str) -> str:
    """A valid experiment name made from a pipeline's name."""
    cleaned = re.sub(r"[^\w\-]+", "-", name, flags=re.ASCII).strip("-_")[:255]
    return cleaned or "pipeline-draft"


def clone_draft(
    source: PipelineDraft | PublishedPipeline | Run, *, user: AbstractUser | None = None
) -> PipelineDraft:
    """A new draft of another draft's, a published pipeline's or a run's pipeline, with its
    settings, recording what it was cloned from."""
    common = {"created_by": _owner(user), "graph_id": source.graph_id}
    if isinstance(source, PipelineDraft):
        return PipelineDraft.objects.create(
            **common,
            name=source.name,
            description=source.description,
            experiment_name=source.experiment_name,
            pipeline_parameters=source.pipeline_parameters,
            continue_on_step_failure=source.continue_on_step_failure,
            tags=source.tags,
            properties=source.properties,
            parent_pipeline_id=source.parent_pipeline_id,
            parent_pipeline_run_id=source.parent_pipeline_run_id,
            parent_step_run_ids=source.parent_step_run_ids,
            parent_pipeline_draft_id=source.id,
        )
    if isinstance(source, PublishedPipeline):
        return PipelineDraft.objects.create(
            **common,
            name=source.name,
            description=source.description,
            experiment_name=experiment_name_for(source.name),
            continue_on_step_failure=source.continue_on_step_failure,
            parent_pipeline_id=source.id,
        )
    return PipelineDraft.objects.create(
        **common,
        name=source.experiment.name,
        description=source.description,
        experiment_name=source.experiment.name,
        pipeline_parameters=source.parameters,
        continue_on_step_failure=source.continue_on_step_failure,
        tags=source.tags,
        parent_pipeline_id=source.published_pipeline_id,
        parent_pipeline_run_id=source.id,
        parent_step_run_ids=list(source.steps.order_by("position").values_list("id", flat=True)),
    )


@transaction.atomic
def update_draft(
    draft: PipelineDraft,
    *,
    graph_data: Any = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    continue_on_step_failure: bool | None = None,
    **given: Any,
) -> PipelineDraft:
    """Change what is given (None: left as it is): a new graph, the parameter values (all of
    them: those not given return to their defaults), names, tags, continue on step failure.

    With a new graph and no new values, the values that still fit it are kept.
    """
    draft = PipelineDraft.objects.select_for_update().get(pk=draft.pk)
    fields = _fields(**given)
    if graph_data is not None:
        spec = run_services.validate_submission(graph_data)
        fields["graph"] = PipelineGraph.store(spec)
    else:
        spec = draft.graph.graph()
    if pipeline_parameters is not None:
        fields["pipeline_parameters"] = _assignments(spec, pipeline_parameters)
    elif graph_data is not None:
        fields["pipeline_parameters"] = _kept(spec, draft.pipeline_parameters)
    if continue_on_step_failure is not None:
        fields["continue_on_step_failure"] = continue_on_step_failure
    for key, value in fields.items():
        setattr(draft, key, value)
    draft.updated_at = timezone.now()
    draft.save()
    return draft


def submit_draft(
    draft: PipelineDraft,
    *,
    experiment_name: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    description: str | None = None,
    run_source: str = "SDK",
    user: AbstractUser | None = None,
    token: ApiToken | None = None,
) -> Run:
    """Start a run of the draft's pipeline in its experiment with its parameter values and
    continue-on-step-failure setting; ``experiment_name`` and ``parameters`` (over the draft's
    values) change this run only. The draft records the run."""
    values = {**draft.pipeline_parameters, **dict(parameters or {})}
    with transaction.atomic():
        run = run_services.submit_run(
            experiment_name=experiment_name or draft.experiment_name,
            graph_data=draft.graph.spec,
            user=_owner(user),
            token=token,
            pipeline_parameters=values,
            continue_on_step_failure=bool(draft.continue_on_step_failure),
            tags=draft.tags,
            properties=draft.properties,
            description=description or draft.description or None,
            run_source=run_source,
            source={run_services.DRAFT: {"id": str(draft.id), "name": draft.name}},
        )
        draft.runs.add(run)
        PipelineDraft.objects.filter(pk=draft.pk).update(last_submitted_run=run)
        draft.last_submitted_run = run
    return run


def published_spec(draft: PipelineDraft) -> GraphSpec:
    """The draft's graph with its parameter values as the parameters' defaults."""
    spec = draft.graph.graph()
    data = spec.to_dict()
    for parameter in data["parameters"]:
        if parameter["name"] in draft.pipeline_parameters:
            value = draft.pipeline_parameters[parameter["name"]]
            if parameter["type"] == "dataset":
                value = {"id": value["id"], "kind": value["kind"]}
            parameter["default"] = value
    return GraphSpec.from_dict(data)


def publish_draft(
    draft: PipelineDraft,
    *,
    name: str | None = None,
    description: str | None = None,
    version: str = "",
    user: AbstractUser | None = None,
) -> PublishedPipeline:
    """Publish the draft's pipeline (its parameter values become the defaults), named as the
    draft unless ``name`` is given. The draft stays, to be edited and published again."""
    return services.publish_graph(
        graph=PipelineGraph.store(published_spec(draft)),
        name=name or draft.name,
        description=draft.description if description is None else description,
        version=version,
        continue_on_step_failure=draft.continue_on_step_failure,
        user=user,
    )


def delete_draft(draft: PipelineDraft) -> None:
    """Delete the draft; the runs it submitted and the pipelines it published stay."""
    draft.delete()


def filter_by_tags(drafts: list[PipelineDraft], tags: Mapping[str, str] | None) -> list:
    """The drafts that carry every given tag with its value (azureml's ``list(ws, tags=...)``)."""
    if not tags:
        return drafts
    return [d for d in drafts if all(d.tags.get(k) == v for k, v in tags.items())]
