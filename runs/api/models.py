"""The model registry over HTTP (``studio.sdk.core.Model``): register, list, read, update and
delete model versions, download their files, register from a step run's artifacts
(``run.register_model``) and record a step's read (``Model.get_model_path``).

The registry is the workspace's (``studio.workspace.models_registry``); these views live with
the runs because a step's run token reaches them and a model names the step that made it.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from runs.api.artifacts import _artifact_store, _step
from runs.api.views import RUN_TOKEN_PERMISSIONS
from studio.core.errors import StudioError
from studio.core.names import MODEL_NAME, schema_pattern
from studio.workspace import models_registry as registry
from studio.workspace import roles
from studio.workspace.api.serializers import StrictTypes
from studio.workspace.api.views import FILE_PATTERN, PATH_PATTERN, JSONParser, query_bool
from studio.workspace.auth import RunCredential
from studio.workspace.services import get_datastore

# Where Model.register uploads a model's files before they are registered (as azureml does).
UPLOAD_PREFIX = "LocalUpload/"


class DatasetRef(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    id = serializers.CharField(max_length=36)


class _ModelFields(StrictTypes, serializers.Serializer):
    name = serializers.CharField(max_length=255)
    tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    properties = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False
    )
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    datasets = DatasetRef(many=True, required=False)
    model_framework = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True, default=""
    )
    model_framework_version = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True, default=""
    )
    sample_input_dataset = serializers.CharField(
        max_length=36, required=False, allow_blank=True, allow_null=True, default=""
    )
    sample_output_dataset = serializers.CharField(
        max_length=36, required=False, allow_blank=True, allow_null=True, default=""
    )


class RegisterBody(_ModelFields):
    datastore = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    path = serializers.RegexField(PATH_PATTERN, max_length=1024)


class RegisterFromRunBody(_ModelFields):
    model_path = serializers.RegexField(PATH_PATTERN, max_length=1024, required=False)


class UpdateBody(StrictTypes, serializers.Serializer):
    tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    add_tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    remove_tags = serializers.ListField(child=serializers.CharField(), required=False)
    add_properties = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False
    )
    description = serializers.CharField(required=False, allow_blank=True)


class ReadBody(StrictTypes, serializers.Serializer):
    asked = serializers.RegexField(r"^(latest|[0-9]{1,9})$", required=False, default="latest")


class ModelFile(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class ModelOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    tags = serializers.DictField(child=serializers.CharField())
    properties = serializers.DictField(child=serializers.CharField())
    description = serializers.CharField()
    model_framework = serializers.CharField(allow_null=True)
    model_framework_version = serializers.CharField(allow_null=True)
    datasets = DatasetRef(many=True)
    sample_input_dataset_id = serializers.CharField(allow_null=True)
    sample_output_dataset_id = serializers.CharField(allow_null=True)
    run_id = serializers.CharField(allow_null=True)
    pipeline_run_id = serializers.CharField(allow_null=True)
    experiment_name = serializers.CharField(allow_null=True)
    created_time = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    url = serializers.CharField()
    datastore = serializers.CharField()
    path = serializers.CharField()
    files = ModelFile(many=True)


def _fields(data: dict) -> dict[str, Any]:
    return {
        "name": data["name"],
        "tags": data.get("tags"),
        "properties": data.get("properties"),
        "description": data.get("description") or "",
        "datasets": [dict(d) for d in data.get("datasets", [])],
        "model_framework": data.get("model_framework") or "",
        "model_framework_version": data.get("model_framework_version") or "",
        "sample_input_dataset": data.get("sample_input_dataset") or "",
        "sample_output_dataset": data.get("sample_output_dataset") or "",
    }


def _filter(request: Request, name: str) -> Any:
    """A tags/properties filter: a JSON list (``["key", ["key2", "value"]]``) or ``key=value,key2``."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    if raw.startswith("["):
        try:
            return json.loads(raw)
        except ValueError:
            raise ValidationError({name: "Not a JSON list."}) from None
    return raw


_VERSION = OpenApiParameter(
    "version",
    str,
    OpenApiParameter.PATH,
    pattern=r"^(latest|[0-9]{1,9})$",
    description="A version number or 'latest'",
)
_NAME = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, pattern=schema_pattern(MODEL_NAME), description="Model name"
)


