from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from runs.models import Experiment, Run, StepRun
from runs.services import graph_of
from studio.core.names import EXPERIMENT_NAME, EXPERIMENT_NAME_MESSAGE
from studio.workspace.api.serializers import JSONObjectField, StrictTypes


class ExperimentSerializer(StrictTypes, serializers.ModelSerializer):
    name = serializers.RegexField(
        EXPERIMENT_NAME, trim_whitespace=False, error_messages={"invalid": EXPERIMENT_NAME_MESSAGE}
    )

    class Meta:
        model = Experiment
        fields = ["name", "created_at"]
        read_only_fields = ["created_at"]


class ReuseSerializer(serializers.Serializer):
    reused = serializers.BooleanField()
    reused_from_step = serializers.CharField(allow_null=True)
    reused_from_run = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class ModuleRefSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The module version's id")
    name = serializers.CharField()
    version = serializers.CharField()


class StepRunSerializer(serializers.ModelSerializer):
    run_id = serializers.CharField(read_only=True)
    reuse = serializers.SerializerMethodField()
    module = serializers.SerializerMethodField(
        help_text="The module version a ModuleStep ran (null for other steps)"
    )

    class Meta:
        model = StepRun
        fields = [
            "id",
            "run_id",
            "node_id",
            "name",
            "position",
            "compute_target",
            "status",
            "attempt",
            "exit_code",
            "error",
            "outputs",
            "properties",
            "tags",
            "fingerprint",
            "reuse",
            "worker",
            "pid",
            "queued_at",
            "started_at",
            "ended_at",
            "log_size",
            "module",
        ]

    @extend_schema_field(ModuleRefSerializer(allow_null=True))
    def get_module(self, obj: StepRun) -> dict | None:
        module = graph_of(obj.run.graph_id).step(obj.node_id).module
        return module.to_dict() if module else None

    @extend_schema_field(ReuseSerializer)
    def get_reuse(self, obj: StepRun) -> dict:
        original = obj.properties.get("azureml.reusedrunid") if obj.reused_from_id else None
        return {
            "reused": obj.reused_from_id is not None,
            "reused_from_step": original,
            "reused_from_run": obj.properties.get("azureml.reusedpipeline") if original else None,
            "reason": obj.reuse_reason,
        }


class RunSerializer(serializers.ModelSerializer):
    experiment = serializers.CharField(source="experiment.name", read_only=True)
    submitted_by = serializers.CharField(read_only=True)
    published_pipeline = serializers.CharField(
        source="published_pipeline_id", read_only=True, allow_null=True
    )
    pipeline_endpoint = serializers.CharField(
        source="pipeline_endpoint_id", read_only=True, allow_null=True
    )
    rerun_of = serializers.SerializerMethodField(help_text="The id of the run this one reruns")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "experiment",
            "number",
            "display_name",
            "description",
            "status",
            "parameters",
            "tags",
            "properties",
            "continue_on_step_failure",
            "regenerate_outputs",
            "run_source",
            "submitted_by",
            "published_pipeline",
            "pipeline_endpoint",
            "rerun_of",
            "created_at",
            "started_at",
            "ended_at",
            "error",
            "warnings",
            "url",
        ]

    def get_rerun_of(self, obj: Run) -> str | None:
        return (obj.source.get("rerun_of") or {}).get("id")

    def get_url(self, obj: Run) -> str:
        request = self.context.get("request")
        path = f"/runs/{obj.id}/"
        return request.build_absolute_uri(path) if request else path


class RunDetailSerializer(RunSerializer):
    steps = StepRunSerializer(many=True, read_only=True)
    graph = serializers.JSONField(source="graph.spec", read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "steps", "graph"]


class UpdateRunSerializer(StrictTypes, serializers.Serializer):
    """A PATCH of a run: what is given changes (tags merge; ``remove_tags`` removes)."""

    display_name = serializers.CharField(
        max_length=255, required=False, allow_blank=True, trim_whitespace=True
    )
    tags = serializers.DictField(
        child=serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False),
        required=False,
    )
    remove_tags = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=200
    )


class SubmitRunSerializer(StrictTypes, serializers.Serializer):
    experiment_name = serializers.RegexField(
        EXPERIMENT_NAME, trim_whitespace=False, error_messages={"invalid": EXPERIMENT_NAME_MESSAGE}
    )
    graph = JSONObjectField()
    pipeline_parameters = serializers.DictField(
        child=serializers.JSONField(), required=False, default=dict
    )
    regenerate_outputs = serializers.BooleanField(required=False, default=False)
    continue_on_step_failure = serializers.BooleanField(required=False, default=False)
    tags = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True), required=False, default=dict
    )
    description = serializers.CharField(
        max_length=1000, required=False, allow_null=True, allow_blank=True, default=None
    )


class LogChunkSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField()
    size = serializers.IntegerField()
    data = serializers.CharField()
    complete = serializers.BooleanField()


class ComputeTargetStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    vm_size = serializers.CharField()
    min_nodes = serializers.IntegerField()
    max_nodes = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    provisioning_state = serializers.CharField()
    workers = serializers.ListField(child=serializers.CharField())
    running_steps = serializers.IntegerField()


class MiniBatchWorkerSerializer(serializers.Serializer):
    worker = serializers.CharField(help_text="host:process of the worker")
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    running = serializers.IntegerField()
    items = serializers.IntegerField(help_text="Items of the mini-batches it did")


class FailedMiniBatchSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    items = serializers.IntegerField()
    tries = serializers.IntegerField()
    worker = serializers.CharField()
    error = serializers.CharField(help_text="The last try's error")
    what = serializers.ListField(
        child=serializers.CharField(), help_text="Its files, or its rows of the table"
    )


class MiniBatchSummarySerializer(serializers.Serializer):
    """A ParallelRunStep's mini-batches (its latest attempt that has them)."""

    attempt = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField(
        help_text="Done, those reused from an earlier attempt among them"
    )
    reused = serializers.IntegerField()
    failed = serializers.IntegerField()
    running = serializers.IntegerField()
    pending = serializers.IntegerField()
    retried = serializers.IntegerField(help_text="Tries beyond each mini-batch's first")
    items = serializers.IntegerField(help_text="Items of the mini-batches done in this attempt")
    failed_items = serializers.IntegerField()
    items_per_second = serializers.FloatField(allow_null=True)
    workers = MiniBatchWorkerSerializer(many=True)
    failed_batches = FailedMiniBatchSerializer(many=True)
