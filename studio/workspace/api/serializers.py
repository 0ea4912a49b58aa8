from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from studio.core.environments import PYTHON_VERSION, VARIABLE_NAME
from studio.core.names import DATASET_NAME, ENVIRONMENT_NAME, RESOURCE_NAME, RULES, name_message
from studio.core.tabular import partition_pattern
from studio.workspace.api import schema  # noqa: F401  (its field extension documents these fields)
from studio.workspace.models import ComputeTarget, Datastore


def unstorable(data: Any, where: str = "") -> str | None:
    """Where JSON data holds a NUL or an unpaired surrogate, which a database cannot store.

    PostgreSQL refuses NUL in text and JSON alike, and no UTF-8 column takes a lone surrogate.
    """
    if isinstance(data, str):
        if "\x00" in data or any("\ud800" <= ch <= "\udfff" for ch in data):
            return where
    elif isinstance(data, dict):
        for key, value in data.items():
            found = unstorable(key, where) or unstorable(value, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found = unstorable(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def _type_error(field: serializers.Field, value: Any) -> str | None:
    """Why ``value`` is not of the JSON type the schema documents for ``field``, if it is not."""
    if value is None:  # whether null is allowed is the field's own business
        return None
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for i, item in enumerate(value):
            message = _type_error(field.child, item)
            if message:
                return f"Item {i}: {message}"
    elif isinstance(field, serializers.DictField) and isinstance(value, dict):
        for key, item in value.items():
            message = _type_error(field.child, item)
            if message:
                return f"{key}: {message}"
    elif isinstance(field, serializers.BooleanField):
        if not isinstance(value, bool):
            return "Must be true or false."
    elif isinstance(field, serializers.IntegerField):
        if not isinstance(value, int) or isinstance(value, bool):
            return "Must be an integer."
    elif isinstance(field, serializers.FloatField):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return "Must be a number."
    elif isinstance(field, (serializers.CharField, serializers.UUIDField)):
        if not isinstance(value, str):
            return "Must be a string."
    return None


# Serializer mixin: a value must already have the JSON type the schema documents, and hold
# no NUL character or unpaired surrogate, even deep in free-form JSON. DRF would take 0 for
# "0", "1" or 1.0 for 1 and "yes" for true, and PostgreSQL would fail on a NUL with a 500;
# here both are a 400 naming the field, like any invalid input. (A comment, not a docstring:
# drf-spectacular would show a docstring as the description of every serializer using it.)
class StrictTypes:
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            errors = {}
            for name, field in self.fields.items():
                if isinstance(field, serializers.BaseSerializer):
                    continue  # a nested serializer checks its own fields (and drops others)
                if not field.read_only and name in data:
                    message = _type_error(field, data[name])
                    where = unstorable(data[name], name)
                    if where is not None:
                        errors[where] = ["Must not contain NUL characters or unpaired surrogates."]
                    elif message:
                        errors[name] = [message]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """Any JSON, documented as the object the view then checks it is (e.g. a pipeline graph)."""


def name_field(kind: str, **kwargs: Any) -> serializers.RegexField:
    """A ``kind`` name by its rule in studio.core.names (its pattern in the schema too),
    refused with the rule's sentence."""
    return serializers.RegexField(
        RULES[kind][0],
        max_length=255,
        error_messages={"invalid": name_message(kind)},
        **kwargs,
    )


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]})
class ScalarField(serializers.JSONField):
    """Any JSON, documented as the string, number or boolean the serializer then checks it is."""


