"""Pipeline drafts API: the SDK's PipelineDraft.create/get/list/update/submit_run/publish/delete."""

from __future__ import annotations

import json
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines import drafts
from pipelines.api import serializers as out
from pipelines.api.views import _uuid_or_404
from pipelines.models import PipelineDraft, PublishedPipeline
from runs.api.serializers import RunDetailSerializer
from runs.models import Run
from studio.core.names import EXPERIMENT_NAME, EXPERIMENT_NAME_MESSAGE
from studio.workspace import roles
from studio.workspace.api.serializers import JSONObjectField, StrictTypes, name_field
from studio.workspace.api.views import JSONParser
from studio.workspace.models import ApiToken


def _experiment_name(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(
        EXPERIMENT_NAME,
        trim_whitespace=False,
        error_messages={"invalid": EXPERIMENT_NAME_MESSAGE},
        **kwargs,
    )


def _string_map() -> serializers.DictField:
    return serializers.DictField(
        child=serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False),
        required=False,
        allow_null=True,
    )


class DraftBody(StrictTypes, serializers.Serializer):
    name = name_field("pipeline draft")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, allow_null=True, default=""
    )
    experiment_name = _experiment_name()
    graph = JSONObjectField()
    pipeline_parameters = serializers.DictField(
        child=serializers.JSONField(), required=False, allow_null=True
    )
    continue_on_step_failure = serializers.BooleanField(
        required=False, allow_null=True, default=None
    )
    tags = _string_map()
    properties = _string_map()


class DraftUpdateBody(StrictTypes, serializers.Serializer):
    name = name_field("pipeline draft", required=False, allow_null=True)
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, allow_null=True
    )
    experiment_name = _experiment_name(required=False, allow_null=True)
    graph = JSONObjectField(required=False, allow_null=True)
    pipeline_parameters = serializers.DictField(
        child=serializers.JSONField(), required=False, allow_null=True
    )
    continue_on_step_failure = serializers.BooleanField(required=False, allow_null=True)
    tags = _string_map()


class CloneBody(StrictTypes, serializers.Serializer):
    """What to clone: exactly one of a draft, a published pipeline or a pipeline run."""

    pipeline_draft_id = serializers.UUIDField(required=False, allow_null=True)
    published_pipeline_id = serializers.UUIDField(required=False, allow_null=True)
    pipeline_run_id = serializers.CharField(max_length=36, required=False, allow_null=True)


class DraftSubmitBody(StrictTypes, serializers.Serializer):
    experiment_name = _experiment_name(required=False, allow_null=True)


class DraftPublishBody(StrictTypes, serializers.Serializer):
    name = name_field("published pipeline", required=False, allow_null=True)
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, allow_null=True
    )
    version = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True, default=""
    )


def _draft(draft_id: str, request: Request | None = None) -> PipelineDraft:
    """The draft of a URL; given the ``request``, one it may change."""
    draft = get_object_or_404(
        PipelineDraft.objects.select_related("graph", "created_by"),
        id=_uuid_or_404(draft_id, "pipeline draft"),
    )
    if request is not None:
        roles.authorize(request, "change", owner=draft.created_by)
    return draft


def _tags_query(request: Request) -> dict[str, str] | None:
    raw = request.query_params.get("tags")
    if not raw:
        return None
    try:
        tags = json.loads(raw)
    except ValueError:
        tags = None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ValidationError({"tags": 'tags must be a JSON object of strings: {"name": "value"}.'})
    return tags


