"""REST API for experiments, pipeline runs, step runs, logs and metrics."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from runs import parallel, services
from runs.api import serializers
from runs.models import Experiment, Run, StepRun
from studio.core.status import TERMINAL
from studio.workspace import roles, storage
from studio.workspace.api.permissions import TokenScope
from studio.workspace.api.views import JSONParser
from studio.workspace.auth import RunCredential
from studio.workspace.models import ApiToken, ComputeTarget


class NewestFirst(CursorPagination):
    ordering = "-created_at"
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        """``page_size`` if given (at most ``max_page_size``); a bad one is a 400, not ignored."""
        size = _int_param(request, self.page_size_query_param, self.page_size, 1, None)
        return min(size, self.max_page_size)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor that is not one of ours is a 404, as DRF has it, even if it decodes."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                position = parse_datetime(cursor.position)
            except ValueError:
                position = None
            if position is None:  # it would reach the database as a bad timestamp
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] += f" (at most {self.max_page_size} are returned)"
        return parameters


@extend_schema_view(
    post=extend_schema(
        responses={200: serializers.ExperimentSerializer, 201: serializers.ExperimentSerializer}
    )
)
class ExperimentList(generics.ListCreateAPIView):
    parser_classes = [JSONParser]
    serializer_class = serializers.ExperimentSerializer
    queryset = Experiment.objects.all()
    pagination_class = None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Get or create an experiment by name (azureml's ``Experiment(ws, name)``)."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        experiment, created = Experiment.objects.get_or_create(name=body.validated_data["name"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(experiment).data, status=code)


class ExperimentDetail(generics.RetrieveAPIView):
    serializer_class = serializers.ExperimentSerializer
    queryset = Experiment.objects.all()
    lookup_field = "name"


class RunList(generics.ListCreateAPIView):
    """Pipeline runs, newest first; POST submits a pipeline."""

    parser_classes = [JSONParser]

    serializer_class = serializers.RunSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Run]:
        runs = Run.objects.select_related("experiment", "created_by", "created_by_token")
        experiment = self.request.query_params.get("experiment")
        if experiment:
            runs = runs.filter(experiment__name=experiment)
        return runs

    @extend_schema(
        parameters=[
            OpenApiParameter("experiment", str, description="Only runs of this experiment")
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=serializers.SubmitRunSerializer, responses={201: serializers.RunDetailSerializer}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.SubmitRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        token = _submitting_token(request)
        run = services.submit_run(
            experiment_name=data["experiment_name"],
            graph_data=data["graph"],
            user=request.user,
            token=token,
            pipeline_parameters=data["pipeline_parameters"],
            regenerate_outputs=data["regenerate_outputs"],
            continue_on_step_failure=data["continue_on_step_failure"],
            tags=data["tags"],
            description=data["description"],
        )
        run = Run.objects.select_related("experiment", "graph").get(id=run.id)
        out = serializers.RunDetailSerializer(run, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


class LiveRunToken(permissions.BasePermission):
    """A step's run token works while its attempt runs: not once it ended or was retried."""

    message = "This run token's step attempt has ended."

    def has_permission(self, request: Request, view: APIView) -> bool:
        auth = request.auth
        if not isinstance(auth, RunCredential):
            return True
        return (
            StepRun.objects.filter(id=auth.step_run_id, attempt=auth.attempt)
            .exclude(status__in=TERMINAL)
            .exists()
        )


# The permissions of the views a step's run token reaches.
RUN_TOKEN_PERMISSIONS = [TokenScope, LiveRunToken]


def _run_for(request: Request, run_id: str) -> Run:
    run = get_object_or_404(
        Run.objects.select_related("experiment", "graph", "created_by"), id=run_id
    )
    auth = request.auth
    if isinstance(auth, RunCredential) and not run.steps.filter(id=auth.step_run_id).exists():
        raise PermissionDenied("A run token may only read its own pipeline run.")
    return run


class RunDetail(APIView):
    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS

    @extend_schema(responses=serializers.RunDetailSerializer)
    def get(self, request: Request, run_id: str) -> Response:
        run = _run_for(request, run_id)
        return Response(serializers.RunDetailSerializer(run, context={"request": request}).data)

    @extend_schema(
        request=serializers.UpdateRunSerializer, responses=serializers.RunDetailSerializer
    )
    def patch(self, request: Request, run_id: str) -> Response:
        """Set the run's display name and tags (azureml's ``run.display_name = ...``,
        ``run.tag``, ``run.set_tags``, ``run.remove_tags``): its owner or an admin, or a step
        of the run with its run token."""
        run = _run_for(request, run_id)
        if not isinstance(request.auth, RunCredential):
            roles.authorize(request, "change", owner=run.created_by)
        body = serializers.UpdateRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.update_run(run, **body.validated_data)
        run = Run.objects.select_related("experiment", "graph", "created_by").get(id=run.id)
        return Response(serializers.RunDetailSerializer(run, context={"request": request}).data)


