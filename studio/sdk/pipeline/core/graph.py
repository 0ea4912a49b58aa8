"""``studio.sdk.pipeline.core.graph``: PipelineParameter."""

from __future__ import annotations

_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


class PipelineParameter:
    """A named value with a default, substituted wherever a step uses it."""

    def __init__(self, name: str, default_value):
        if not isinstance(name, str) or not name:
            raise ValueError("PipelineParameter needs a name")
        if type(default_value) not in _TYPES:
            raise ValueError(f"Default value is of unsupported type: {type(default_value).__name__}")
        self.name = name
        self.default_value = default_value

    @property
    def type(self) -> str:
        return _TYPES[type(self.default_value)]

    def __repr__(self) -> str:
        return f"PipelineParameter_Name:{self.name}_Default:{self.default_value}"

    def __str__(self) -> str:
        return self.__repr__()


__all__ = ["PipelineParameter"]
