"""Pipeline graphs, experiments, pipeline runs, step runs, their metrics and lineage."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from studio.core.spec import GraphSpec
from studio.core.status import TERMINAL, Status

STATUS_CHOICES = [(s.value, s.value) for s in Status]


def new_run_id() -> str:
    return str(uuid.uuid4())


class PipelineGraph(models.Model):
    """A validated pipeline graph, stored once per distinct content."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    digest = models.CharField(max_length=64, unique=True)
    spec = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    # The module versions its ModuleSteps come from (the Modules page lists their users).
    module_versions = models.ManyToManyField(
        "workspace.ModuleVersion", blank=True, related_name="graphs"
    )

    def __str__(self) -> str:
        return self.digest[:12]

    def graph(self) -> GraphSpec:
        return GraphSpec.from_dict(self.spec)

    @classmethod
    def store(cls, spec: GraphSpec) -> PipelineGraph:
        data = spec.to_dict()
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        graph, created = cls.objects.get_or_create(digest=digest, defaults={"spec": data})
        if created and any(s.module for s in spec.steps):
            graph.module_versions.set({s.module.id for s in spec.steps if s.module})
        return graph


class Experiment(models.Model):
    name = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The last run number given out: incremented in the submitting transaction, so that
    # concurrent submissions never share a number.
    last_run_number = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    """A pipeline run (azureml's PipelineRun)."""

    id = models.CharField(max_length=36, primary_key=True, default=new_run_id, editable=False)
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    graph = models.ForeignKey(PipelineGraph, on_delete=models.PROTECT, related_name="runs")
    number = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=1000, blank=True, default="")
    # azureml's Run.display_name: shown instead of "Run <number>" when set.
    display_name = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=Status.NOT_STARTED)
    parameters = models.JSONField(default=dict)
    tags = models.JSONField(default=dict)
    properties = models.JSONField(default=dict)
    continue_on_step_failure = models.BooleanField(default=False)
    regenerate_outputs = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    run_source = models.CharField(max_length=32, default="SDK")
    # What started the run, when it was not a plain submission: a published pipeline (through
    # an endpoint or not) or a schedule. Runs sit below pipelines: they keep the ids, indexed
    # for the lists' filters, and the names as they were at submission, in ``source``.
    published_pipeline_id = models.UUIDField(null=True, blank=True, db_index=True)
    pipeline_endpoint_id = models.UUIDField(null=True, blank=True)
    schedule_id = models.UUIDField(null=True, blank=True, db_index=True)
    source = models.JSONField(default=dict, blank=True)
    # NULL, not "": the unique constraint below holds only for runs that have a key.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    created_by_token = models.ForeignKey(
        "workspace.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # What the submission asked for that was ignored (REST parameters the pipeline does not
    # declare), shown with the run.
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["experiment", "-created_at"], name="run_experiment_created"),
            models.Index(fields=["-created_at", "-id"], name="run_created"),
            models.Index(fields=["status", "-created_at"], name="run_status_created"),
            models.Index(fields=["-duration_ms", "-id"], name="run_duration"),
        ]
        constraints = [
            # A retried POST with the same Idempotency-Key maps to one run, even when the two race.
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="run_idempotency_key_unique",
            )
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def title(self) -> str:
        """What pages call the run: its display name, else "Run <number>"."""
        return self.display_name or f"Run {self.number}"

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.ended_at or timezone.now()) - self.started_at

    @property
    def submitted_by(self) -> str:
        if self.created_by_token_id:
            return f"{self.created_by.username if self.created_by else '?'} (token {self.created_by_token.name})"
        return self.created_by.username if self.created_by else ""

    def started_by(self, kind: str) -> str:
        """The name of the published pipeline, endpoint or schedule that started the run."""
        return (self.source.get(kind) or {}).get("name", "")


