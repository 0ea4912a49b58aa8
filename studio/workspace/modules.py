"""Modules (azureml's ``Module``/``ModuleVersion``): reusable steps, published in versions.

A version is a script in a source snapshot (the content-addressed upload steps use), the
input and output ports its step binds, its parameters with defaults, its arguments and its
environment. A pipeline step made from a version (``ModuleStep``) is an ordinary step whose
spec names the version it came from; the submission is checked against the version here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.core.environments import parse_definition
from studio.core.errors import StudioError
from studio.core.names import PORT_NAME
from studio.core.spec import GraphSpec
from studio.workspace.models import Module, ModuleVersion, Snapshot

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

MODULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")
MODULE_NAME_RULE = (
    "A module name starts with a letter or digit and holds letters, digits, '.', '-' and '_' "
    "only (at most 255 characters)."
)
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
VERSION_RULE = (
    "A module version starts with a letter or digit and holds letters, digits, '.', '-' and "
    "'_' only (at most 64 characters)."
)
STATUSES = ("Active", "Deprecated", "Disabled")
ARGUMENT_KINDS = ("literal", "input", "output", "parameter")
_PARAM_TYPES = {bool: "bool", int: "int", float: "float", str: "str", type(None): "none"}
DATA_TYPES = ("AnyFile", "AnyDirectory")


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def create_module(name: Any, description: Any = "", user: Any = None) -> Module:
    """``Module.create(ws, name, description)``: a module with no versions yet."""
    if not isinstance(name, str) or not MODULE_NAME.match(name):
        raise StudioError("name", MODULE_NAME_RULE)
    description = _text(description, "description")
    try:
        with transaction.atomic():
            return Module.objects.create(name=name, description=description, created_by=_user(user))
    except IntegrityError:
        raise StudioError("name", f"Module {name} already exists.", status=409) from None


def get_module(module_id: Any = None, name: Any = None) -> Module:
    """``Module.get(ws, module_id=None, name=None)``: by id, else by name; 404 naming it."""
    if module_id:
        found = Module.objects.filter(id=module_id).first() if _is_uuid(module_id) else None
        if found is None:
            raise StudioError("module_id", f"Module with id {module_id} not found.", 404)
        return found
    if name:
        found = Module.objects.filter(name=name).first()
        if found is None:
            raise StudioError("name", f"Module {name} not found.", 404)
        return found
    raise StudioError("module_id", "Either module_id or name has to be provided.")


def get_version(version_id: Any) -> ModuleVersion:
    found = (
        ModuleVersion.objects.select_related("module").filter(id=version_id).first()
        if _is_uuid(version_id)
        else None
    )
    if found is None:
        raise StudioError("module_version_id", f"Module version {version_id} not found.", 404)
    return found


def update_module(
    module: Module,
    *,
    name: Any = None,
    description: Any = None,
    status: Any = None,
    default_version: Any = None,
) -> Module:
    """``set_name``, ``set_description``, ``enable``/``disable``/``deprecate`` and
    ``set_default_version``: what is given changes."""
    with transaction.atomic():
        module = Module.objects.select_for_update().get(pk=module.pk)
        if name is not None:
            if not isinstance(name, str) or not MODULE_NAME.match(name):
                raise StudioError("name", MODULE_NAME_RULE)
            if Module.objects.filter(name=name).exclude(pk=module.pk).exists():
                raise StudioError("name", f"Module {name} already exists.", status=409)
            module.name = name
        if description is not None:
            module.description = _text(description, "description")
        if status is not None:
            module.status = _status(status)
        if default_version is not None:
            if not module.versions.filter(version=default_version).exists():
                raise StudioError("default_version", "provided version is not part of the module")
            module.default_version = default_version
        module.save()
    return module


def update_version(
    module_version: ModuleVersion, *, status: Any = None, description: Any = None
) -> ModuleVersion:
    """``ModuleVersion.enable``/``disable``/``deprecate`` and ``set_description``."""
    if status is not None:
        module_version.status = _status(status)
    if description is not None:
        module_version.description = _text(description, "description")
    module_version.updated_at = timezone.now()
    module_version.save(update_fields=["status", "description", "updated_at"])
    return module_version


def publish_version(
    module: Module,
    *,
    script_name: Any,
    snapshot: Any,
    version: Any = None,
    description: Any = "",
    inputs: Any = None,
    outputs: Any = None,
    params: Any = None,
    arguments: Any = None,
    environment: Any = None,
    is_default: bool = False,
    user: AbstractUser | None = None,
) -> ModuleVersion:
    """``module.publish_python_script(...)``: a new version of ``module``.

    The snapshot must be uploaded already and hold the script; a version that exists is
    refused with azureml's message; without ``version`` the next whole number is taken.
    """
    stored = Snapshot.objects.filter(digest=snapshot).first() if isinstance(snapshot, str) else None
    if stored is None:
        raise StudioError("snapshot", f"Snapshot {snapshot} has not been uploaded.")
    if not isinstance(script_name, str) or not script_name.strip():
        raise StudioError("script_name", "script_name is required.")
    script = script_name.replace("\\", "/")
    if script not in stored.files:
        raise StudioError(
            "script_name",
            f"Module {module.name}: script not found at: {script} in the snapshot of the "
            "source directory.",
        )
    input_ports = _ports(inputs, "inputs", _input_port)
    output_ports = _ports(outputs, "outputs", _output_port)
    names = [p["name"] for p in input_ports] + [p["name"] for p in output_ports]
    for name in names:
        if names.count(name) > 1:
            raise StudioError("outputs", f"Port name {name} is used twice: port names are unique.")
    param_defs = _params(params)
    argument_list = _arguments(arguments, input_ports, output_ports, param_defs)
    if environment is not None:
        environment = parse_definition(environment, "environment").to_dict()
    description = _text(description, "description")
    for _ in range(3):
        try:
            with transaction.atomic():
                locked = Module.objects.select_for_update().get(pk=module.pk)
                existing = set(locked.versions.values_list("version", flat=True))
                if version is None:
                    numbers = [int(v) for v in existing if v.isdigit() and len(v) < 10]
                    wanted = str(max(numbers, default=len(existing)) + 1)
                else:
                    wanted = version if isinstance(version, str) else str(version)
                    if not VERSION.match(wanted):
                        raise StudioError("version", VERSION_RULE)
                    if wanted in existing:
                        raise StudioError(
                            "version", "provided version value already exist", status=409
                        )
                created = ModuleVersion.objects.create(
                    module=locked,
                    version=wanted,
                    description=description,
                    snapshot=stored,
                    script_name=script,
                    inputs=input_ports,
                    outputs=output_ports,
                    params=param_defs,
                    arguments=argument_list,
                    environment=environment,
                    created_by=_user(user),
                )
                if is_default:
                    locked.default_version = wanted
                    locked.save(update_fields=["default_version"])
                return created
        except IntegrityError:
            continue  # a concurrent publish took this version number: count again
    raise StudioError(
        "version", f"Module {module.name} is being published concurrently; retry.", 409
    )


def check_graph(spec: GraphSpec) -> dict[str, ModuleVersion]:
    """The module versions the graph's module steps come from, by node id; refused (naming
    the step) when a version does not exist, is disabled, or the step is not its script in
    its snapshot."""
    wanted = {s.node_id: s.module for s in spec.steps if s.module is not None}
    if not wanted:
        return {}
    ids = [m.id for m in wanted.values() if _is_uuid(m.id)]
    versions = ModuleVersion.objects.select_related("module").in_bulk(ids)
    by_id = {str(k): v for k, v in versions.items()}
    found: dict[str, ModuleVersion] = {}
    for index, step in enumerate(spec.steps):
        if step.module is None:
            continue
        where = f"graph.steps[{index}].module"
        version = by_id.get(step.module.id)
        if version is None:
            raise StudioError(
                where,
                f"Step [{step.name}]: module {step.module.name} version {step.module.version} "
                "does not exist.",
            )
        label = f"module {version.module.name} version {version.version}"
        if version.module.status == "Disabled" or version.status == "Disabled":
            what = "module" if version.module.status == "Disabled" else "version"
            raise StudioError(
                where, f"Step [{step.name}]: {label} is disabled (the {what} is Disabled)."
            )
        if (step.module.name, step.module.version) != (version.module.name, version.version) or (
            step.snapshot != version.snapshot_id or step.script_name != version.script_name
        ):
            raise StudioError(
                where,
                f"Step [{step.name}] is not {label}: its script, snapshot or name differ from "
                "the version's.",
            )
        found[step.node_id] = version
    return found


def deprecation_warnings(versions: Iterable[ModuleVersion]) -> list[str]:
    """What a run is told about the deprecated modules and versions it uses."""
    told = []
    for version in {v.pk: v for v in versions}.values():
        if version.module.status == "Deprecated" or version.status == "Deprecated":
            told.append(f"Module {version.module.name} version {version.version} is deprecated.")
    return sorted(told)


def module_json(module: Module, versions: Iterable[ModuleVersion] | None = None) -> dict:
    listed = list(versions if versions is not None else module.versions.all())
    return {
        "id": str(module.id),
        "name": module.name,
        "description": module.description,
        "status": module.status,
        "default_version": module.default_version or None,
        "versions": [{"version": v.version, "module_version_id": str(v.id)} for v in listed],
        "created_by": module.created_by.get_username() if module.created_by else "",
        "created_at": module.created_at,
    }


def version_json(version: ModuleVersion) -> dict:
    return {
        "id": str(version.id),
        "module_id": str(version.module_id),
        "module_name": version.module.name,
        "version": version.version,
        "status": version.status,
        "description": version.description,
        "is_default": version.is_default,
        "snapshot": version.snapshot_id,
        "files": sorted(version.snapshot.files),
        "script_name": version.script_name,
        "inputs": version.inputs,
        "outputs": version.outputs,
        "params": version.params,
        "arguments": version.arguments,
        "environment": version.environment,
        "created_by": version.created_by.get_username() if version.created_by else "",
        "created_at": version.created_at,
        "updated_at": version.updated_at,
    }


# --- checks ---------------------------------------------------------------------------


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _text(value: Any, field: str, limit: int = 5000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StudioError(field, f"{field} must be a string.")
    if len(value) > limit:
        raise StudioError(field, f"{field} is longer than {limit} characters.")
    return value


def _status(status: Any) -> str:
    if status not in STATUSES:
        raise StudioError("status", f"status must be one of {', '.join(STATUSES)}.")
    return status


def _ports(raw: Any, field: str, parse: Any) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise StudioError(field, f"{field} must be a list of port definitions.")
    return [parse(item, f"{field}[{i}]") for i, item in enumerate(raw)]


def _port_name(item: Any, where: str) -> str:
    if not isinstance(item, Mapping):
        raise StudioError(where, f"{where} must be an object.")
    name = item.get("name")
    if not isinstance(name, str) or not PORT_NAME.match(name):
        raise StudioError(
            f"{where}.name",
            f"[{name}] is not a valid port name as it may contain only letters, digits, and "
            "underscores.",
        )
    return name


def _opt(item: Mapping, key: str, where: str, kind: type = str) -> Any:
    """An optional field of a port definition, of JSON type ``kind``."""
    value = item.get(key)
    if value is None:
        return None
    if type(value) is not kind:
        raise StudioError(f"{where}.{key}", f"{where}.{key} must be a {kind.__name__}.")
    if isinstance(value, str) and len(value) > 1000:
        raise StudioError(f"{where}.{key}", f"{where}.{key} is longer than 1000 characters.")
    return value


def _input_port(item: Any, where: str) -> dict:
    name = _port_name(item, where)
    data_types = item.get("data_types") or list(DATA_TYPES)
    if not isinstance(data_types, list) or not all(isinstance(t, str) for t in data_types):
        raise StudioError(f"{where}.data_types", "data_types must be a list of strings.")
    mode = _opt(item, "default_datastore_mode", where)
    if mode not in (None, "mount", "download", "direct"):
        raise StudioError(f"{where}.default_datastore_mode", "Must be mount or download.")
    return {
        "name": name,
        "label": _opt(item, "label", where) or "",
        "data_types": data_types,
        "is_optional": bool(_opt(item, "is_optional", where, bool)),
        "default_datastore_mode": mode,
        "default_path_on_compute": _opt(item, "default_path_on_compute", where),
        "default_data_reference_name": _opt(item, "default_data_reference_name", where),
        "is_resource": bool(_opt(item, "is_resource", where, bool)),
    }


def _output_port(item: Any, where: str) -> dict:
    name = _port_name(item, where)
    mode = _opt(item, "default_datastore_mode", where)
    if mode not in (None, "mount", "upload"):
        raise StudioError(f"{where}.default_datastore_mode", "Must be mount or upload.")
    is_directory = bool(_opt(item, "is_directory", where, bool))
    return {
        "name": name,
        "label": _opt(item, "label", where) or "",
        "data_type": _opt(item, "data_type", where)
        or ("AnyDirectory" if is_directory else "AnyFile"),
        "is_directory": is_directory,
        "default_datastore_name": _opt(item, "default_datastore_name", where),
        "default_datastore_mode": mode,
        "default_path_on_compute": _opt(item, "default_path_on_compute", where),
    }


def _params(raw: Any) -> list[dict]:
    """``params``: ``{name: default}`` as azureml takes them, or the stored list form."""
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        raw = [{"name": k, "default": v} for k, v in raw.items()]
    if not isinstance(raw, list):
        raise StudioError("params", "params must map names to default values.")
    parsed = []
    for i, item in enumerate(raw):
        where = f"params[{i}]"
        name = _port_name(item, where)
        default = item.get("default")
        kind = _PARAM_TYPES.get(type(default))
        if kind is None:
            raise StudioError(
                f"params.{name}",
                f"The default of parameter {name} must be a string, number, boolean or null.",
            )
        if name in {p["name"] for p in parsed}:
            raise StudioError(f"params.{name}", f"Parameter {name} is declared twice.")
        parsed.append({"name": name, "default": default, "type": kind})
    return parsed


def _arguments(raw: Any, inputs: list, outputs: list, params: list) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise StudioError("arguments", "arguments must be a list.")
    known = {
        "input": {p["name"] for p in inputs},
        "output": {p["name"] for p in outputs},
        "parameter": {p["name"] for p in params},
    }
    parsed = []
    for i, item in enumerate(raw):
        where = f"arguments[{i}]"
        if not isinstance(item, Mapping) or item.get("kind") not in ARGUMENT_KINDS:
            raise StudioError(
                where, f"{where} must be an object with a kind of {', '.join(ARGUMENT_KINDS)}."
            )
        value = item.get("value")
        if not isinstance(value, str) or len(value) > 10_000:
            raise StudioError(f"{where}.value", f"{where}.value must be a string.")
        kind = item["kind"]
        if kind != "literal" and value not in known[kind]:
            raise StudioError(
                f"{where}.value", f"Argument {value} names no {kind} of the module version."
            )
        parsed.append({"kind": kind, "value": value})
    return parsed
