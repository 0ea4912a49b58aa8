"""Azure's PipelineSubmissionInfo: the body of a REST submit, described once.

The serializer below both checks a body and documents it in the OpenAPI schema. Keys match
case-insensitively and unknown keys are ignored, as Azure does. Each field's messages are
the end of a sentence that begins with the field's path ("ParameterAssignments.rate must be
a finite number."), so that a refusal names exactly what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from studio.core.errors import StudioError
from studio.core.names import EXPERIMENT_NAME, EXPERIMENT_NAME_RULE, is_experiment_name
from studio.workspace.api.serializers import unstorable

MAX_BODY_BYTES = 1024 * 1024
PARAMETER_LIMIT = 100_000  # characters of a string parameter
TAG_LIMIT = 10_000  # characters of a tag or property value
KEY_LIMIT = 255  # characters of a tag or property name
TOO_LONG = "is too long or contains NUL characters or unpaired surrogates."


@dataclass
class Submission:
    experiment_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    run_source: str = "API"
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    continue_on_step_failure: bool | None = None


def _storable(text: str, limit: int) -> bool:
    return len(text) <= limit and unstorable(text) is None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


@extend_schema_field(
    {"type": "string", "pattern": EXPERIMENT_NAME.pattern.replace("\\Z", "$"), "maxLength": 255}
)
class _ExperimentName(serializers.Field):
    default_error_messages = {"required": "is required.", "null": "is required."}

    def to_internal_value(self, data: Any) -> str:
        if data == "":
            self.fail("required")
        if not is_experiment_name(data):
            raise serializers.ValidationError(EXPERIMENT_NAME_RULE)
        return data

    def to_representation(self, value: str) -> str:
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": PARAMETER_LIMIT},
            {"type": "number"},
            {"type": "boolean"},
        ]
    }
)
class _ParameterValue(serializers.Field):
    """A string, number or boolean, kept as it came."""

    default_error_messages = {"null": "must be a string, number or boolean."}

    def to_internal_value(self, data: Any) -> str | int | float | bool:
        if not _is_scalar(data):
            raise serializers.ValidationError("must be a string, number or boolean.")
        if isinstance(data, float) and not math.isfinite(data):
            raise serializers.ValidationError("must be a finite number.")
        if isinstance(data, str) and not _storable(data, PARAMETER_LIMIT):
            raise serializers.ValidationError(TOO_LONG)
        return data

    def to_representation(self, value: str | int | float | bool) -> str | int | float | bool:
        return value


@extend_schema_field(
    {"oneOf": [{"type": "string", "maxLength": TAG_LIMIT}, {"type": "number"}, {"type": "boolean"}]}
)
class _TagValue(serializers.Field):
    """A string (a number or boolean is taken as its text, as Azure does)."""

    default_error_messages = {"null": "must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not _is_scalar(data) or (isinstance(data, float) and not math.isfinite(data)):
            raise serializers.ValidationError("must be a string.")
        text = str(data)
        if not _storable(text, TAG_LIMIT):
            raise serializers.ValidationError(TOO_LONG)
        return text

    def to_representation(self, value: str) -> str:
        return value


class _NamedMap(serializers.DictField):
    """An object whose names are at most 255 characters a database can store (a name may be
    ignored, as an undeclared parameter is, but it is still written in the run's warnings)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            for key in data:
                if not _storable(key, KEY_LIMIT):
                    raise serializers.ValidationError({key: [TOO_LONG]})
        return super().to_internal_value(data)


class _StringMap(_NamedMap):
    """Tags and properties: names of at most 255 characters, string values."""

    def __init__(self, **kwargs):
        super().__init__(
            child=_TagValue(),
            required=False,
            allow_null=True,
            error_messages={"not_a_dict": "must be an object of strings."},
            **kwargs,
        )


@extend_schema_field({"type": "object", "additionalProperties": True})
class _JSONObject(serializers.Field):
    """A JSON object passed on as it is (a data path or dataset reference in Azure's shapes)."""

    def __init__(self, shape: str, **kwargs):
        self.shape = shape
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(f"must be an object with {self.shape}.")
        if unstorable(data) is not None:
            raise serializers.ValidationError(TOO_LONG)
        return data

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return value


def _assignments(value_shape: str, map_shape: str) -> serializers.DictField:
    return _NamedMap(
        child=_JSONObject(value_shape),
        required=False,
        allow_null=True,
        # DRF formats its messages: the braces of the shape are doubled to stay braces.
        error_messages={
            "not_a_dict": f"must be an object of name: {map_shape}.".replace("{", "{{").replace(
                "}", "}}"
            )
        },
    )


class _Text(serializers.CharField):
    """A string of at most ``limit`` characters: not a number taken as its text."""

    def __init__(self, limit: int, message: str, **kwargs):
        keys = ("blank", "null", "max_length", "invalid")
        super().__init__(
            max_length=limit,
            trim_whitespace=False,
            error_messages=dict.fromkeys(keys, message),
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or unstorable(data) is not None:
            self.fail("invalid")
        return data


class _StrictBoolean(serializers.BooleanField):
    """true or false: not "true", 1 or "yes"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class PipelineSubmissionInfo(serializers.Serializer):
    """Azure's PipelineSubmissionInfo. Keys match case-insensitively; others are ignored."""

    ExperimentName = _ExperimentName()
    ParameterAssignments = _NamedMap(
        child=_ParameterValue(),
        required=False,
        allow_null=True,
        error_messages={"not_a_dict": "must be an object of name: value."},
    )
    DataPathAssignments = _assignments(
        "DataStoreName and RelativePath", "{DataStoreName, RelativePath}"
    )
    DataSetDefinitionValueAssignments = _assignments(
        "SavedDataSetReference, DataSetReference or LiteralValue", "{SavedDataSetReference: {Id}}"
    )
    Description = _Text(
        1000,
        "must be a string of at most 1000 characters.",
        allow_blank=True,
        required=False,
        allow_null=True,
    )
    RunSource = _Text(32, "must be a short string.", required=False)
    tags = _StringMap()
    Properties = _StringMap()
    ContinueRunOnStepFailure = _StrictBoolean(
        required=False, allow_null=True, error_messages={"invalid": "must be true or false."}
    )


_KEYS = {name.lower(): name for name in PipelineSubmissionInfo().fields}


def _first_error(errors: Any, path: str) -> tuple[str, str]:
    """The path and the message of the first error of a serializer's (nested) errors."""
    if isinstance(errors, dict):
        key, value = next(iter(errors.items()))
        return _first_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(errors, list):
        return _first_error(errors[0], path)
    return path, f"{path} {errors}"


def parse_submission(body: Any) -> Submission:
    """A checked submission from Azure's JSON body, or StudioError naming the field."""
    if not isinstance(body, dict):
        raise StudioError("body", "The body must be a JSON object with at least ExperimentName.")
    canonical = {_KEYS[str(k).lower()]: v for k, v in body.items() if str(k).lower() in _KEYS}
    serializer = PipelineSubmissionInfo(data=canonical)
    if not serializer.is_valid():
        raise StudioError(*_first_error(serializer.errors, ""))
    data = serializer.validated_data
    parameters = {
        **(data.get("ParameterAssignments") or {}),
        **(data.get("DataPathAssignments") or {}),
        **(data.get("DataSetDefinitionValueAssignments") or {}),
    }
    return Submission(
        experiment_name=data["ExperimentName"],
        parameters=parameters,
        description=data.get("Description"),
        run_source=data.get("RunSource", "API"),
        tags=data.get("tags") or {},
        properties=data.get("Properties") or {},
        continue_on_step_failure=data.get("ContinueRunOnStepFailure"),
    )
