"""Metrics, tags, properties and artifact files of step runs (what ``Run.get_context()`` writes)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from runs.api.views import RUN_TOKEN_PERMISSIONS
from runs.models import Metric, Run, StepRun
from studio.core.errors import StudioError
from studio.core.names import check_tags
from studio.core.paths import clean_path
from studio.workspace import roles, storage
from studio.workspace.api.errors import Conflict
from studio.workspace.api.serializers import StrictTypes
from studio.workspace.api.views import FILE_PATTERN, JSONParser
from studio.workspace.auth import RunCredential
from studio.workspace.datastores import Store, StoreConfig

if TYPE_CHECKING:
    from _typeshed import SupportsRead

KINDS = ["scalar", "list", "row", "table", "image"]


def _scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (int, str, bool)) and not (
        isinstance(value, str) and ("\x00" in value or len(value) > 10_000)
    )


class MetricBody(StrictTypes, serializers.Serializer):
    name = serializers.CharField(max_length=255)
    kind = serializers.ChoiceField(choices=KINDS, required=False, default="scalar")
    value = serializers.JSONField()
    description = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )

    def validate_name(self, value: str) -> str:
        if not value.strip() or "\x00" in value:
            raise serializers.ValidationError("Metric name must not be empty.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind, value = attrs["kind"], attrs["value"]
        if kind == "scalar":
            if isinstance(value, list):
                raise serializers.ValidationError(
                    {"value": "run.log does not support list type. Use run.log_list instead"}
                )
            if value is not None and not _scalar(value):
                raise serializers.ValidationError(
                    {"value": "A metric value must be a finite number, a string or a boolean."}
                )
        elif kind == "list":
            if (
                not isinstance(value, list)
                or len(value) > 100_000
                or not all(_scalar(v) for v in value)
            ):
                raise serializers.ValidationError(
                    {"value": "log_list takes a list of finite numbers, strings or booleans."}
                )
        elif kind == "row":
            if (
                not isinstance(value, dict)
                or not value
                or not all(_scalar(v) for v in value.values())
            ):
                raise serializers.ValidationError(
                    {"value": "log_row takes columns of finite numbers, strings or booleans."}
                )
        elif kind == "table":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(_scalar(x) for x in v) for v in value.values()
            ):
                raise serializers.ValidationError({"value": "log_table takes {column: [values]}."})
            if len({len(v) for v in value.values()}) > 1:
                raise serializers.ValidationError(
                    {"value": "log_table: all columns must have the same length."}
                )
        else:
            if not isinstance(value, str):
                raise serializers.ValidationError(
                    {"value": "An image metric names an artifact file."}
                )
            try:
                attrs["value"] = clean_path(value)
            except StudioError as exc:
                raise serializers.ValidationError({"value": str(exc)}) from None
        return attrs


class MetricOut(serializers.Serializer):
    step_run_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.JSONField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()


def _metric_json(metric: Metric, step_run_id: str | None = None) -> dict:
    return {
        "step_run_id": step_run_id or metric.step_run_id,
        "name": metric.name,
        "kind": metric.kind,
        "value": metric.value,
        "description": metric.description,
        "created_at": metric.created_at,
    }


def _step(request: Request, step_id: str, write: bool = False) -> StepRun:
    step = get_object_or_404(StepRun.objects.select_related("run__created_by"), id=step_id)
    auth = request.auth
    if isinstance(auth, RunCredential):
        if write and auth.step_run_id != step.id:
            raise PermissionDenied("A run token may only write to its own step run.")
        if not step.run.steps.filter(id=auth.step_run_id).exists():
            raise PermissionDenied("A run token may only reach the steps of its own pipeline run.")
    elif write:
        roles.authorize(request, "change", owner=step.run.created_by)
    return step


class StepMetrics(APIView):
    """A step's metrics (a reused step shows its original's); its own run token adds to them."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    @extend_schema(responses=MetricOut(many=True))
    def get(self, request: Request, step_id: str) -> Response:
        step = _step(request, step_id)
        metrics = Metric.objects.filter(step_run_id=step.log_step_id)[:100_000]
        return Response([_metric_json(m, step.id) for m in metrics])

    @extend_schema(request=MetricBody, responses={201: MetricOut})
    def post(self, request: Request, step_id: str) -> Response:
        step = _step(request, step_id, write=True)
        body = MetricBody(data=request.data)
        body.is_valid(raise_exception=True)
        metric = Metric.objects.create(step_run=step, **body.validated_data)
        return Response(_metric_json(metric), status=status.HTTP_201_CREATED)


