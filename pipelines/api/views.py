"""Published pipelines and endpoints: Azure's REST submit endpoints and the SDK's management API."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines import services
from pipelines.api import serializers as out
from pipelines.api.submission import MAX_BODY_BYTES, PipelineSubmissionInfo, parse_submission
from pipelines.models import PipelineEndpoint, PublishedPipeline
from runs.models import Run
from studio.core.errors import StudioError
from studio.workspace import roles
from studio.workspace.api.serializers import JSONObjectField, StrictTypes, name_field
from studio.workspace.api.views import JSONParser, query_bool
from studio.workspace.auth import RunCredential
from studio.workspace.models import ApiToken

if TYPE_CHECKING:
    from _typeshed import SupportsRead


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = f"The request body is over {MAX_BODY_BYTES // 1024} KB."
    default_code = "payload_too_large"


class _LimitedJSONParser(parsers.BaseParser):
    """JSON of at most 1 MB, whatever Content-Length says (or does not say)."""

    media_type = "*/*"

    def parse(
        self,
        stream: SupportsRead[bytes] | None,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:  # any JSON
        if stream is None:
            return {}
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ValidationError({"body": f"The body is not valid JSON: {exc}"}) from None


def _uuid_or_404(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"No {what} with id {value}.") from None


def _refuse_large(request: Request) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise PayloadTooLarge()


def _submit(
    request: Request, pipeline: PublishedPipeline, endpoint: PipelineEndpoint | None
) -> Response:
    auth = request.auth
    if isinstance(auth, RunCredential):
        raise PermissionDenied("A run token cannot submit pipelines.")
    roles.authorize(request, "submit", pipeline=pipeline, endpoint=endpoint)
    _refuse_large(request)
    submission = parse_submission(request.data)
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and (len(key) > 255 or "\x00" in key):
        raise ValidationError(
            {"Idempotency-Key": "The Idempotency-Key header must be at most 255 characters."}
        )
    try:
        run, _ = services.submit_published(
            pipeline,
            experiment_name=submission.experiment_name,
            parameters=submission.parameters,
            description=submission.description,
            run_source=submission.run_source,
            tags=submission.tags,
            properties=submission.properties,
            continue_on_step_failure=submission.continue_on_step_failure,
            user=request.user,
            token=auth if isinstance(auth, ApiToken) else None,
            idempotency_key=key,
            endpoint=endpoint,
            dispatch_in_worker=True,  # the answer comes at once; the worker does the rest
            ignore_unknown_parameters=True,  # as Azure does, but the answer says so
        )
    except StudioError as exc:
        if exc.field.startswith("pipeline_parameters"):  # Azure's name for the parameters
            field = exc.field.replace("pipeline_parameters", "ParameterAssignments", 1)
            raise StudioError(field, exc.message, exc.status) from None
        raise
    return Response(out.run_entity(run, request), status=status.HTTP_200_OK)


_SUBMIT_SCHEMA = dict(
    request={"application/json": PipelineSubmissionInfo},
    parameters=[
        OpenApiParameter(
            "Idempotency-Key",
            {"type": "string", "maxLength": 255},
            OpenApiParameter.HEADER,
            description="Retries with the same key return the same run",
        )
    ],
    responses={200: out.PipelineRunEntitySerializer, 409: None, 413: None},
)


class PipelineSubmit(APIView):
    """Azure's ``PipelineRuns/PipelineSubmit/{id}``: GET describes, POST starts a run."""

    parser_classes = [_LimitedJSONParser]
    allow_limited_token = True

    @extend_schema(
        responses=out.PublishedPipelineSerializer, operation_id="pipeline_submit_describe"
    )
    def get(self, request: Request, pipeline_id: str) -> Response:
        pipeline = get_object_or_404(
            PublishedPipeline.objects.select_related("graph"),
            id=_uuid_or_404(pipeline_id, "published pipeline"),
        )
        roles.authorize(request, "read", pipeline=pipeline)
        return Response(out.published_json(pipeline, request))

    @extend_schema(**_SUBMIT_SCHEMA, operation_id="pipeline_submit")
    def post(self, request: Request, pipeline_id: str) -> Response:
        pipeline = get_object_or_404(
            PublishedPipeline.objects.select_related("graph"),
            id=_uuid_or_404(pipeline_id, "published pipeline"),
        )
        return _submit(request, pipeline, None)