class RunCancel(APIView):
    @extend_schema(request=None, responses=serializers.RunSerializer)
    def post(self, request: Request, run_id: str) -> Response:
        run = _run_for(request, run_id)
        roles.authorize(request, "change", owner=run.created_by)
        run = services.cancel_run(run)
        return Response(serializers.RunSerializer(run, context={"request": request}).data)


class RunRerunFailed(APIView):
    """Submit a failed or canceled run again: the steps that completed in it are reused
    (whatever their ``allow_reuse``), the failed, canceled and not started ones run, with
    those downstream. 409 for a run that did not fail or was not canceled."""

    @extend_schema(request=None, responses={201: serializers.RunDetailSerializer, 409: None})
    def post(self, request: Request, run_id: str) -> Response:
        run = _run_for(request, run_id)
        roles.authorize(request, "create")
        new = services.rerun_failed(run, user=request.user, token=_submitting_token(request))
        new = Run.objects.select_related("experiment", "graph").get(id=new.id)
        out = serializers.RunDetailSerializer(new, context={"request": request})
        return Response(out.data, status=status.HTTP_201_CREATED)


def _submitting_token(request: Request) -> ApiToken | None:
    """The API token a run is submitted with (a step's run token is none)."""
    auth = request.auth
    return auth if auth is not None and not isinstance(auth, RunCredential) else None


def _step_for(request: Request, step_id: str) -> StepRun:
    step = get_object_or_404(StepRun.objects.select_related("run"), id=step_id)
    auth = request.auth
    if isinstance(auth, RunCredential) and step.run.steps.filter(id=auth.step_run_id).count() == 0:
        raise PermissionDenied("A run token may only reach the steps of its own pipeline run.")
    return step


class ComputeTargetStatus(APIView):
    """A compute target's nodes (the live workers serving it) and the steps running on it."""

    @extend_schema(responses=serializers.ComputeTargetStatusSerializer)
    def get(self, request: Request, name: str) -> Response:
        target = get_object_or_404(ComputeTarget, name=name)
        return Response(
            serializers.ComputeTargetStatusSerializer(services.compute_target_status(target)).data
        )


class StepDetail(APIView):
    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS

    @extend_schema(responses=serializers.StepRunSerializer)
    def get(self, request: Request, step_id: str) -> Response:
        return Response(serializers.StepRunSerializer(_step_for(request, step_id)).data)


class StepMiniBatches(APIView):
    """A ParallelRunStep's mini-batches: progress, each worker's share, the failed ones."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS

    @extend_schema(responses=serializers.MiniBatchSummarySerializer)
    def get(self, request: Request, step_id: str) -> Response:
        found = parallel.summary(_step_for(request, step_id))
        if found is None:
            raise NotFound("This step has no mini-batches (it is not a ParallelRunStep).")
        return Response(serializers.MiniBatchSummarySerializer(found).data)


class StepLog(APIView):
    """A step's ``user_logs/std_log.txt`` from a byte offset (negative: from the end)."""

    allow_run_token = True
    permission_classes = RUN_TOKEN_PERMISSIONS

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "offset",
                {"type": "integer", "minimum": -(2**62), "maximum": 2**62},
                description="Byte offset; negative counts from the end",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 4 * 1024 * 1024},
                description="At most this many bytes (default 256 KiB)",
            ),
        ],
        responses=serializers.LogChunkSerializer,
    )
    def get(self, request: Request, step_id: str) -> Response:
        step = _step_for(request, step_id)
        offset = _int_param(request, "offset", 0, -(2**62), 2**62)
        limit = _int_param(request, "limit", 256 * 1024, 1, 4 * 1024 * 1024)
        data, next_offset = storage.read_log(step.log_step_id, offset, limit)
        size = max(next_offset, step.log_size)
        return Response(
            {
                "offset": next_offset - len(data),
                "next_offset": next_offset,
                "size": size,
                "data": data.decode("utf-8", errors="replace"),
                "complete": step.is_finished and (step.is_reused or next_offset >= step.log_size),
            }
        )


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    from rest_framework.exceptions import ValidationError

    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: "Must be an integer."}) from None
    if high is None and value < low:
        raise ValidationError({name: f"Must be at least {low}."})
    if high is not None and not low <= value <= high:
        raise ValidationError({name: f"Must be between {low} and {high}."})
    return value