class PipelineDraftList(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "tags",
                str,
                description='Only drafts with these tags: a JSON object {"name": "value"}',
            )
        ],
        responses=out.PipelineDraftSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        rows = list(PipelineDraft.objects.select_related("graph").prefetch_related("runs")[:1000])
        rows = drafts.filter_by_tags(rows, _tags_query(request))
        return Response([out.draft_json(d, request) for d in rows])

    @extend_schema(request=DraftBody, responses={201: out.PipelineDraftSerializer})
    def post(self, request: Request) -> Response:
        body = DraftBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        draft = drafts.create_draft(
            graph_data=data["graph"],
            name=data["name"],
            description=data["description"] or "",
            experiment_name=data["experiment_name"],
            pipeline_parameters=data.get("pipeline_parameters"),
            continue_on_step_failure=data["continue_on_step_failure"],
            tags=data.get("tags"),
            properties=data.get("properties"),
            user=request.user,
        )
        return Response(out.draft_json(draft, request, True), status=status.HTTP_201_CREATED)


class PipelineDraftClone(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=CloneBody, responses={201: out.PipelineDraftSerializer})
    def post(self, request: Request) -> Response:
        body = CloneBody(data=request.data)
        body.is_valid(raise_exception=True)
        given = {k: v for k, v in body.validated_data.items() if v}
        if len(given) != 1:
            raise ValidationError(
                {
                    "pipeline_draft_id": "Name exactly one of pipeline_draft_id, "
                    "published_pipeline_id and pipeline_run_id."
                }
            )
        ((field, value),) = given.items()
        source: PipelineDraft | PublishedPipeline | Run | None
        if field == "pipeline_draft_id":
            source = PipelineDraft.objects.filter(id=value).first()
            what = "pipeline draft"
        elif field == "published_pipeline_id":
            source = PublishedPipeline.objects.filter(id=value).first()
            what = "published pipeline"
        else:
            source = Run.objects.select_related("experiment").filter(id=value).first()
            what = "pipeline run"
        if source is None:
            raise ValidationError({field: f"No {what} with id {value}."})
        draft = drafts.clone_draft(source, user=request.user)
        return Response(out.draft_json(draft, request, True), status=status.HTTP_201_CREATED)


class PipelineDraftDetail(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses=out.PipelineDraftSerializer)
    def get(self, request: Request, draft_id: str) -> Response:
        return Response(out.draft_json(_draft(draft_id), request, True))

    @extend_schema(request=DraftUpdateBody, responses=out.PipelineDraftSerializer)
    def patch(self, request: Request, draft_id: str) -> Response:
        draft = _draft(draft_id, request)
        body = DraftUpdateBody(data=request.data)
        body.is_valid(raise_exception=True)
        given = dict(body.validated_data)
        draft = drafts.update_draft(draft, graph_data=given.pop("graph", None), **given)
        return Response(out.draft_json(draft, request, True))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, draft_id: str) -> Response:
        drafts.delete_draft(_draft(draft_id, request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PipelineDraftSubmit(APIView):
    """Start a run of the draft (in its experiment, or ``experiment_name``)."""

    parser_classes = [JSONParser]

    @extend_schema(request=DraftSubmitBody, responses={201: RunDetailSerializer})
    def post(self, request: Request, draft_id: str) -> Response:
        draft = _draft(draft_id)
        roles.authorize(request, "create")
        body = DraftSubmitBody(data=request.data)
        body.is_valid(raise_exception=True)
        run = drafts.submit_draft(
            draft,
            experiment_name=body.validated_data.get("experiment_name"),
            user=request.user,
            token=_token(request),
        )
        run = Run.objects.select_related("experiment", "graph").get(id=run.id)
        result = RunDetailSerializer(run, context={"request": request})
        return Response(result.data, status=status.HTTP_201_CREATED)


class PipelineDraftPublish(APIView):
    """Publish the draft's pipeline, its parameter values as the defaults."""

    parser_classes = [JSONParser]

    @extend_schema(request=DraftPublishBody, responses={201: out.PublishedPipelineSerializer})
    def post(self, request: Request, draft_id: str) -> Response:
        draft = _draft(draft_id)
        roles.authorize(request, "create")
        body = DraftPublishBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        pipeline = drafts.publish_draft(
            draft,
            name=data.get("name"),
            description=data.get("description"),
            version=data.get("version") or "",
            user=request.user,
        )
        return Response(out.published_json(pipeline, request), status=status.HTTP_201_CREATED)


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None