class PipelineEndpointSubmit(APIView):
    """Azure's ``PipelineRuns/PipelineEndpointSubmit/Id/{id}[/{version}]``, and
    ``PipelineRuns/PipelineEndpointSubmit/Name?name=...[&pipelineVersion=...]``."""

    parser_classes = [_LimitedJSONParser]
    allow_limited_token = True

    def _resolve(
        self, request: Request, endpoint_id: str | None, version: str | None
    ) -> tuple[PipelineEndpoint, PublishedPipeline]:
        if endpoint_id is None:
            name = request.query_params.get("name") or ""
            endpoint = PipelineEndpoint.objects.filter(name=name).first()
            if endpoint is None:
                raise NotFound(
                    f"No pipeline endpoint named {name!r}."
                    if name
                    else "Name the pipeline endpoint: ...PipelineEndpointSubmit/Name?name=<name>."
                )
        else:
            endpoint = get_object_or_404(
                PipelineEndpoint, id=_uuid_or_404(endpoint_id, "pipeline endpoint")
            )
        version = version or request.query_params.get("pipelineVersion") or None
        return endpoint, services.endpoint_pipeline(endpoint, version)

    @extend_schema(
        responses=out.PipelineEndpointSerializer, operation_id="pipeline_endpoint_submit_describe"
    )
    def get(
        self, request: Request, endpoint_id: str | None = None, version: str | None = None
    ) -> Response:
        endpoint, pipeline = self._resolve(request, endpoint_id, version)
        roles.authorize(request, "read", pipeline=pipeline, endpoint=endpoint)
        return Response(out.endpoint_json(endpoint, request))

    @extend_schema(**_SUBMIT_SCHEMA, operation_id="pipeline_endpoint_submit")
    def post(
        self, request: Request, endpoint_id: str | None = None, version: str | None = None
    ) -> Response:
        endpoint, pipeline = self._resolve(request, endpoint_id, version)
        return _submit(request, pipeline, endpoint)


class PipelineEndpointVersionSubmit(PipelineEndpointSubmit):
    """Azure's ``PipelineRuns/PipelineEndpointSubmit/Id/{id}/{version}``."""

    @extend_schema(
        responses=out.PipelineEndpointSerializer,
        operation_id="pipeline_endpoint_version_submit_describe",
    )
    def get(
        self, request: Request, endpoint_id: str | None = None, version: str | None = None
    ) -> Response:
        return super().get(request, endpoint_id, version)

    @extend_schema(**_SUBMIT_SCHEMA, operation_id="pipeline_endpoint_version_submit")
    def post(
        self, request: Request, endpoint_id: str | None = None, version: str | None = None
    ) -> Response:
        return super().post(request, endpoint_id, version)


_BY_NAME = [
    OpenApiParameter("name", str, required=True, description="The pipeline endpoint's name"),
    OpenApiParameter("pipelineVersion", str, description="A version; default: the default version"),
]


class PipelineEndpointSubmitByName(PipelineEndpointSubmit):
    """Azure's ``PipelineRuns/PipelineEndpointSubmit/Name?name=...[&pipelineVersion=...]``."""

    @extend_schema(
        parameters=_BY_NAME,
        responses={200: out.PipelineEndpointSerializer, 404: None},
        operation_id="pipeline_endpoint_submit_by_name_describe",
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        **{
            **_SUBMIT_SCHEMA,
            "parameters": [*_SUBMIT_SCHEMA["parameters"], *_BY_NAME],
            "responses": {**_SUBMIT_SCHEMA["responses"], 404: None},
        },
        operation_id="pipeline_endpoint_submit_by_name",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


# --- management API (the SDK's PublishedPipeline and PipelineEndpoint) -------------------


class PublishBody(StrictTypes, serializers.Serializer):
    name = name_field("published pipeline")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    version = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True, default=""
    )
    continue_on_step_failure = serializers.BooleanField(
        required=False, allow_null=True, default=None
    )


class PublishGraphBody(PublishBody):
    graph = JSONObjectField()


