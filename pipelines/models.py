"""Pipeline definitions: a graph spec frozen at submission."""

from __future__ import annotations

import hashlib
import json
import uuid

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
