"""Pipeline definitions: a graph spec frozen at submission."""

from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from studio.sdk.spec import GraphSpec


class PipelineGraph(models.Model):
    """A validated pipeline graph, stored once per distinct content."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    digest = models.CharField(max_length=64, unique=True)
    spec = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def graph(self) -> GraphSpec:
        return GraphSpec.from_dict(self.spec)

    @classmethod
    def store(cls, spec: GraphSpec) -> PipelineGraph:
        data = spec.to_dict()
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        graph, _ = cls.objects.get_or_create(digest=digest, defaults={"spec": data})
        return graph


class PublishedPipeline(models.Model):
    """A pipeline frozen with its parameters and defaults, behind a REST endpoint."""

    STATUSES = [("Active", "Active"), ("Disabled", "Disabled")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    version = models.CharField(max_length=64, blank=True, default="")
    graph = models.ForeignKey(PipelineGraph, on_delete=models.PROTECT, related_name="published")
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