class RunMetrics(APIView):
    """Every metric of a pipeline run: its own (``step_run_id`` null) and its steps'
    (``get_metrics(recursive=True)``). A step's run token, or a user, logs on the run itself
    (``Run.get_context().parent.log(...)``)."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    def _run(self, request: Request, run_id: str, write: bool = False) -> Run:
        run = get_object_or_404(Run.objects.select_related("created_by"), id=run_id)
        auth = request.auth
        if isinstance(auth, RunCredential):
            if not run.steps.filter(id=auth.step_run_id).exists():
                raise PermissionDenied("A run token may only reach its own pipeline run.")
        elif write:
            roles.authorize(request, "change", owner=run.created_by)
        return run

    @extend_schema(responses=MetricOut(many=True))
    def get(self, request: Request, run_id: str) -> Response:
        run = self._run(request, run_id)
        steps = {s.log_step_id: s.id for s in run.steps.only("id", "reused_from_id")}
        own = list(Metric.objects.filter(run=run).order_by("id")[:100_000])
        metrics = Metric.objects.filter(step_run_id__in=list(steps)).order_by("id")[:100_000]
        return Response(
            [_metric_json(m) for m in own]
            + [_metric_json(m, steps[m.step_run_id]) for m in metrics]
        )

    @extend_schema(request=MetricBody, responses={201: MetricOut})
    def post(self, request: Request, run_id: str) -> Response:
        run = self._run(request, run_id, write=True)
        body = MetricBody(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["kind"] == "image":
            raise ValidationError(
                {
                    "kind": "An image is logged by a step (Run.get_context().log_image), not on the pipeline run."
                }
            )
        metric = Metric.objects.create(run=run, **body.validated_data)
        return Response(_metric_json(metric), status=status.HTTP_201_CREATED)


class TagsBody(serializers.Serializer):
    def to_internal_value(self, data: Any) -> dict[str, str]:
        try:
            return dict(check_tags(data))
        except StudioError as exc:
            raise ValidationError({exc.field: exc.message}) from None


# What TagsBody takes: at most 200 names (of 1 to 255 characters) with string values.
_TAGS = {
    "type": "object",
    "additionalProperties": {"type": "string", "maxLength": 5000},
    "maxProperties": 200,
}


class StepTags(APIView):
    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    @extend_schema(request={"application/json": _TAGS}, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, step_id: str) -> Response:
        step = _step(request, step_id, write=True)
        tags = TagsBody(data=request.data)
        tags.is_valid(raise_exception=True)
        step.tags = {**step.tags, **tags.validated_data}
        step.save(update_fields=["tags"])
        return Response(step.tags)


class StepProperties(APIView):
    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [JSONParser]

    @extend_schema(request={"application/json": _TAGS}, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, step_id: str) -> Response:
        step = _step(request, step_id, write=True)
        body = TagsBody(data=request.data)
        body.is_valid(raise_exception=True)
        for key, value in body.validated_data.items():
            if key in step.properties and step.properties[key] != value:
                raise ValidationError(
                    {
                        key: f"Property {key} is already set to {step.properties[key]!r}; properties can only be added."
                    }
                )
        step.properties = {**step.properties, **body.validated_data}
        step.save(update_fields=["properties"])
        return Response(step.properties)


def _artifact_store(step: StepRun) -> Store:
    """The step's artifact folder (ExperimentRun/dcid.<id>/ on the default datastore) as a store."""
    folder = storage.step_log_dir(step.log_step_id)
    folder.mkdir(parents=True, exist_ok=True)
    return Store(StoreConfig(name="artifacts", kind="local", root=str(folder)))


# user_logs/ is the worker's (even as ./user_logs/).
_NOT_USER_LOGS = "^(?!(?:\\./+)*user_logs/)"


def _name_param(request: Request) -> str:
    try:
        name = clean_path(request.query_params.get("name", ""))
    except StudioError as exc:
        raise StudioError("name", exc.message) from None
    if not name:
        raise ValidationError({"name": "A file name is required."})
    return name


class FileOut(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()


class StepFiles(APIView):
    """Artifact files: user_logs/std_log.txt, ./outputs and ./logs of the script, uploads and images."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS

    @extend_schema(responses=FileOut(many=True))
    def get(self, request: Request, step_id: str) -> Response:
        store = _artifact_store(_step(request, step_id))
        files = [f for f in store.walk("") if ".tail" not in f.path.rsplit("/", 1)[-1]]
        return Response([{"name": f.path, "size": f.size} for f in files[:10_000]])


class _Bytes(parsers.BaseParser):
    media_type = "*/*"

    def parse(
        self,
        stream: SupportsRead[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> SupportsRead[bytes]:
        return stream


class StepFileUpload(APIView):
    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS
    parser_classes = [_Bytes]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "name", str, required=True, pattern=FILE_PATTERN.replace("^", _NOT_USER_LOGS, 1)
            )
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={201: FileOut, 409: None},
    )
    def put(self, request: Request, step_id: str) -> Response:
        step = _step(request, step_id, write=True)
        name = _name_param(request)
        if name.startswith("user_logs/"):
            raise ValidationError({"name": "user_logs/ is written by the worker."})
        try:
            size = _artifact_store(step).write_file(
                name, request.stream or _Empty(), overwrite=True
            )
        except (FileExistsError, IsADirectoryError, NotADirectoryError):
            raise Conflict(
                f"{name}: a file stands where a folder is, or a folder where a file is."
            ) from None
        except OSError as exc:
            raise ValidationError(
                {"name": f"{name} cannot be written: {exc.strerror or exc}."}
            ) from None
        return Response({"name": name, "size": size}, status=status.HTTP_201_CREATED)


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""


class StepFileDownload(APIView):
    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS

    @extend_schema(
        parameters=[OpenApiParameter("name", str, required=True, pattern=FILE_PATTERN)],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (200, "text/plain"): OpenApiTypes.STR,
            (200, "image/png"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request, step_id: str) -> FileResponse:
        step = _step(request, step_id)
        name = _name_param(request)
        try:
            handle = _artifact_store(step).open_read(name)
        except StudioError as exc:
            raise StudioError("name", exc.message) from None
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"Step run {step.id} has no file {name}.") from None
        content_type = (
            "text/plain; charset=utf-8"
            if name.endswith((".txt", ".log"))
            else "application/octet-stream"
        )
        if name.endswith(".png"):
            content_type = "image/png"
        return FileResponse(handle, filename=name.rsplit("/", 1)[-1], content_type=content_type)
