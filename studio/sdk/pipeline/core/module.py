"""``Module``, ``ModuleVersion`` and ``ModuleVersionDescriptor`` (``azureml.pipeline.core.module``).

A module is a named container of versions; a version is a script in a source snapshot with
the input and output ports, parameters and arguments a ``ModuleStep`` binds. Versions live on
the server (``/api/modules/``), so any pipeline of the workspace can use them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from studio.core import snapshot
from studio.sdk.pipeline.core.assembly import _definition_of
from studio.sdk.pipeline.core.graph import InputPortDef, OutputPortDef, ParamDef, PipelineParameter

log = logging.getLogger("studio.sdk.pipeline.core.module")


def _upload_snapshot(client, source_directory: str) -> tuple[str, list[str]]:
    """The digest and files of the source directory's snapshot, uploaded if the server lacks it."""
    digest, data, files = snapshot.build(source_directory)
    if digest not in client.known_snapshots:
        missing = client.post("snapshots/missing/", {"digests": [digest]})["missing"]
        if missing:
            client.request(
                "PUT",
                f"snapshots/{digest}/upload/",
                data=data,
                headers={"Content-Type": "application/zip"},
            )
        client.known_snapshots.add(digest)
    return digest, files


class ModuleVersionDescriptor:
    """The version and id of a :class:`ModuleVersion`."""

    def __init__(self, version: str, module_version_id: str):
        self._version = version
        self._module_version_id = module_version_id

    @property
    def version(self) -> str:
        return self._version

    @property
    def module_version_id(self) -> str:
        return self._module_version_id

    def __str__(self) -> str:
        return (
            f"ModuleVersionDescriptor(Version: {self.version},\n"
            f"ModuleVersionId: {self.module_version_id})"
        )

    __repr__ = __str__


class StructuredInterface:
    """A module version's interface: its input and output ports and its parameters."""

    def __init__(self, inputs: list, outputs: list, parameters: list):
        self.inputs = inputs
        self.outputs = outputs
        self.parameters = parameters
        self.metadata_parameters: list = []

    def __repr__(self) -> str:
        return (
            f"StructuredInterface(inputs={[p.name for p in self.inputs]}, "
            f"outputs={[p.name for p in self.outputs]}, "
            f"parameters={[p.name for p in self.parameters]})"
        )


