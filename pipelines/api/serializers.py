"""JSON shapes of published pipelines, endpoints and Azure's PipelineRunEntity."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import serializers
from rest_framework.request import Request

from pipelines.models import PipelineDraft, PipelineEndpoint, PublishedPipeline
from runs.models import Run
from studio.workspace.urls_helpers import absolute_base_url

SUBMIT_PREFIX = "/pipelines/v1.0/PipelineRuns"


def pipeline_endpoint_url(
    pipeline: PublishedPipeline, request: HttpRequest | Request | None = None
) -> str:
    return f"{absolute_base_url(request)}{SUBMIT_PREFIX}/PipelineSubmit/{pipeline.id}"


def endpoint_url(endpoint: PipelineEndpoint, request: HttpRequest | Request | None = None) -> str:
    return f"{absolute_base_url(request)}{SUBMIT_PREFIX}/PipelineEndpointSubmit/Id/{endpoint.id}"


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    default = serializers.JSONField()


class PublishedPipelineSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    version = serializers.CharField()
    status = serializers.CharField()
    endpoint = serializers.CharField()
    graph_id = serializers.CharField()
    total_run_steps = serializers.IntegerField()
    continue_on_step_failure = serializers.BooleanField(allow_null=True)
    parameters = ParameterSerializer(many=True)
    step_names = serializers.ListField(child=serializers.CharField())
    source_run = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    url = serializers.CharField()


def published_json(
    pipeline: PublishedPipeline, request: HttpRequest | Request | None = None
) -> dict:
    spec = pipeline.graph.spec
    return {
        "id": str(pipeline.id),
        "name": pipeline.name,
        "description": pipeline.description,
        "version": pipeline.version,
        "status": pipeline.status,
        "endpoint": pipeline_endpoint_url(pipeline, request),
        "graph_id": str(pipeline.graph_id),
        "total_run_steps": len(spec["steps"]),
        "continue_on_step_failure": pipeline.continue_on_step_failure,
        "parameters": spec.get("parameters", []),
        "step_names": [s["name"] for s in spec["steps"]],
        "source_run": pipeline.source_run_id,
        "created_at": pipeline.created_at,
        "url": f"{absolute_base_url(request)}/pipelines/{pipeline.id}/",
    }


class EndpointVersionSerializer(serializers.Serializer):
    version = serializers.CharField()
    pipeline_id = serializers.CharField()


class PipelineEndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    default_version = serializers.CharField()
    endpoint = serializers.CharField()
    swaggerurl = serializers.CharField()
    pipeline_version_list = EndpointVersionSerializer(many=True)
    url = serializers.CharField()


def endpoint_json(endpoint: PipelineEndpoint, request: HttpRequest | Request | None = None) -> dict:
    url = endpoint_url(endpoint, request)
    return {
        "id": str(endpoint.id),
        "name": endpoint.name,
        "description": endpoint.description,
        "status": endpoint.status,
        "default_version": endpoint.default_version,
        "endpoint": url,
        "swaggerurl": url,
        "pipeline_version_list": [
            {"version": v.version, "pipeline_id": str(v.pipeline_id)}
            for v in endpoint.versions.all()
        ],
        "url": f"{absolute_base_url(request)}/endpoints/{endpoint.id}/",
    }


class RunStatusSerializer(serializers.Serializer):
    StatusCode = serializers.CharField()
    StatusDetail = serializers.CharField(allow_null=True)
    CreationTime = serializers.DateTimeField()
    EndTime = serializers.DateTimeField(allow_null=True)


class PipelineRunEntitySerializer(serializers.Serializer):
    Id = serializers.CharField()
    Description = serializers.CharField()
    Status = RunStatusSerializer()
    GraphId = serializers.CharField()
    IsSubmitted = serializers.BooleanField()
    HasErrors = serializers.BooleanField()
    ParameterAssignments = serializers.DictField()
    RunHistoryExperimentName = serializers.CharField()
    PipelineId = serializers.CharField(allow_null=True)
    PipelineEndpointId = serializers.CharField(allow_null=True)
    RunSource = serializers.CharField()
    RunType = serializers.CharField()
    TotalRunSteps = serializers.IntegerField()
    tags = serializers.DictField()
    Properties = serializers.DictField()
    SubmittedBy = serializers.CharField()
    RunUrl = serializers.CharField()
    CreatedDate = serializers.DateTimeField()
    Warnings = serializers.ListField(child=serializers.CharField())


def run_entity(run: Run, request: HttpRequest | Request | None = None) -> dict:
    """A run as Azure's PipelineRunEntity (the answer of a REST submit)."""
    return {
        "Id": run.id,
        "Description": run.description,
        "Status": {
            "StatusCode": run.status,
            "StatusDetail": run.error or None,
            "CreationTime": run.created_at,
            "EndTime": run.ended_at,
        },
        "GraphId": str(run.graph_id),
        "IsSubmitted": True,
        "HasErrors": bool(run.error),
        "ParameterAssignments": {
            k: (v if isinstance(v, (dict, list)) else str(v)) for k, v in run.parameters.items()
        },
        "RunHistoryExperimentName": run.experiment.name,
        "PipelineId": str(run.published_pipeline_id) if run.published_pipeline_id else None,
        "PipelineEndpointId": str(run.pipeline_endpoint_id) if run.pipeline_endpoint_id else None,
        "RunSource": run.run_source,
        "RunType": run.run_source,
        "TotalRunSteps": run.steps.count(),
        "tags": run.tags,
        "Properties": run.properties,
        "SubmittedBy": run.submitted_by,
        "RunUrl": f"{absolute_base_url(request)}/runs/{run.id}/",
        "CreatedDate": run.created_at,
        "Warnings": list(run.warnings),
    }


class PipelineDraftSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    experiment_name = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    properties = serializers.DictField(child=serializers.CharField())
    graph_draft_id = serializers.CharField()
    pipeline_parameters = serializers.DictField()
    continue_on_step_failure = serializers.BooleanField(allow_null=True)
    parameters = ParameterSerializer(many=True)
    step_names = serializers.ListField(child=serializers.CharField())
    parent_pipeline_id = serializers.CharField(allow_null=True)
    parent_pipeline_run_id = serializers.CharField(allow_null=True)
    parent_step_run_ids = serializers.ListField(child=serializers.CharField())
    parent_pipeline_draft_id = serializers.CharField(allow_null=True)
    last_submitted_pipeline_run_id = serializers.CharField(allow_null=True)
    run_ids = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.CharField()
    graph = serializers.DictField(required=False)


def draft_json(
    draft: PipelineDraft, request: HttpRequest | Request | None = None, with_graph: bool = False
) -> dict:
    spec = draft.graph.spec
    data = {
        "id": str(draft.id),
        "name": draft.name,
        "description": draft.description,
        "experiment_name": draft.experiment_name,
        "tags": draft.tags,
        "properties": draft.properties,
        "graph_draft_id": str(draft.graph_id),
        "pipeline_parameters": draft.pipeline_parameters,
        "continue_on_step_failure": draft.continue_on_step_failure,
        "parameters": spec.get("parameters", []),
        "step_names": [s["name"] for s in spec["steps"]],
        "parent_pipeline_id": str(draft.parent_pipeline_id) if draft.parent_pipeline_id else None,
        "parent_pipeline_run_id": draft.parent_pipeline_run_id or None,
        "parent_step_run_ids": list(draft.parent_step_run_ids),
        "parent_pipeline_draft_id": (
            str(draft.parent_pipeline_draft_id) if draft.parent_pipeline_draft_id else None
        ),
        "last_submitted_pipeline_run_id": draft.last_submitted_run_id,
        "run_ids": [
            r.id for r in sorted(draft.runs.all(), key=lambda r: r.created_at, reverse=True)
        ],
        "created_at": draft.created_at,
        "updated_at": draft.updated_at,
        "url": f"{absolute_base_url(request)}/drafts/{draft.id}/",
    }
    if with_graph:
        data["graph"] = spec
    return data
