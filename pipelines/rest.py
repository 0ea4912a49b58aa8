"""Azure's PipelineSubmissionInfo body, parsed and checked (plain Python).

Keys are matched case-insensitively and unknown keys are ignored, as Azure does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import StudioError
from studio.core.spec import EXPERIMENT_NAME

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Submission:
    experiment_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    run_source: str = "API"
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    continue_on_step_failure: bool | None = None


def _string_map(value: Any, name: str, limit: int = 10_000) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StudioError(name, f"{name} must be an object of strings.")
    out = {}
    for key, item in value.items():
        if (
            not isinstance(item, (str, int, float, bool))
            or isinstance(item, float)
            and not math.isfinite(item)
        ):
            raise StudioError(f"{name}.{key}", f"{name}.{key} must be a string.")
        text = str(item)
        if len(key) > 255 or len(text) > limit or "\x00" in key + text:
            raise StudioError(
                f"{name}.{key}", f"{name}.{key} is too long or contains NUL characters."
            )
        out[key] = text
    return out


def parse_submission(body: Any) -> Submission:
    """A validated submission from Azure's JSON body, or StudioError naming the field."""
    if not isinstance(body, dict):
        raise StudioError("body", "The body must be a JSON object with at least ExperimentName.")
    data = {str(k).lower(): v for k, v in body.items()}
    name = data.get("experimentname")
    if name is None or name == "":
        raise StudioError("ExperimentName", "ExperimentName is required.")
    if not isinstance(name, str) or not EXPERIMENT_NAME.match(name):
        raise StudioError(
            "ExperimentName",
            "ExperimentName must start with a letter or digit and contain only letters, digits, '_' and '-', "
            "at most 255 characters.",
        )
    parameters: dict[str, Any] = {}
    assignments = data.get("parameterassignments")
    if assignments is not None:
        if not isinstance(assignments, dict):
            raise StudioError(
                "ParameterAssignments", "ParameterAssignments must be an object of name: value."
            )
        for key, value in assignments.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise StudioError(
                    f"ParameterAssignments.{key}",
                    f"ParameterAssignments.{key} must be a finite number.",
                )
            if not isinstance(value, (str, int, float, bool)):
                raise StudioError(
                    f"ParameterAssignments.{key}",
                    f"ParameterAssignments.{key} must be a string, number or boolean.",
                )
            if isinstance(value, str) and (len(value) > 100_000 or "\x00" in value):
                raise StudioError(
                    f"ParameterAssignments.{key}",
                    f"ParameterAssignments.{key} is too long or contains NUL characters.",
                )
            parameters[key] = value
    datapaths = data.get("datapathassignments")
    if datapaths is not None:
        if not isinstance(datapaths, dict):
            raise StudioError(
                "DataPathAssignments",
                "DataPathAssignments must be an object of name: {DataStoreName, RelativePath}.",
            )
        for key, value in datapaths.items():
            if not isinstance(value, dict):
                raise StudioError(
                    f"DataPathAssignments.{key}",
                    f"DataPathAssignments.{key} must be an object with DataStoreName and RelativePath.",
                )
            parameters[key] = value
    datasets = data.get("datasetdefinitionvalueassignments")
    if datasets is not None:
        if not isinstance(datasets, dict):
            raise StudioError(
                "DataSetDefinitionValueAssignments",
                "DataSetDefinitionValueAssignments must be an object of name: {SavedDataSetReference: {Id}}.",
            )
        for key, value in datasets.items():
            if not isinstance(value, dict):
                raise StudioError(
                    f"DataSetDefinitionValueAssignments.{key}",
                    f"DataSetDefinitionValueAssignments.{key} must be an object with SavedDataSetReference, "
                    "DataSetReference or LiteralValue.",
                )
            parameters[key] = value
    description = data.get("description")
    if description is not None and (
        not isinstance(description, str) or len(description) > 1000 or "\x00" in description
    ):
        raise StudioError("Description", "Description must be a string of at most 1000 characters.")
    run_source = data.get("runsource", "API")
    if (
        not isinstance(run_source, str)
        or not run_source
        or len(run_source) > 32
        or "\x00" in run_source
    ):
        raise StudioError("RunSource", "RunSource must be a short string.")
    cosf = data.get("continuerunonstepfailure")
    if cosf is not None and not isinstance(cosf, bool):
        raise StudioError(
            "ContinueRunOnStepFailure", "ContinueRunOnStepFailure must be true or false."
        )
    return Submission(
        experiment_name=name,
        parameters=parameters,
        description=description,
        run_source=run_source,
        tags=_string_map(data.get("tags"), "tags"),
        properties=_string_map(data.get("properties"), "Properties"),
        continue_on_step_failure=cosf,
    )