class Module:
    """A computation unit used in pipelines: a container of its versions.

    ``Module.create(ws, name, description)`` or ``Module.get(ws, module_id=None, name=None)``;
    ``publish_python_script(...)`` adds a version; ``ModuleStep(module=..., version=...)``
    uses one in a pipeline.
    """

    def __init__(
        self,
        workspace,
        module_id: str,
        name: str,
        description: str,
        status: str,
        default_version: str | None,
        module_version_list: list,
        _module_provider=None,
        _module_version_provider=None,
    ):
        self._workspace = workspace
        self._id = module_id
        self._name = name
        self._description = description
        self._status = status
        self._default_version = default_version
        self._module_version_list = module_version_list

    @classmethod
    def _from_json(cls, workspace, data: dict) -> Module:
        return cls(
            workspace,
            data["id"],
            data["name"],
            data["description"],
            data["status"],
            data["default_version"],
            [
                ModuleVersionDescriptor(v["version"], v["module_version_id"])
                for v in data["versions"]
            ],
        )

    @staticmethod
    def create(workspace, name: str, description: str, _workflow_provider=None) -> Module:
        """Create a module with no versions yet; its name is unique in the workspace."""
        body = {"name": name, "description": description or ""}
        return Module._from_json(workspace, workspace._client.post("modules/", body))

    @staticmethod
    def get(
        workspace, module_id: str | None = None, name: str | None = None, _workflow_provider=None
    ) -> Module:
        """The module with this id, else with this name."""
        if module_id:
            return Module._from_json(workspace, workspace._client.get(f"modules/{module_id}/"))
        if name:
            return Module._from_json(workspace, workspace._client.get(f"modules/by-name/{name}/"))
        raise ValueError("Either module_id or name has to be provided")

    @staticmethod
    def get_versions(
        workspace, name: str, _workflow_provider=None
    ) -> list[ModuleVersionDescriptor]:
        return Module.get(workspace, name=name).module_version_list()

    @staticmethod
    def process_source_directory(name: str, source_directory: str, script_name: str) -> str:
        script_path = os.path.join(source_directory, script_name)
        if not os.path.isfile(script_path):
            raise ValueError(
                f"Step [{name}]: script not found at: {os.path.abspath(script_path)}. Make sure "
                "to specify an appropriate source_directory on the Step or "
                "default_source_directory on the Pipeline."
            )
        return source_directory

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @property
    def description(self) -> str:
        return self._description

    @property
    def status(self) -> str:
        return self._status

    @property
    def default_version(self) -> str | None:
        return self._default_version

    def module_version_list(self) -> list[ModuleVersionDescriptor]:
        return self._module_version_list

    def publish_python_script(
        self,
        script_name: str,
        description: str,
        inputs: list,
        outputs: list,
        params: dict | None = None,
        create_sequencing_ports: bool = True,
        version: str | None = None,
        is_default: bool = False,
        source_directory: str | None = None,
        hash_paths=None,
        category=None,
        arguments: list | None = None,
        runconfig=None,
    ) -> ModuleVersion:
        """A new version that runs ``python script_name`` in a snapshot of ``source_directory``."""
        if hash_paths:
            log.warning(
                "Parameter 'hash_paths' is deprecated, will be removed. All files under "
                "source_directory is hashed except files listed in .amlignore or .gitignore."
            )
        source_directory = Module.process_source_directory(
            self.name, source_directory or os.getcwd(), script_name
        )
        return self._publish(
            description,
            inputs,
            outputs,
            params,
            version,
            is_default,
            source_directory,
            script_name,
            arguments,
            runconfig,
        )

    def publish(
        self,
        description: str,
        execution_type: str,
        inputs: list,
        outputs: list,
        param_defs: list | None = None,
        create_sequencing_ports: bool = True,
        version: str | None = None,
        is_default: bool = False,
        content_path: str | None = None,
        hash_paths=None,
        category=None,
        arguments: list | None = None,
        runconfig=None,
    ) -> ModuleVersion:
        """azureml's general form: only Python scripts (``execution_type`` ``escloud``) run
        here, the script named by a ``Script`` parameter definition."""
        if str(execution_type).lower() != "escloud":
            raise NotImplementedError(
                f"Module execution type {execution_type} is not supported by Studio: publish "
                "Python scripts with publish_python_script (see the README, 'Differences from "
                "Azure ML')."
            )
        defs = list(param_defs or [])
        script = next((p.default_value for p in defs if p.name == "Script"), None)
        if not script:
            raise ValueError("A module version of a Python script needs a 'Script' parameter.")
        params = {p.name: p.default_value for p in defs if p.name != "Script"}
        source = Module.process_source_directory(self.name, content_path or os.getcwd(), script)
        return self._publish(
            description,
            inputs,
            outputs,
            params,
            version,
            is_default,
            source,
            script,
            arguments,
            runconfig,
        )

    def publish_adla_script(self, *args, **kwargs) -> ModuleVersion:
        raise NotImplementedError(
            "publish_adla_script is not supported by Studio: Azure Data Lake Analytics is an "
            "Azure service; publish a Python script with publish_python_script."
        )

    def publish_azure_batch(self, *args, **kwargs) -> ModuleVersion:
        raise NotImplementedError(
            "publish_azure_batch is not supported by Studio: Azure Batch is an Azure service; "
            "publish a Python script with publish_python_script."
        )

    def _publish(
        self,
        description,
        inputs,
        outputs,
        params,
        version,
        is_default,
        source_directory,
        script_name,
        arguments,
        runconfig,
    ) -> ModuleVersion:
        if version is not None:
            if any(item.version == str(version) for item in self._module_version_list):
                raise Exception("provided version value already exist")
        client = self._workspace._client
        digest, _ = _upload_snapshot(client, source_directory)
        environment = _definition_of(runconfig) if runconfig is not None else None
        body = {
            "script_name": Path(script_name).as_posix(),
            "snapshot": digest,
            "version": None if version is None else str(version),
            "description": description or "",
            "inputs": [_port(p, InputPortDef)._to_json() for p in inputs or []],
            "outputs": [_port(p, OutputPortDef)._to_json() for p in outputs or []],
            "params": {
                name: (value.default_value if isinstance(value, ParamDef) else value)
                for name, value in (params or {}).items()
            },
            "arguments": _module_arguments(arguments),
            "environment": environment.to_dict() if environment is not None else None,
            "is_default": bool(is_default),
        }
        data = client.post(f"modules/{self.id}/versions/", body)
        module_version = ModuleVersion(self._workspace, data)
        self._module_version_list.append(
            ModuleVersionDescriptor(module_version.version, module_version.module_version_id)
        )
        if is_default:
            self._default_version = module_version.version
        return module_version

    def resolve(self, version: str | None = None) -> ModuleVersion:
        """The version to use: ``version``; else the default version; else the highest of the
        versions that are not disabled when all are numbers like 1.2.3; else the one updated
        last."""
        if version is not None:
            found = next((v for v in self._module_version_list if v.version == str(version)), None)
            if found is None:
                known = ", ".join(v.version for v in self._module_version_list) or "none"
                raise ValueError(
                    f"Module {self.name} has no version {version}; its versions: {known}."
                )
            return self._get_module_version(found.module_version_id)
        default = self.get_default()
        if default is not None:
            return default
        return _pick(
            self.name,
            [self._get_module_version(v.module_version_id) for v in self._module_version_list],
        )

    def get_default(self) -> ModuleVersion | None:
        found = next(
            (v for v in self._module_version_list if v.version == self.default_version), None
        )
        return None if found is None else self._get_module_version(found.module_version_id)

    def get_default_version(self) -> str | None:
        return self._default_version

    def set_default_version(self, version_id: str) -> None:
        """Make ``version_id`` (a version of this module, such as "2") the default."""
        if version_id is None:
            raise Exception("No version was provided to be set as default")
        if not any(item.version == version_id for item in self._module_version_list):
            raise Exception("provided version is not part of the module")
        self._update(default_version=version_id)
        self._default_version = version_id

    def set_name(self, name: str) -> None:
        if name is None:
            raise Exception("No name was provided")
        self._update(name=name)
        self._name = name

    def set_description(self, description: str) -> None:
        if description is None:
            raise Exception("No description was provided")
        self._update(description=description)
        self._description = description

    def enable(self) -> None:
        """Set the Module to 'Active'."""
        self._set_status("Active")

    def disable(self) -> None:
        """Set the Module to 'Disabled': its versions can no longer be submitted."""
        self._set_status("Disabled")

    def deprecate(self) -> None:
        """Set the Module to 'Deprecated': runs that use it are told so."""
        self._set_status("Deprecated")

    def _set_status(self, status: str) -> None:
        self._update(status=status)
        self._status = status

    def _update(self, **fields) -> None:
        self._workspace._client.request("PATCH", f"modules/{self.id}/", json=fields)

    def _get_module_version(self, version_id: str) -> ModuleVersion:
        return ModuleVersion.get(self._workspace, version_id)

    def __str__(self) -> str:
        versions = [(v.version, v.module_version_id) for v in self._module_version_list]
        return (
            f"Module(Name: {self.name},\nId: {self.id},\nDescription: {self.description},\n"
            f"Versions: {versions})"
        )

    __repr__ = __str__


