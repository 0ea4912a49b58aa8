"""``ModuleStep`` (``azureml.pipeline.steps.module_step``): a step that runs a module version."""

from __future__ import annotations

import copy

from studio.core.spec import ModuleRef
from studio.sdk.data import InputBinding, OutputFileDatasetConfig
from studio.sdk.data.data_reference import DataReference
from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import PipelineParameter, _is_datapath_binding
from studio.sdk.pipeline.steps import PythonScriptStep


class ModuleStep(PythonScriptStep):
    """Runs a version of a :class:`~studio.sdk.pipeline.core.module.Module` as a pipeline step.

    Give ``module_version``; or ``module`` with a ``version``; or ``module`` alone, for its
    default version (resolved here, when the step is made). ``inputs_map``/``outputs_map``
    bind the version's input and output ports (by name) to the pipeline's data; an argument
    naming bound data reads the port it is bound to. ``params`` override the version's
    parameter defaults (as ``AML_PARAMETER_<name>`` variables).
    """

    def __init__(
        self,
        module=None,
        version: str | None = None,
        module_version=None,
        inputs_map: dict | None = None,
        outputs_map: dict | None = None,
        compute_target=None,
        runconfig=None,
        runconfig_pipeline_params=None,
        arguments: list | None = None,
        params: dict | None = None,
        name: str | None = None,
        _workflow_provider=None,
    ):
        if module is None and module_version is None:
            raise ValueError(
                "Exactly one of module or module_version is required but both are missing"
            )
        if module is not None and module_version is not None:
            raise ValueError(
                "Exactly one of module or module_version is required but both are provided"
            )
        if module_version is None:
            module_version = module.resolve(None if version is None else str(version))
            module_name = module.name
        else:
            module_name = module_version._data["module_name"]
        if name is None:
            name = module_name
        self.module_version = module_version
        label = f"module {module_name} version {module_version.version}"
        interface = module_version.interface
        inputs_map = dict(inputs_map or {})
        outputs_map = dict(outputs_map or {})
        _check_ports(name, label, "inputs_map", "input", inputs_map, interface.inputs)
        _check_ports(name, label, "outputs_map", "output", outputs_map, interface.outputs)
        for port in interface.inputs:
            if not port.is_optional and port.name not in inputs_map:
                raise ValueError(
                    f"ModuleStep {name}: input port {port.name} of {label} is not optional: "
                    "bind it in inputs_map."
                )
        if arguments is None:
            arguments = _module_arguments(module_version, inputs_map, outputs_map, params)
        bound = {id(value): _bind_input(name, port, value) for port, value in inputs_map.items()}
        inputs = [bound[id(value)] for value in inputs_map.values()]
        outputs = list(outputs_map.values())
        arguments = [bound.get(id(a), a) for a in arguments]
        declared = {p.name: p.default_value for p in interface.parameters}
        params = dict(params or {})
        for key in params:
            if key not in declared:
                known = ", ".join(declared) or "none"
                raise ValueError(
                    f"ModuleStep {name}: params names {key}, which is not a parameter of "
                    f"{label} (its parameters: {known})."
                )
        implicit = {}
        for argument in arguments:
            if isinstance(argument, PipelineParameter):
                if argument.name in params:
                    raise Exception(f"Parameter name {argument.name} is already in use")
                if argument.name in declared:
                    implicit[argument.name] = argument
        effective = {k: v for k, v in declared.items() if v is not None}
        effective.update(implicit)
        effective.update(params)
        super().__init__(
            script_name=module_version._data["script_name"],
            name=name,
            arguments=arguments,
            compute_target=compute_target,
            runconfig=runconfig,
            runconfig_pipeline_params=runconfig_pipeline_params,
            inputs=inputs,
            outputs=outputs,
            params=effective,
        )
        data = module_version._data
        # Read by the pipeline's assembly: the version's snapshot is on the server already.
        self._stored_snapshot = (data["snapshot"], list(data["files"]))
        self._module_environment = data["environment"] if runconfig is None else None
        self._module_ref = ModuleRef(
            id=module_version.module_version_id, name=module_name, version=module_version.version
        )

    def __repr__(self) -> str:
        return (
            f"ModuleStep(name={self.name!r}, module={self._module_ref.name!r}, "
            f"version={self._module_ref.version!r})"
        )


def _check_ports(step: str, label: str, argument: str, kind: str, mapping: dict, ports) -> None:
    names = [p.name for p in ports]
    for key in mapping:
        if key not in names:
            known = ", ".join(names) or "none"
            raise ValueError(
                f"ModuleStep {step}: {argument} names {kind} port {key}, which {label} does not "
                f"have (its {kind} ports: {known})."
            )


def _bind_input(step: str, port: str, value):
    """The pipeline data bound to an input port, as an input named by the port."""
    if isinstance(value, InputBinding):
        return InputBinding(value.source, port, value.mode)
    if isinstance(value, (PipelineData, OutputFileDatasetConfig)):
        return value.as_input(port)
    if isinstance(value, DatasetConsumptionConfig):
        renamed = copy.copy(value)
        renamed.name = port
        return renamed
    if isinstance(value, DataReference):
        reference = copy.copy(value)
        reference.data_reference_name = port
        return reference
    if _is_datapath_binding(value):
        return value  # the input keeps its pipeline parameter's name
    raise ValueError(
        f"ModuleStep {step}: inputs_map binds {port} to {value!r}, which is not pipeline data "
        "(PipelineData, OutputFileDatasetConfig, a dataset input or a DataReference)."
    )


def _module_arguments(module_version, inputs_map: dict, outputs_map: dict, params) -> list:
    """The version's own arguments, its ports replaced by the data bound to them."""
    arguments = []
    for item in module_version._data["arguments"]:
        kind, value = item["kind"], item["value"]
        if kind == "literal":
            arguments.append(value)
        elif kind == "input":
            if value not in inputs_map:
                continue  # an optional input left unbound
            arguments.append(inputs_map[value])
        elif kind == "output":
            if value not in outputs_map:
                outputs_map[value] = OutputFileDatasetConfig()
            arguments.append(outputs_map[value])
        else:
            bound = (params or {}).get(value)
            if bound is None:
                bound = next(
                    p.default_value for p in module_version.interface.parameters if p.name == value
                )
            arguments.append(bound if isinstance(bound, PipelineParameter) else str(bound))
    return arguments


__all__ = ["ModuleStep"]