class StepRun(models.Model):
    """One step of a pipeline run (azureml's StepRun), with its current attempt."""

    id = models.CharField(max_length=36, primary_key=True, default=new_run_id, editable=False)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    node_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    position = models.PositiveIntegerField(default=0)
    compute_target = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=Status.NOT_STARTED)
    attempt = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")
    pid = models.IntegerField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    outputs = models.JSONField(default=dict)  # name -> {"datastore", "path", "manifest"}
    properties = models.JSONField(default=dict)
    tags = models.JSONField(default=dict)
    fingerprint = models.CharField(max_length=64, blank=True, default="", db_index=True)
    fingerprint_parts = models.JSONField(default=dict)
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reused_by"
    )
    reuse_reason = models.TextField(blank=True, default="")
    # The build hash of the environment the step ran in ("" for the worker's own Python).
    environment_hash = models.CharField(max_length=20, blank=True, default="", db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    # The outbox of step messages: a Queued step whose rung_at is empty is owed a message (its
    # queueing committed, its message is not sent yet); whoever sets rung_at sends it, and puts
    # it back to empty if the broker refuses it.
    rung_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    log_size = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "node_id"], name="steprun_unique_node")
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="steprun_status_heartbeat"),
            # "Why was this step not reused?" looks up the latest earlier step of the same name.
            models.Index(fields=["name", "queued_at"], name="steprun_name_queued"),
            # Reuse candidates: the latest completed steps with a fingerprint, without sorting
            # every earlier reuse of a popular step.
            models.Index(
                fields=["fingerprint", "-ended_at"],
                condition=models.Q(status="Completed"),
                name="steprun_reuse_candidates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_reused(self) -> bool:
        return self.reused_from_id is not None

    @property
    def log_step_id(self) -> str:
        """Whose log this step shows: a reused step shows the log of the run it reused."""
        return self.reused_from_id or self.id

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.ended_at or timezone.now()) - self.started_at


class DatasetUse(models.Model):
    """Lineage: a step run that read or wrote a dataset version."""

    dataset = models.ForeignKey("workspace.Dataset", on_delete=models.CASCADE, related_name="uses")
    step_run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="dataset_uses")
    direction = models.CharField(max_length=8, choices=[("read", "read"), ("write", "write")])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "step_run", "direction"], name="dataset_use_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step_run_id} {self.direction} {self.dataset_id}"


class Metric(models.Model):
    """A value logged by a step, or on the pipeline run itself (``run.parent.log`` in a step):
    ``log`` (the same name again makes a series), ``log_list``, ``log_row``, ``log_table`` or
    ``log_image`` (the value is then the image's artifact path)."""

    KINDS = [
        ("scalar", "scalar"),
        ("list", "list"),
        ("row", "row"),
        ("table", "table"),
        ("image", "image"),
    ]

    step_run = models.ForeignKey(
        StepRun, null=True, blank=True, on_delete=models.CASCADE, related_name="metrics"
    )
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.CASCADE, related_name="run_metrics"
    )
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=KINDS, default="scalar")
    value = models.JSONField()
    description = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["step_run", "name"], name="metric_step_name")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(step_run__isnull=False, run__isnull=True)
                | models.Q(step_run__isnull=True, run__isnull=False),
                name="metric_of_a_step_or_a_run",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MiniBatch(models.Model):
    """One mini-batch of a ParallelRunStep attempt: claimed by a worker with a try number (a
    lost worker's mini-batch is claimed again by another, a failed one is tried again up to
    ``run_max_try``), and what run() returned for it. Rows go in the database, so that a step's
    mini-batches can be shared by workers on any host and a later attempt can reuse them."""

    STATUSES = [(s, s) for s in ("pending", "running", "done", "failed", "reused")]

    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="mini_batches")
    step_attempt = models.PositiveIntegerField()
    index = models.PositiveIntegerField()
    key = models.CharField(max_length=64)  # what it holds, wherever an attempt laid it out
    items = models.PositiveIntegerField()
    message = models.JSONField()  # what the entry script's run() is given
    status = models.CharField(max_length=8, choices=STATUSES, default="pending")
    tries = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)  # tries that failed
    worker = models.CharField(max_length=255, blank=True, default="")
    process = models.IntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)  # results run() returned
    rows = models.TextField(blank=True, default="")  # append_row's lines, newline-separated
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["step_id", "step_attempt", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["step", "step_attempt", "index"], name="minibatch_unique_index"
            )
        ]
        indexes = [
            models.Index(fields=["step", "step_attempt", "status"], name="minibatch_status"),
            models.Index(fields=["key"], name="minibatch_key"),
        ]

    def __str__(self) -> str:
        return f"{self.step_id}.{self.step_attempt} #{self.index}"
