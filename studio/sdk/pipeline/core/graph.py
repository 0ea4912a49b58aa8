"""``studio.sdk.pipeline.core.graph``: PipelineParameter, InputPortDef, OutputPortDef."""

from __future__ import annotations

from studio.core.names import is_port_name
from studio.sdk.data.datapath import DataPath
from studio.sdk.data.datasets import _AbstractDataset

_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


def _is_dataset(value) -> bool:
    return isinstance(value, _AbstractDataset)


class PipelineParameter:
    """A named value with a default, substituted wherever a step uses it.

    The default may be an int, float, bool or str, a ``DataPath`` (bound to a step with
    ``DataPathComputeBinding``) or a ``FileDataset``/``TabularDataset`` (used through
    ``DatasetConsumptionConfig(name, parameter)``).
    """

    def __init__(self, name: str, default_value):
        if not is_port_name(name):
            raise ValueError(
                f"Pipeline parameter name [{name}] may contain only letters, digits and underscores."
            )
        if (
            type(default_value) not in _TYPES
            and not isinstance(default_value, DataPath)
            and not _is_dataset(default_value)
        ):
            raise ValueError(
                f"Default value is of unsupported type: {type(default_value).__name__}"
            )
        self.name = name
        self.default_value = default_value

    @property
    def type(self) -> str:
        if isinstance(self.default_value, DataPath):
            return "datapath"
        if _is_dataset(self.default_value):
            return "dataset"
        return _TYPES[type(self.default_value)]

    def _spec_default(self, workspace=None):
        if isinstance(self.default_value, DataPath):
            return self.default_value._to_json()
        if _is_dataset(self.default_value):
            if workspace is None:
                raise ValueError(
                    f"Pipeline parameter {self.name}: a dataset default needs a workspace"
                )
            return self.default_value._parameter_value(workspace)
        return self.default_value

    def __repr__(self) -> str:
        return f"PipelineParameter_Name:{self.name}_Default:{self.default_value}"

    def __str__(self) -> str:
        return self.__repr__()


_DATASET_CLASSES = {"file": "FileDataset", "tabular": "TabularDataset"}


def parameter_value(value, workspace):
    """A pipeline parameter value as the server takes it (DataPaths and datasets as JSON)."""
    if isinstance(value, DataPath):
        return value._to_json()
    if _is_dataset(value):
        return value._parameter_value(workspace)
    return value


def check_dataset_value(name: str, declared_type: str, declared_default, value) -> None:
    """azureml's TypeError for a dataset given to another parameter, or the wrong kind."""
    if not (_is_dataset(value) or declared_type == "dataset"):
        return
    if declared_type == "dataset":
        expected = _DATASET_CLASSES[declared_default["kind"]]
    else:
        expected = {"datapath": "DataPath"}.get(declared_type, declared_type)
    if type(value).__name__ != expected:
        raise TypeError(
            f"Pipeline parameter with name {name} is of incorrect type {type(value).__name__}. "
            f"Expected type: {expected}"
        )


