"""Pipeline parameter coercion: one path for every way of overriding a value.

Plain Python. Strings are parsed to the declared type; anything else must
already be of that type. Messages follow azureml's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from studio.core.errors import StudioError
from studio.core.paths import clean_path
from studio.core.spec import GraphSpec

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _datastore_path(name: str, value: Mapping) -> dict | None:
    """``{"datastore", "path"}`` of a mapping with datastore/DataStoreName and path/RelativePath
    (keys in any case), the path cleaned; None when it has no such pair."""

    lowered = _lowered(value)
    datastore = lowered.get("datastore", lowered.get("datastorename"))
    path = lowered.get("path", lowered.get("relativepath"))
    if not (isinstance(datastore, str) and datastore and isinstance(path, str)):
        return None
    try:
        return {"datastore": datastore, "path": clean_path(path, allow_glob=True)}
    except StudioError as exc:
        raise StudioError(
            f"pipeline_parameters.{name}", f"Pipeline parameter {name}: {exc}"
        ) from None


def coerce_datapath(name: str, value: Any, default: Mapping | None = None) -> dict:
    """A DataPath value: {"datastore", "path"} from a mapping (Azure's DataStoreName/RelativePath
    too) or, for a string, a path on the parameter's default datastore."""

    if isinstance(value, str) and default is not None:
        value = {"datastore": default["datastore"], "path": value}
    found = _datastore_path(name, value) if isinstance(value, Mapping) else None
    if found is not None:
        return found
    raise StudioError(
        f"pipeline_parameters.{name}",
        f"Expected type of the pipeline parameter {name} is DataPath (a datastore name and a relative path), "
        f"but the value {value!r} provided is of type {type(value).__name__}",
    )


def _lowered(value: Mapping) -> dict:
    return {str(k).lower(): v for k, v in value.items()}


def coerce_dataset(name: str, value: Any) -> dict:
    """A dataset value, still to be looked up: ``{"id"}``, ``{"name", "version"}`` or a literal
    ``{"datastore", "path"}``. Takes the SDK's ``{"id", "kind"}``, a dataset id, or one of Azure's
    DataSetDefinitionValueAssignments entries (SavedDataSetReference, DataSetReference,
    LiteralValue), keys in any case."""
    if isinstance(value, str) and value.strip():
        return {"id": value.strip()}
    if isinstance(value, Mapping):
        data = _lowered(value)
        if isinstance(data.get("id"), str):
            return {"id": data["id"]}
        for key in ("saveddatasetreference", "datasetreference"):
            reference = data.get(key)
            if isinstance(reference, Mapping):
                reference = _lowered(reference)
                if isinstance(reference.get("id"), str) and reference["id"]:
                    return {"id": reference["id"]}
                if isinstance(reference.get("name"), str) and reference["name"]:
                    return {
                        "name": reference["name"],
                        "version": str(reference.get("version") or "latest"),
                    }
        literal = data.get("literalvalue")
        found = _datastore_path(name, literal) if isinstance(literal, Mapping) else None
        if found is not None:
            return found
    raise StudioError(
        f"pipeline_parameters.{name}",
        f"Pipeline parameter {name} takes a dataset: a dataset id, or an object with "
        "SavedDataSetReference {Id}, DataSetReference {Id or Name and Version} or LiteralValue "
        f"{{DataStoreName, RelativePath}}; not {value!r}",
    )


def coerce(name: str, ptype: str, value: Any, default: Any = None) -> Any:
    """``value`` as the declared type, or StudioError in azureml's words."""
    if ptype == "datapath":
        return coerce_datapath(name, value, default)
    if ptype == "dataset":
        return coerce_dataset(name, value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if ptype == "str":
                return value
            if ptype == "int":
                return int(text)
            if ptype == "float":
                result = float(text)
                if not math.isfinite(result):
                    raise ValueError(text)
                return result
            if ptype == "bool":
                if text.lower() in _TRUE:
                    return True
                if text.lower() in _FALSE:
                    return False
                raise ValueError(text)
        except ValueError:
            pass
    else:
        if ptype == "bool" and isinstance(value, bool):
            return value
        if ptype == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if ptype == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                return float(value)
    raise StudioError(
        f"pipeline_parameters.{name}",
        f"Expected type of the pipeline parameter {name} is {ptype}, "
        f"but the value {value!r} provided is of type {type(value).__name__}",
    )


def resolve_parameters(spec: GraphSpec, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every declared parameter's value for a run: defaults, then coerced overrides."""
    values = {p.name: p.default for p in spec.parameters}
    declared = {p.name: p for p in spec.parameters}
    for name, value in (overrides or {}).items():
        if name not in declared:
            raise StudioError(
                f"pipeline_parameters.{name}", f"Pipeline parameter with name {name} does not exist"
            )
        values[name] = coerce(name, declared[name].type, value, declared[name].default)
    return values


def split_known(spec: GraphSpec, overrides: Mapping[str, Any] | None) -> tuple[dict, list[str]]:
    """The overrides the pipeline declares, and the names of those it does not (sorted)."""
    declared = {p.name for p in spec.parameters}
    known = {k: v for k, v in (overrides or {}).items() if k in declared}
    return known, sorted(k for k in (overrides or {}) if k not in declared)


def format_value(value: Any) -> str:
    """A parameter value as the script sees it on its command line."""
    if isinstance(value, Mapping):
        if "id" in value:
            return str(value["id"])
        return f"{value.get('datastore')}/{value.get('path')}"
    return str(value)
