"""Schedules API: the SDK's Schedule.create/get/list/update/enable/disable, and a fire-time preview."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines import scheduling
from pipelines.api.views import ACTION, _uuid_or_404, status_for
from pipelines.models import PipelineEndpoint, PublishedPipeline, Schedule, ScheduleFire
from pipelines.scheduling import ScheduleInput
from runs.models import Run
from studio.core.errors import StudioError
from studio.core.names import EXPERIMENT_NAME, EXPERIMENT_NAME_MESSAGE
from studio.core.recurrence import (
    FREQUENCIES,
    WEEK_DAYS,
    fire_times,
    parse_recurrence,
)
from studio.workspace import roles
from studio.workspace.api.errors import Conflict
from studio.workspace.api.serializers import StrictTypes, name_field
from studio.workspace.api.views import JSONParser, query_bool


class RecurrenceBody(StrictTypes, serializers.Serializer):
    frequency = serializers.ChoiceField(choices=FREQUENCIES)
    interval = serializers.IntegerField(min_value=1, max_value=100_000)
    start_time = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    time_zone = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    hours = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=23), required=False, allow_null=True
    )
    minutes = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=59), required=False, allow_null=True
    )
    week_days = serializers.ListField(
        child=serializers.ChoiceField(choices=WEEK_DAYS), required=False, allow_null=True
    )
    time_of_day = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class ScheduleBody(StrictTypes, serializers.Serializer):
    name = name_field("schedule")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, allow_null=True
    )
    pipeline_id = serializers.UUIDField(required=False, allow_null=True)
    pipeline_endpoint_id = serializers.UUIDField(required=False, allow_null=True)
    experiment_name = serializers.RegexField(
        EXPERIMENT_NAME, trim_whitespace=False, error_messages={"invalid": EXPERIMENT_NAME_MESSAGE}
    )
    recurrence = RecurrenceBody(required=False, allow_null=True)
    pipeline_parameters = serializers.DictField(required=False, allow_null=True)
    continue_on_step_failure = serializers.BooleanField(required=False, allow_null=True)
    datastore = serializers.CharField(
        max_length=64, required=False, allow_null=True, allow_blank=True
    )
    path_on_datastore = serializers.CharField(
        max_length=1024, required=False, allow_null=True, allow_blank=True
    )
    polling_interval = serializers.FloatField(required=False, allow_null=True)
    data_path_parameter_name = serializers.CharField(
        max_length=255, required=False, allow_null=True, allow_blank=True
    )
    include_subfolders = serializers.BooleanField(required=False, allow_null=True)
    missed_policy = serializers.ChoiceField(
        choices=["latest", "skip"], required=False, allow_null=True
    )
    status = serializers.ChoiceField(
        choices=["Active", "Disabled"], required=False, allow_null=True
    )


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def schedule_json(schedule: Schedule, with_next: int = 5) -> dict:
    upcoming = []
    if schedule.kind == "recurrence" and schedule.is_active and schedule.next_fire_at:
        rec = parse_recurrence(schedule.recurrence)
        upcoming = fire_times(
            rec, schedule.created_at, schedule.next_fire_at - timedelta(seconds=1), with_next
        )
    return {
        "id": str(schedule.id),
        "name": schedule.name,
        "description": schedule.description,
        "kind": schedule.kind,
        "pipeline_id": str(schedule.published_pipeline_id)
        if schedule.published_pipeline_id
        else None,
        "pipeline_endpoint_id": str(schedule.pipeline_endpoint_id)
        if schedule.pipeline_endpoint_id
        else None,
        "experiment_name": schedule.experiment_name,
        "status": schedule.status,
        "provisioning_status": "Completed",
        "recurrence": schedule.recurrence or None,
        "datastore": schedule.datastore or None,
        "path_on_datastore": schedule.path_on_datastore or None,
        "polling_interval": schedule.polling_interval,
        "data_path_parameter_name": schedule.data_path_parameter_name or None,
        "include_subfolders": schedule.include_subfolders,
        "pipeline_parameters": schedule.pipeline_parameters,
        "continue_on_step_failure": schedule.continue_on_step_failure,
        "missed_policy": schedule.missed_policy,
        "next_fire_at": schedule.next_fire_at if schedule.kind == "recurrence" else None,
        "next_fire_times": upcoming,
        "last_fire_at": schedule.last_fire_at,
        "last_polled_at": schedule.last_polled_at,
        "created_at": schedule.created_at,
    }


class ScheduleOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    pipeline_id = serializers.CharField(allow_null=True)
    pipeline_endpoint_id = serializers.CharField(allow_null=True)
    experiment_name = serializers.CharField()
    status = serializers.CharField()
    provisioning_status = serializers.CharField()
    recurrence = serializers.JSONField(allow_null=True)
    datastore = serializers.CharField(allow_null=True)
    path_on_datastore = serializers.CharField(allow_null=True)
    polling_interval = serializers.FloatField()
    data_path_parameter_name = serializers.CharField(allow_null=True)
    include_subfolders = serializers.BooleanField()
    pipeline_parameters = serializers.DictField()
    continue_on_step_failure = serializers.BooleanField(allow_null=True)
    missed_policy = serializers.CharField()
    next_fire_at = serializers.DateTimeField(allow_null=True)
    next_fire_times = serializers.ListField(child=serializers.DateTimeField())
    last_fire_at = serializers.DateTimeField(allow_null=True)
    last_polled_at = serializers.DateTimeField(
        allow_null=True, help_text="A data-change schedule's last look at its path"
    )
    created_at = serializers.DateTimeField()


def _input_from(data: dict, current: Schedule | None = None) -> ScheduleInput:
    """Merge a body onto a schedule's current values (None keeps a value, as azureml's update does)."""

    def pick(key: str, default: Any = None) -> Any:  # a JSON value of the body
        value = data.get(key)
        return value if value is not None else default

    pipeline = endpoint = None
    if current is not None:
        pipeline, endpoint = current.published_pipeline, current.pipeline_endpoint
    if data.get("pipeline_id"):
        pipeline = PublishedPipeline.objects.filter(id=data["pipeline_id"]).first()
        if pipeline is None:
            raise ValidationError(
                {"pipeline_id": f"No published pipeline with id {data['pipeline_id']}."}
            )
        endpoint = None
    if data.get("pipeline_endpoint_id"):
        endpoint = PipelineEndpoint.objects.filter(id=data["pipeline_endpoint_id"]).first()
        if endpoint is None:
            raise ValidationError(
                {
                    "pipeline_endpoint_id": f"No pipeline endpoint with id {data['pipeline_endpoint_id']}."
                }
            )
        pipeline = None
    recurrence = data.get("recurrence")
    recurrence = (
        {k: v for k, v in recurrence.items() if v not in (None, "", [])} if recurrence else None
    )
    datastore = pick("datastore")
    if current is not None and recurrence is None and datastore is None:
        recurrence = current.recurrence or None
        datastore = current.datastore or None
    return ScheduleInput(
        name=pick("name", current.name if current else ""),
        experiment_name=pick("experiment_name", current.experiment_name if current else ""),
        published_pipeline=pipeline,
        pipeline_endpoint=endpoint,
        description=pick("description", current.description if current else ""),
        pipeline_parameters=pick(
            "pipeline_parameters", current.pipeline_parameters if current else {}
        ),
        continue_on_step_failure=pick(
            "continue_on_step_failure", current.continue_on_step_failure if current else None
        ),
        recurrence=recurrence,
        missed_policy=pick("missed_policy", current.missed_policy if current else "latest"),
        datastore=datastore,
        path_on_datastore=pick("path_on_datastore", current.path_on_datastore if current else None),
        polling_interval=pick("polling_interval", current.polling_interval if current else 5.0),
        data_path_parameter_name=pick(
            "data_path_parameter_name", current.data_path_parameter_name if current else None
        ),
        include_subfolders=pick(
            "include_subfolders", current.include_subfolders if current else True
        ),
    )


def _errors(call: Callable[[], Schedule]) -> Schedule:
    return call()


class ScheduleList(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("active_only", bool),
            OpenApiParameter("pipeline_id", OpenApiTypes.UUID),
            OpenApiParameter("pipeline_endpoint_id", OpenApiTypes.UUID),
        ],
        responses=ScheduleOut(many=True),
    )
    def get(self, request: Request) -> Response:
        schedules = Schedule.objects.all()
        if query_bool(request, "active_only", True):
            schedules = schedules.filter(status="Active")
        for key, field in (
            ("pipeline_id", "published_pipeline_id"),
            ("pipeline_endpoint_id", "pipeline_endpoint_id"),
        ):
            if key in request.query_params:
                if not _UUID.fullmatch(request.query_params[key]):
                    raise ValidationError({key: "Must be a UUID."})
                schedules = schedules.filter(**{field: request.query_params[key].lower()})
        return Response([schedule_json(s, with_next=1) for s in schedules[:1000]])

    @extend_schema(request=ScheduleBody, responses={201: ScheduleOut})
    def post(self, request: Request) -> Response:
        body = ScheduleBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        for key in ("name", "experiment_name"):
            if not data.get(key):
                raise ValidationError({key: f"{key} is required."})
        schedule = _errors(lambda: scheduling.create_schedule(_input_from(data), user=request.user))
        if data.get("status") == "Disabled":
            schedule = scheduling.set_schedule_status(schedule, "Disabled")
        return Response(schedule_json(schedule), status=status.HTTP_201_CREATED)


def _schedule(schedule_id: str, request: Request | None = None) -> Schedule:
    """The schedule of a URL; given the ``request``, one it may change."""
    schedule = (
        Schedule.objects.select_related(
            "published_pipeline__graph", "pipeline_endpoint", "created_by"
        )
        .filter(id=_uuid_or_404(schedule_id, "schedule"))
        .first()
    )
    if schedule is None:
        raise NotFound(f"No schedule with id {schedule_id}.")
    if request is not None:
        roles.authorize(request, "change", owner=schedule.created_by)
    return schedule


# A schedule's id is a UUID: "preview" in schedules/preview/ is never one.
SCHEDULE_ID = OpenApiParameter("schedule_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class ScheduleDetail(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses=ScheduleOut, parameters=[SCHEDULE_ID])
    def get(self, request: Request, schedule_id: str) -> Response:
        return Response(schedule_json(_schedule(schedule_id)))

    @extend_schema(request=ScheduleBody, responses=ScheduleOut, parameters=[SCHEDULE_ID])
    def patch(self, request: Request, schedule_id: str) -> Response:
        schedule = _schedule(schedule_id, request)
        body = ScheduleBody(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        schedule = _errors(
            lambda: scheduling.update_schedule(schedule, _input_from(data, schedule))
        )
        if data.get("status"):
            schedule = _errors(lambda: scheduling.set_schedule_status(schedule, data["status"]))
        return Response(schedule_json(schedule))


class ScheduleStatus(APIView):
    @extend_schema(
        request=None,
        responses=ScheduleOut,
        parameters=[SCHEDULE_ID, ACTION],
        operation_id="api_schedules_status",
    )
    def post(self, request: Request, schedule_id: str, action: str) -> Response:
        schedule = scheduling.set_schedule_status(
            _schedule(schedule_id, request), status_for(action)
        )
        return Response(schedule_json(schedule))


class ScheduleRuns(APIView):
    @extend_schema(
        responses=inline_serializer(
            "ScheduleRun",
            {
                "id": serializers.CharField(),
                "status": serializers.CharField(),
                "experiment": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
            },
            many=True,
        ),
        parameters=[SCHEDULE_ID],
    )
    def get(self, request: Request, schedule_id: str) -> Response:
        schedule = _schedule(schedule_id)
        runs = (
            Run.objects.filter(schedule_id=schedule.id)
            .select_related("experiment")
            .order_by("-created_at")[:1000]
        )
        return Response(
            [
                {
                    "id": r.id,
                    "status": r.status,
                    "experiment": r.experiment.name,
                    "created_at": r.created_at,
                }
                for r in runs
            ]
        )


def fire_json(fire: ScheduleFire) -> dict:
    return {
        "id": fire.id,
        "fire_time": fire.fire_time,
        "status": fire.status,
        "manual": fire.manual,
        "run_id": str(fire.run_id) if fire.run_id else None,
        "error": fire.error,
        "changed_paths": fire.changed_paths,
    }


class FireOut(serializers.Serializer):
    id = serializers.IntegerField()
    fire_time = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=[s for s, _ in ScheduleFire.STATUSES])
    manual = serializers.BooleanField()
    run_id = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    changed_paths = serializers.ListField(child=serializers.CharField())


class ScheduleFires(APIView):
    @extend_schema(responses=FireOut(many=True), parameters=[SCHEDULE_ID])
    def get(self, request: Request, schedule_id: str) -> Response:
        """The schedule's history: its latest fires first, each with its outcome and run."""
        schedule = _schedule(schedule_id)
        fires = schedule.fires.order_by("-fire_time")[:1000]
        return Response([fire_json(f) for f in fires])


