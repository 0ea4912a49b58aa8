from __future__ import annotations

import re

from rest_framework import serializers

from studio.models import NAME_RE, ComputeTarget, Datastore


class ComputeTargetSerializer(serializers.ModelSerializer):
    name = serializers.RegexField(NAME_RE, max_length=64, error_messages={"invalid": "Use letters, digits, '_' and '-' (at most 64, starting with a letter or digit)."})
    queue = serializers.CharField(read_only=True)
    workers = serializers.SerializerMethodField()
    provisioning_state = serializers.SerializerMethodField()

    class Meta:
        model = ComputeTarget
        fields = ["name", "kind", "vm_size", "min_nodes", "max_nodes", "queue", "workers", "provisioning_state", "created_at"]
        read_only_fields = ["created_at"]

    def get_workers(self, obj) -> list[str]:
        live = self.context.get("live_workers")
        if live is None:
            live = obj.live_workers()
        return [w.hostname for w in live if obj.queue in w.queues]

    def get_provisioning_state(self, obj) -> str:
        return "Succeeded" if self.get_workers(obj) else "Creating"

    def validate_name(self, value: str) -> str:
        if ComputeTarget.objects.filter(name=value).exists():
            raise serializers.ValidationError(f"Compute target {value} already exists.")
        return value

    def validate(self, attrs):
        if attrs.get("min_nodes", 0) > attrs.get("max_nodes", 1):
            raise serializers.ValidationError({"min_nodes": "min_nodes must not exceed max_nodes."})
        return attrs


class DatastoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Datastore
        fields = ["name", "kind", "is_default", "created_at"]


class SnapshotDigestsSerializer(serializers.Serializer):
    digests = serializers.ListField(
        child=serializers.RegexField(re.compile(r"^[0-9a-f]{64}$")), max_length=2000
    )


class SnapshotMissingSerializer(serializers.Serializer):
    missing = serializers.ListField(child=serializers.CharField())


class SnapshotSerializer(serializers.Serializer):
    digest = serializers.CharField()
    size = serializers.IntegerField()
    files = serializers.ListField(child=serializers.CharField())


class WorkspaceSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField()
    default_datastore = serializers.CharField()
    default_compute_target = serializers.CharField()
    user = serializers.CharField()