class PublishedPipelineList(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[OpenApiParameter("active_only", bool)],
        responses=out.PublishedPipelineSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        pipelines = PublishedPipeline.objects.select_related("graph")
        if query_bool(request, "active_only", True):
            pipelines = pipelines.filter(status="Active")
        return Response([out.published_json(p, request) for p in pipelines[:1000]])

    @extend_schema(request=PublishGraphBody, responses={201: out.PublishedPipelineSerializer})
    def post(self, request: Request) -> Response:
        body = PublishGraphBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        pipeline = services.publish_pipeline(
            graph_data=data["graph"],
            user=request.user,
            name=data["name"],
            description=data["description"],
            version=data["version"] or "",
            continue_on_step_failure=data["continue_on_step_failure"],
        )
        return Response(out.published_json(pipeline, request), status=status.HTTP_201_CREATED)


class PublishedPipelineDetail(APIView):
    @extend_schema(responses=out.PublishedPipelineSerializer)
    def get(self, request: Request, pipeline_id: str) -> Response:
        pipeline = get_object_or_404(
            PublishedPipeline.objects.select_related("graph"),
            id=_uuid_or_404(pipeline_id, "published pipeline"),
        )
        return Response(out.published_json(pipeline, request))


ACTION = OpenApiParameter(
    "action", str, OpenApiParameter.PATH, enum=["enable", "disable"], description="The new status"
)


def status_for(action: str) -> str:
    """The status an ``enable``/``disable`` URL asks for; any other action is not found."""
    if action not in ("enable", "disable"):
        raise NotFound(f"No action {action}: use enable or disable.")
    return "Active" if action == "enable" else "Disabled"


class PublishedPipelineStatus(APIView):
    @extend_schema(
        request=None,
        responses=out.PublishedPipelineSerializer,
        parameters=[ACTION],
        operation_id="api_publishedpipelines_status",
    )
    def post(self, request: Request, pipeline_id: str, action: str) -> Response:
        pipeline = get_object_or_404(
            PublishedPipeline.objects.select_related("created_by"),
            id=_uuid_or_404(pipeline_id, "published pipeline"),
        )
        roles.authorize(request, "change", owner=pipeline.created_by)
        services.set_status(pipeline, status_for(action))
        return Response(out.published_json(pipeline, request))


class RunPublish(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=PublishBody, responses={201: out.PublishedPipelineSerializer, 409: None})
    def post(self, request: Request, run_id: str) -> Response:
        run = get_object_or_404(Run.objects.select_related("graph"), id=run_id)
        body = PublishBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        pipeline = services.publish_run(
            run,
            user=request.user,
            name=data["name"],
            description=data["description"],
            version=data["version"] or "",
            continue_on_step_failure=data["continue_on_step_failure"],
        )
        return Response(out.published_json(pipeline, request), status=status.HTTP_201_CREATED)


class EndpointBody(StrictTypes, serializers.Serializer):
    name = name_field("pipeline endpoint")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    pipeline_id = serializers.UUIDField()


def _pipeline(pipeline_id: uuid.UUID) -> PublishedPipeline:
    pipeline = PublishedPipeline.objects.filter(id=pipeline_id).first()
    if pipeline is None:
        raise ValidationError({"pipeline_id": f"No published pipeline with id {pipeline_id}."})
    return pipeline


class PipelineEndpointList(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[OpenApiParameter("active_only", bool), OpenApiParameter("name", str)],
        responses=out.PipelineEndpointSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        endpoints = PipelineEndpoint.objects.prefetch_related("versions")
        if query_bool(request, "active_only", True):
            endpoints = endpoints.filter(status="Active")
        if request.query_params.get("name"):
            endpoints = endpoints.filter(name=request.query_params["name"])
        return Response([out.endpoint_json(e, request) for e in endpoints[:1000]])

    @extend_schema(request=EndpointBody, responses={201: out.PipelineEndpointSerializer})
    def post(self, request: Request) -> Response:
        body = EndpointBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        endpoint = services.publish_endpoint(
            name=data["name"],
            description=data["description"],
            pipeline=_pipeline(data["pipeline_id"]),
            user=request.user,
        )
        return Response(out.endpoint_json(endpoint, request), status=status.HTTP_201_CREATED)


def _endpoint(endpoint_id: str, request: Request | None = None) -> PipelineEndpoint:
    """The endpoint of a URL; given the ``request``, one it may change."""
    endpoint = get_object_or_404(
        PipelineEndpoint.objects.select_related("created_by"),
        id=_uuid_or_404(endpoint_id, "pipeline endpoint"),
    )
    if request is not None:
        roles.authorize(request, "change", owner=endpoint.created_by)
    return endpoint


class RenameBody(StrictTypes, serializers.Serializer):
    name = name_field("pipeline endpoint", required=False)


class PipelineEndpointDetail(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses=out.PipelineEndpointSerializer)
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(out.endpoint_json(_endpoint(endpoint_id), request))

    @extend_schema(request=RenameBody, responses=out.PipelineEndpointSerializer)
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint(endpoint_id, request)
        body = RenameBody(data=request.data)
        body.is_valid(raise_exception=True)
        if "name" in body.validated_data:
            services.rename_endpoint(endpoint, body.validated_data["name"])
        return Response(out.endpoint_json(endpoint, request))


class VersionBody(StrictTypes, serializers.Serializer):
    pipeline_id = serializers.UUIDField()
    set_default = serializers.BooleanField(required=False, default=False)


class PipelineEndpointVersions(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=VersionBody, responses={201: out.PipelineEndpointSerializer})
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint(endpoint_id, request)
        body = VersionBody(data=request.data)
        body.is_valid(raise_exception=True)
        services.add_endpoint_version(
            endpoint,
            _pipeline(body.validated_data["pipeline_id"]),
            body.validated_data["set_default"],
        )
        endpoint.refresh_from_db()
        return Response(out.endpoint_json(endpoint, request), status=status.HTTP_201_CREATED)


class DefaultBody(StrictTypes, serializers.Serializer):
    version = serializers.CharField(max_length=16)


class PipelineEndpointDefault(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=DefaultBody, responses=out.PipelineEndpointSerializer)
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint(endpoint_id, request)
        body = DefaultBody(data=request.data)
        body.is_valid(raise_exception=True)
        services.set_default_version(endpoint, body.validated_data["version"])
        return Response(out.endpoint_json(endpoint, request))


class PipelineEndpointStatus(APIView):
    @extend_schema(
        request=None,
        responses=out.PipelineEndpointSerializer,
        parameters=[ACTION],
        operation_id="api_pipelineendpoints_status",
    )
    def post(self, request: Request, endpoint_id: str, action: str) -> Response:
        endpoint = services.set_status(_endpoint(endpoint_id, request), status_for(action))
        return Response(out.endpoint_json(endpoint, request))