class ScheduleRunNow(APIView):
    @extend_schema(
        request=None,
        responses={201: FireOut, 409: None},
        parameters=[SCHEDULE_ID],
        operation_id="api_schedules_run_now",
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        """Fire the schedule once, now, with its parameters: a manual fire in its history."""
        schedule = _schedule(schedule_id)
        roles.authorize(
            request,
            "submit",
            pipeline=schedule.published_pipeline,
            endpoint=schedule.pipeline_endpoint,
        )
        fire = scheduling.run_schedule_now(schedule, user=request.user)
        if fire.run_id is None:
            raise Conflict(f"The run could not start: {fire.error}")
        return Response(fire_json(fire), status=status.HTTP_201_CREATED)


class PreviewBody(StrictTypes, serializers.Serializer):
    recurrence = RecurrenceBody()
    count = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)


class SchedulePreview(APIView):
    """The next fire times of a recurrence, before saving it."""

    parser_classes = [JSONParser]

    @extend_schema(
        request=PreviewBody,
        responses=inline_serializer(
            "Preview", {"fire_times": serializers.ListField(child=serializers.DateTimeField())}
        ),
    )
    def post(self, request: Request) -> Response:
        body = PreviewBody(data=request.data)
        body.is_valid(raise_exception=True)
        recurrence = body.validated_data["recurrence"]
        try:
            times = scheduling.preview(
                {k: v for k, v in recurrence.items() if v not in (None, "", [])},
                count=body.validated_data["count"],
            )
        except StudioError as exc:
            raise StudioError(f"recurrence.{exc.field}", exc.message) from None
        return Response({"fire_times": times})