class ModuleVersion:
    """One version of a :class:`Module`: made by its publish methods, used by ModuleStep."""

    def __init__(
        self,
        workspace,
        module_entity: dict,
        version: str | None = None,
        _module_version_provider=None,
    ):
        self._workspace = workspace
        self._data = module_entity
        self._version = version if version is not None else module_entity["version"]

    @staticmethod
    def get(
        workspace, module_version_id: str | None = None, _workflow_provider=None
    ) -> ModuleVersion:
        if not module_version_id:
            raise ValueError("module_version_id has to be provided")
        return ModuleVersion(
            workspace, workspace._client.get(f"moduleversions/{module_version_id}/")
        )

    @property
    def status(self) -> str:
        return self._data["status"]

    @property
    def module_id(self) -> str:
        return self._data["module_id"]

    @property
    def description(self) -> str:
        return self._data["description"]

    @property
    def module_version_id(self) -> str:
        return self._data["id"]

    @property
    def version(self) -> str:
        return self._version

    @property
    def interface(self) -> StructuredInterface:
        return StructuredInterface(
            [InputPortDef._from_json(p) for p in self._data["inputs"]],
            [OutputPortDef._from_json(p) for p in self._data["outputs"]],
            [ParamDef(p["name"], p["default"], set_env_var=True) for p in self._data["params"]],
        )

    @property
    def category(self) -> None:
        return None

    @property
    def runconfig(self) -> dict | None:
        return self._data["environment"]

    def module(self, _workflow_provider=None) -> Module:
        return Module.get(self._workspace, module_id=self.module_id)

    def set_description(self, description: str) -> None:
        if description is None:
            raise Exception("No description was provided")
        self._update(description=description)

    def enable(self) -> None:
        """Set the ModuleVersion state to 'Active'."""
        self._update(status="Active")

    def disable(self) -> None:
        """Set the ModuleVersion state to 'Disabled': it can no longer be submitted."""
        self._update(status="Disabled")

    def deprecate(self) -> None:
        """Set the ModuleVersion state to 'Deprecated': runs that use it are told so."""
        self._update(status="Deprecated")

    def _update(self, **fields) -> None:
        self._data = self._workspace._client.request(
            "PATCH", f"moduleversions/{self.module_version_id}/", json=fields
        )

    def __str__(self) -> str:
        return (
            f"ModuleVersion(status: {self.status},\nversion: {self.version},\n"
            f"module_id: {self.module_id},\nmodule_version_id: {self.module_version_id})"
        )

    __repr__ = __str__