class ComputeTargetSerializer(StrictTypes, serializers.ModelSerializer):
    name = serializers.RegexField(
        RESOURCE_NAME,
        max_length=64,
        trim_whitespace=False,
        error_messages={
            "invalid": "Use letters, digits, '_' and '-' (at most 64, starting with a letter or digit)."
        },
    )
    queue = serializers.CharField(read_only=True)
    workers = serializers.SerializerMethodField()
    provisioning_state = serializers.SerializerMethodField()

    class Meta:
        model = ComputeTarget
        fields = [
            "name",
            "kind",
            "vm_size",
            "min_nodes",
            "max_nodes",
            "queue",
            "workers",
            "provisioning_state",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_workers(self, obj: ComputeTarget) -> list[str]:
        live = self.context.get("live_workers")
        if live is None:
            live = obj.live_workers()
        return [w.hostname for w in live if obj.queue in w.queues]

    def get_provisioning_state(self, obj: ComputeTarget) -> str:
        return "Succeeded" if self.get_workers(obj) else "Creating"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("min_nodes", 0) > attrs.get("max_nodes", 1):
            raise serializers.ValidationError({"min_nodes": "min_nodes must not exceed max_nodes."})
        return attrs


class DatastoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Datastore
        fields = ["name", "kind", "is_default", "created_at"]


class SnapshotDigestsSerializer(StrictTypes, serializers.Serializer):
    digests = serializers.ListField(
        child=serializers.RegexField(re.compile(r"^[0-9a-f]{64}\Z"), trim_whitespace=False),
        max_length=2000,
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


class WorkspaceUpdateSerializer(StrictTypes, serializers.Serializer):
    default_datastore = serializers.CharField(max_length=64, required=False)


class DatastoreRegisterSerializer(StrictTypes, serializers.Serializer):
    """Register a datastore. Secrets are write-only: they are never shown again."""

    name = serializers.RegexField(
        RESOURCE_NAME,
        max_length=64,
        trim_whitespace=False,
        error_messages={"invalid": name_message("datastore")},
    )
    kind = serializers.ChoiceField(choices=["local", "s3", "azureblob"])
    overwrite = serializers.BooleanField(required=False, default=False)
    create_if_not_exists = serializers.BooleanField(required=False, default=False)
    root = serializers.CharField(required=False, allow_blank=True, default="", max_length=1024)
    bucket = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    endpoint_url = serializers.URLField(required=False, allow_blank=True, default="")
    region = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    key = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=1024, write_only=True
    )
    secret = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4096, write_only=True
    )
    account_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=255
    )
    container = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    endpoint = serializers.CharField(required=False, allow_blank=True, default="", max_length=1024)
    account_key = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4096, write_only=True
    )
    sas_token = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4096, write_only=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        required = {
            "local": ["root"],
            "s3": ["bucket"],
            "azureblob": ["account_name", "container"],
        }[kind]
        missing = {
            f: f"{f} is required for a {kind} datastore." for f in required if not attrs.get(f)
        }
        if missing:
            raise serializers.ValidationError(missing)
        if kind == "azureblob" and not (attrs.get("account_key") or attrs.get("sas_token")):
            raise serializers.ValidationError(
                {"account_key": "An account key or a SAS token is required."}
            )
        for field in ("bucket", "container"):
            value = attrs.get(field, "")
            if value and not re.match(r"^[a-z0-9][a-z0-9.\-]{1,62}$", value):
                raise serializers.ValidationError(
                    {field: f"{field} must be 2-63 lowercase letters, digits, '.' or '-'."}
                )
        return attrs


class DatastoreDetailSerializer(serializers.ModelSerializer):
    location = serializers.CharField(read_only=True)
    options = serializers.SerializerMethodField()

    class Meta:
        model = Datastore
        fields = ["name", "kind", "is_default", "location", "options", "created_at"]

    def get_options(self, obj: Datastore) -> dict:
        return {k: v for k, v in obj.options.items() if k not in ("create_if_not_exists",)}


class DatastoreEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField()
    size = serializers.IntegerField()
    is_dir = serializers.BooleanField()


