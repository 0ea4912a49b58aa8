"""``studio.sdk.pipeline.core.graph``: PipelineParameter."""

from __future__ import annotations

import re

from studio.sdk.data.datapath import DataPath

_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PipelineParameter:
    """A named value with a default, substituted wherever a step uses it."""

    def __init__(self, name: str, default_value):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"Pipeline parameter name [{name}] may contain only letters, digits and underscores."
            )
        if type(default_value) not in _TYPES and not isinstance(default_value, DataPath):
            raise ValueError(
                f"Default value is of unsupported type: {type(default_value).__name__}"
            )
        self.name = name
        self.default_value = default_value

    @property
    def type(self) -> str:
        if isinstance(self.default_value, DataPath):
            return "datapath"
        return _TYPES[type(self.default_value)]

    def _spec_default(self):
        if isinstance(self.default_value, DataPath):
            return self.default_value._to_json()
        return self.default_value

    def __repr__(self) -> str:
        return f"PipelineParameter_Name:{self.name}_Default:{self.default_value}"

    def __str__(self) -> str:
        return self.__repr__()


def _is_datapath_binding(value) -> bool:
    """``(PipelineParameter(name, DataPath(...)), DataPathComputeBinding())``, as azureml writes it."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], PipelineParameter)
        and type(value[1]).__name__ == "DataPathComputeBinding"
    )


__all__ = ["PipelineParameter"]