def _pick(name: str, versions: list[ModuleVersion]) -> ModuleVersion:
    """Without a default: the highest version that is not disabled when all are numbers like
    1.2.3, else the one updated last."""
    candidates = [v for v in versions if v.status != "Disabled"]
    if not candidates:
        raise ValueError(f"Module {name} has no version that is not disabled.")
    if all(_is_numbered(v.version) for v in candidates):
        return max(candidates, key=lambda v: tuple(int(p) for p in v.version.split(".")))
    return max(candidates, key=lambda v: v._data["updated_at"])


def _is_numbered(version: str | None) -> bool:
    return bool(version) and all(part.isdigit() for part in str(version).split("."))


def _port(item, kind):
    """An InputPortDef/OutputPortDef, or what azureml also takes in its place (PipelineData,
    DataReference...), as a port definition named by it."""
    if isinstance(item, kind):
        return item
    name = getattr(item, "output_name", None) if kind is OutputPortDef else None
    name = name or getattr(item, "data_reference_name", None) or getattr(item, "name", None)
    if not isinstance(name, str):
        raise ValueError(f"Not a {kind.__name__}: {item!r}")
    return kind(name=name)


def _module_arguments(arguments: list | None) -> list[dict]:
    """azureml's annotated arguments: port definitions, pipeline parameters, strings."""
    annotated = []
    for argument in arguments or []:
        if isinstance(argument, InputPortDef):
            annotated.append({"kind": "input", "value": argument.name})
        elif isinstance(argument, OutputPortDef):
            annotated.append({"kind": "output", "value": argument.name})
        elif isinstance(argument, PipelineParameter):
            annotated.append({"kind": "parameter", "value": argument.name})
        elif isinstance(argument, str):
            annotated.append({"kind": "literal", "value": argument})
        else:
            raise Exception("Unknown type in the argument list.")
    return annotated


__all__ = ["Module", "ModuleVersion", "ModuleVersionDescriptor"]