class DatasetSerializer(StrictTypes, serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    version = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=["file", "tabular"])
    paths = serializers.ListField(
        child=serializers.ListField(
            child=serializers.CharField(max_length=1024), min_length=2, max_length=2
        ),
        min_length=1,
        max_length=1000,
    )
    options = serializers.DictField(required=False, default=dict)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000
    )
    tags = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True), required=False, default=dict
    )
    create_new_version = serializers.BooleanField(required=False, default=False, write_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def validate_name(self, value: str | None) -> str | None:
        if value and not DATASET_NAME.match(value):  # none: an unregistered definition
            raise serializers.ValidationError(name_message("dataset"))
        return value

    def validate_options(self, value: dict[str, Any]) -> dict[str, Any]:
        allowed = {"separator", "header", "encoding", "format", "include_path", "partition_format"}
        unknown = set(value) - allowed
        if unknown:
            raise serializers.ValidationError(f"Unknown options: {', '.join(sorted(unknown))}")
        if "separator" in value and (
            not isinstance(value["separator"], str) or len(value["separator"]) != 1
        ):
            raise serializers.ValidationError("separator must be a single character.")
        if "header" in value and not isinstance(value["header"], bool):
            raise serializers.ValidationError("header must be true or false.")
        if "format" in value and value["format"] not in ("delimited", "parquet"):
            raise serializers.ValidationError("format must be delimited or parquet.")
        if "partition_format" in value:
            try:
                partition_pattern(value["partition_format"])
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value


class DatasetFileSerializer(serializers.Serializer):
    datastore = serializers.CharField()
    path = serializers.CharField()
    size = serializers.IntegerField()


@extend_schema_field(
    {
        # OpenAPI 3.0 has no patternProperties: the name rule is told, and enforced by the API.
        "type": "object",
        "description": "Names match " + VARIABLE_NAME.pattern.replace("\\Z", "$") + ".",
        "additionalProperties": {"type": "string", "maxLength": 1000},
    }
)
class VariablesField(serializers.DictField):
    """Environment variables: names a step may set, string values."""

    child = serializers.CharField(max_length=1000, allow_blank=True, trim_whitespace=False)


def _text_list() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=1000, allow_blank=True, trim_whitespace=False),
        max_length=500,
        required=False,
        default=list,
    )


class EnvironmentDefinitionSerializer(StrictTypes, serializers.Serializer):
    """An environment as a step carries it (``studio.core.environments.parse_definition``)."""

    # Untrimmed: the length the schema states is the length checked.
    name = serializers.CharField(
        max_length=1000, allow_blank=True, required=False, trim_whitespace=False
    )
    version = serializers.CharField(
        max_length=1000, allow_null=True, required=False, trim_whitespace=False
    )
    user_managed = serializers.BooleanField(required=False, default=False)
    python = serializers.RegexField(
        PYTHON_VERSION, allow_null=True, required=False, trim_whitespace=False
    )
    conda_packages = _text_list()
    pip_packages = _text_list()
    environment_variables = VariablesField(required=False, default=dict)
    docker_image = serializers.CharField(
        max_length=1000, allow_null=True, allow_blank=True, required=False
    )


class EnvironmentRegisterSerializer(StrictTypes, serializers.Serializer):
    name = serializers.RegexField(
        ENVIRONMENT_NAME,
        max_length=255,
        trim_whitespace=False,
        error_messages={
            "invalid": "Use letters, digits, '.', '-' and '_', starting with a letter or digit; "
            "AzureML-* names are Azure's curated environments."
        },
    )
    version = serializers.RegexField(
        r"^[1-9][0-9]{0,8}\Z", required=False, allow_null=True, trim_whitespace=False
    )
    definition = EnvironmentDefinitionSerializer()


class EnvironmentSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    user_managed = serializers.BooleanField()
    python = serializers.CharField(allow_null=True)
    conda_packages = serializers.ListField(child=serializers.CharField())
    pip_packages = serializers.ListField(child=serializers.CharField())
    environment_variables = serializers.DictField(child=serializers.CharField())
    docker_image = serializers.CharField(allow_null=True)