class ModelList(APIView):
    """Model versions (``Model.list``); POST registers files already on a datastore
    (``Model.register`` uploads them first)."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("name", str),
            OpenApiParameter(
                "tags", str, description='["key", ["key2", "value"]] or key=value,key2'
            ),
            OpenApiParameter("properties", str),
            OpenApiParameter("run_id", str),
            OpenApiParameter("dataset_id", str),
            OpenApiParameter("model_framework", str),
            OpenApiParameter("latest", bool),
        ],
        responses=ModelOut(many=True),
    )
    def get(self, request: Request) -> Response:
        found = registry.list_versions(
            name=request.query_params.get("name"),
            tags=_filter(request, "tags"),
            properties=_filter(request, "properties"),
            run_id=request.query_params.get("run_id"),
            dataset_id=request.query_params.get("dataset_id"),
            model_framework=request.query_params.get("model_framework"),
            latest=query_bool(request, "latest", False),
        )
        return Response([registry.as_json(v) for v in found])

    @extend_schema(request=RegisterBody, responses={201: ModelOut})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, RunCredential):
            raise PermissionDenied(
                "A step registers a model from its own files (POST /api/steps/<id>/models/)."
            )
        body = RegisterBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        datastore = get_datastore(data["datastore"] or None)
        store = datastore.store()
        version = registry.register_model(
            **_fields(data),
            source=store,
            source_path=data["path"],
            user=request.user,
            path_field="path",
        )
        if data["path"].startswith(UPLOAD_PREFIX):
            # The upload (LocalUpload/<container>/...) was only on its way here.
            store.delete("/".join(data["path"].split("/")[:2]))
        return Response(registry.as_json(version), status=status.HTTP_201_CREATED)


class ModelDetail(APIView):
    """One model version (``Model(ws, name, version)``); PATCH changes its tags, properties or
    description; DELETE removes it and its files (its creator or an admin)."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    @extend_schema(parameters=[_NAME, _VERSION], responses=ModelOut)
    def get(self, request: Request, name: str, version: str) -> Response:
        return Response(registry.as_json(registry.get_version(name, version)))

    @extend_schema(parameters=[_NAME, _VERSION], request=UpdateBody, responses=ModelOut)
    def patch(self, request: Request, name: str, version: str) -> Response:
        model = self._changeable(request, name, version)
        body = UpdateBody(data=request.data)
        body.is_valid(raise_exception=True)
        registry.update_version(model, **body.validated_data)
        return Response(registry.as_json(model))

    @extend_schema(parameters=[_NAME, _VERSION], request=None, responses={204: None})
    def delete(self, request: Request, name: str, version: str) -> Response:
        registry.delete_version(self._changeable(request, name, version))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _changeable(self, request: Request, name: str, version: str):
        if isinstance(request.auth, RunCredential):
            raise PermissionDenied("A run token may not change registered models.")
        model = registry.get_version(name, version)
        roles.authorize(request, "change", owner=model.created_by)
        return model


class ModelFileDownload(APIView):
    """One file of a model version, by its path in the version's manifest."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS

    @extend_schema(
        parameters=[
            _NAME,
            _VERSION,
            OpenApiParameter("path", str, required=True, pattern=FILE_PATTERN),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, name: str, version: str) -> FileResponse:
        model = registry.get_version(name, version)
        path = request.query_params.get("path", "")
        if not path:
            raise ValidationError({"path": "This query parameter is required."})
        handle = registry.open_file(model, path)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=path.rsplit("/", 1)[-1],
            content_type="application/octet-stream",
        )


class ModelReads(APIView):
    """A step (with its run token) notes that it loaded this version (``Model.get_model_path``)."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    @extend_schema(parameters=[_NAME, _VERSION], request=ReadBody, responses={201: ModelOut})
    def post(self, request: Request, name: str, version: str) -> Response:
        if not isinstance(request.auth, RunCredential):
            raise ValidationError(
                {"Authorization": "Only a step's run token records that its step read a model."}
            )
        body = ReadBody(data=request.data)
        body.is_valid(raise_exception=True)
        model = registry.get_version(name, version)
        registry.record_read(model, request.auth.step_run_id, body.validated_data["asked"])
        return Response(registry.as_json(model), status=status.HTTP_201_CREATED)


class StepModels(APIView):
    """Register a model from a step run's files (``run.register_model``): ``model_path`` (by
    default the model's name) is a file or folder among them, such as ``outputs/model.pkl``."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    @extend_schema(request=RegisterFromRunBody, responses={201: ModelOut})
    def post(self, request: Request, step_id: str) -> Response:
        step = _step(request, step_id)
        body = RegisterFromRunBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        model_path = data.get("model_path") or data["name"]
        store = _artifact_store(step)
        if not registry.files_at(store, model_path):
            uploaded = sorted(
                f.path for f in store.walk("") if ".tail" not in f.path.rsplit("/", 1)[-1]
            )[:100]
            raise StudioError(
                "model_path",
                f"Could not locate the provided model_path {model_path} in the set of files "
                f"uploaded to the run: {uploaded}\n{registry.RUN_LOGGING_HINT}",
            )
        version = registry.register_model(
            **_fields(data),
            source=store,
            source_path=model_path,
            step_run_id=step.id,
            pipeline_run_id=step.run_id,
            experiment_name=step.run.experiment.name,
            user=request.user,
        )
        return Response(registry.as_json(version), status=status.HTTP_201_CREATED)
