"""Published pipelines, pipeline endpoints and their versions, schedules and their fires."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class PublishedPipeline(models.Model):
    """A pipeline frozen with its parameters and defaults, behind a REST endpoint."""

    STATUSES = [("Active", "Active"), ("Disabled", "Disabled")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    version = models.CharField(max_length=64, blank=True, default="")
    graph = models.ForeignKey(
        "runs.PipelineGraph", on_delete=models.PROTECT, related_name="published"
    )
    status = models.CharField(max_length=16, choices=STATUSES, default="Active")
    continue_on_step_failure = models.BooleanField(null=True, blank=True)
    source_run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()

    @property
    def is_active(self) -> bool:
        return self.status == "Active"


class PipelineEndpoint(models.Model):
    """One URL for several published pipelines (versions "0", "1", ...) with a default version."""

    STATUSES = PublishedPipeline.STATUSES

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default="Active")
    default_version = models.CharField(max_length=16, default="0")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == "Active"


class PipelineEndpointVersion(models.Model):
    endpoint = models.ForeignKey(
        PipelineEndpoint, on_delete=models.CASCADE, related_name="versions"
    )
    version = models.CharField(max_length=16)
    pipeline = models.ForeignKey(
        PublishedPipeline, on_delete=models.PROTECT, related_name="endpoint_versions"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["endpoint", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "version"], name="endpoint_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} v{self.version}"


class Schedule(models.Model):
    """Starts a published pipeline (or endpoint) on a recurrence or when data changes."""

    KINDS = [("recurrence", "Recurrence"), ("datastore", "Data change")]
    POLICIES = [("latest", "Run once for the latest missed time"), ("skip", "Skip missed times")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=16, choices=KINDS)
    published_pipeline = models.ForeignKey(
        PublishedPipeline, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    pipeline_endpoint = models.ForeignKey(
        PipelineEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    experiment_name = models.CharField(max_length=255)
    pipeline_parameters = models.JSONField(default=dict, blank=True)
    continue_on_step_failure = models.BooleanField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=PublishedPipeline.STATUSES, default="Active")
    recurrence = models.JSONField(default=dict, blank=True)
    missed_policy = models.CharField(max_length=16, choices=POLICIES, default="latest")
    datastore = models.CharField(max_length=64, blank=True, default="")
    path_on_datastore = models.CharField(max_length=1024, blank=True, default="")
    polling_interval = models.FloatField(default=5.0)  # minutes, as in azureml
    data_path_parameter_name = models.CharField(max_length=255, blank=True, default="")
    include_subfolders = models.BooleanField(default=True)
    cursor = models.JSONField(null=True, blank=True)  # data-change baseline: {path: version}
    next_fire_at = models.DateTimeField(null=True, blank=True)
    # A data-change schedule's last successful look at its path (the first records the baseline).
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_fire_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["status", "next_fire_at"], name="schedule_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == "Active"

    @property
    def target_name(self) -> str:
        if self.pipeline_endpoint_id:
            return self.pipeline_endpoint.name
        return str(self.published_pipeline) if self.published_pipeline_id else ""


class ScheduleFire(models.Model):
    """One fire of a schedule: unique per (schedule, fire time), so it starts at most one run."""

    STATUSES = [
        ("pending", "Pending"),
        ("submitted", "Submitted"),
        ("failed", "Failed"),
        ("skipped", "Skipped"),
    ]

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="fires")
    fire_time = models.DateTimeField()
    status = models.CharField(max_length=16, choices=STATUSES, default="pending")
    run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="schedule_fires"
    )
    error = models.TextField(blank=True, default="")
    changed_paths = models.JSONField(default=list, blank=True)
    cursor = models.JSONField(null=True, blank=True)  # the data-change baseline this fire moves to
    # Started by someone's "Run now" rather than by the clock or a data change.
    manual = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # When the scheduler last gave this pending fire to a worker (a dispatch_fire task).
    handed_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fire_time"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "fire_time"], name="schedule_fire_unique")
        ]
        indexes = [models.Index(fields=["status", "fire_time"], name="schedule_fire_pending")]

    def __str__(self) -> str:
        return f"{self.schedule_id} at {self.fire_time:%Y-%m-%d %H:%M} ({self.status})"


class PipelineDraft(models.Model):
    """A mutable pipeline (azureml's PipelineDraft): a graph with the settings of its next
    submission (experiment, parameter values, continue on step failure), edited in place,
    submitted as runs and published as pipelines."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    experiment_name = models.CharField(max_length=255)
    graph = models.ForeignKey("runs.PipelineGraph", on_delete=models.PROTECT, related_name="drafts")
    # The values its runs get, for the parameters it assigns (the others keep their defaults).
    pipeline_parameters = models.JSONField(default=dict, blank=True)
    continue_on_step_failure = models.BooleanField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    # What it was cloned from, if it was (azureml's parent_* ids).
    parent_pipeline_id = models.UUIDField(null=True, blank=True)
    parent_pipeline_run_id = models.CharField(max_length=36, blank=True, default="")
    parent_step_run_ids = models.JSONField(default=list, blank=True)
    parent_pipeline_draft_id = models.UUIDField(null=True, blank=True)
    runs = models.ManyToManyField("runs.Run", blank=True, related_name="+")
    last_submitted_run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name