def _is_datapath_binding(value) -> bool:
    """``(PipelineParameter(name, DataPath(...)), DataPathComputeBinding())``, as azureml writes it."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], PipelineParameter)
        and type(value[1]).__name__ == "DataPathComputeBinding"
    )


class InputPortDef:
    """An input port of a module version: the name a ``ModuleStep``'s ``inputs_map`` binds."""

    def __init__(
        self,
        name: str,
        data_types: list | None = None,
        default_datastore_mode: str | None = None,
        default_path_on_compute: str | None = None,
        is_optional: bool = False,
        default_overwrite: bool | None = None,
        default_data_reference_name: str | None = None,
        is_resource: bool = False,
        label: str | None = None,
        additional_transformations=None,
        **kwargs,
    ):
        self._name = name
        self._data_types = data_types if data_types is not None else ["AnyFile", "AnyDirectory"]
        self._default_datastore_mode = default_datastore_mode
        self._default_path_on_compute = default_path_on_compute
        self._is_optional = is_optional
        self._default_overwrite = default_overwrite
        self._default_data_reference_name = default_data_reference_name
        self._is_resource = is_resource
        self._label = label
        self._additional_transformations = additional_transformations

    name = property(lambda self: self._name)
    data_types = property(lambda self: self._data_types)
    default_datastore_mode = property(lambda self: self._default_datastore_mode)
    default_path_on_compute = property(lambda self: self._default_path_on_compute)
    is_optional = property(lambda self: self._is_optional)
    default_overwrite = property(lambda self: self._default_overwrite)
    default_data_reference_name = property(lambda self: self._default_data_reference_name)
    is_resource = property(lambda self: self._is_resource)
    label = property(lambda self: self._label)
    additional_transformations = property(lambda self: self._additional_transformations)

    def _to_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "data_types": list(self.data_types),
            "is_optional": bool(self.is_optional),
            "default_datastore_mode": self.default_datastore_mode,
            "default_path_on_compute": self.default_path_on_compute,
            "default_data_reference_name": self.default_data_reference_name,
            "is_resource": bool(self.is_resource),
        }

    @classmethod
    def _from_json(cls, data: dict) -> InputPortDef:
        return cls(**{k: v for k, v in data.items()})

    def __repr__(self) -> str:
        return f"InputPortDef(name={self.name!r})"


class OutputPortDef:
    """An output port of a module version: the name a ``ModuleStep``'s ``outputs_map`` binds."""

    def __init__(
        self,
        name: str,
        default_datastore_name: str | None = None,
        default_datastore_mode: str | None = None,
        default_path_on_compute: str | None = None,
        is_directory: bool = False,
        data_type: str | None = None,
        default_overwrite: bool | None = None,
        training_output=None,
        label: str | None = None,
    ):
        self._name = name
        self._default_datastore_name = default_datastore_name
        self._default_datastore_mode = default_datastore_mode
        self._default_path_on_compute = default_path_on_compute
        self._is_directory = is_directory
        self._default_overwrite = default_overwrite
        self._training_output = training_output
        self._label = label
        if data_type is None:
            data_type = "AnyDirectory" if is_directory else "AnyFile"
        self._data_type = data_type

    name = property(lambda self: self._name)
    default_datastore_name = property(lambda self: self._default_datastore_name)
    default_datastore_mode = property(lambda self: self._default_datastore_mode)
    default_path_on_compute = property(lambda self: self._default_path_on_compute)
    is_directory = property(lambda self: self._is_directory)
    data_type = property(lambda self: self._data_type)
    default_overwrite = property(lambda self: self._default_overwrite)
    training_output = property(lambda self: self._training_output)
    label = property(lambda self: self._label)

    def _to_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "data_type": self.data_type,
            "is_directory": bool(self.is_directory),
            "default_datastore_name": self.default_datastore_name,
            "default_datastore_mode": self.default_datastore_mode,
            "default_path_on_compute": self.default_path_on_compute,
        }

    @classmethod
    def _from_json(cls, data: dict) -> OutputPortDef:
        return cls(**{k: v for k, v in data.items()})

    def __repr__(self) -> str:
        return f"OutputPortDef(name={self.name!r})"


class ParamDef:
    """A module version's parameter: its name and default value."""

    def __init__(
        self,
        name: str,
        default_value=None,
        is_metadata_param: bool = False,
        is_optional: bool = False,
        set_env_var: bool = False,
        calculate_hash: bool = True,
        env_var_override: str | None = None,
    ):
        self.name = name
        self.default_value = default_value
        self.is_metadata_param = is_metadata_param
        self.is_optional = is_optional
        self.set_env_var = set_env_var
        self.calculate_hash = calculate_hash
        self.env_var_override = env_var_override

    def __repr__(self) -> str:
        return f"ParamDef(name={self.name!r}, default_value={self.default_value!r})"


__all__ = ["InputPortDef", "OutputPortDef", "ParamDef", "PipelineParameter"]
