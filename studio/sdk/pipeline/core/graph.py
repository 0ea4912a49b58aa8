"""``studio.sdk.pipeline.core.graph``: PipelineParameter."""

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


__all__ = ["PipelineParameter"]
