"""``studio.sdk.pipeline.steps`` (``azureml.pipeline.steps``): PythonScriptStep."""

from __future__ import annotations

import warnings

from studio.sdk.data import InputBinding, OutputFileDatasetConfig
from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import PipelineParameter, _is_datapath_binding


def _compute_name(compute_target, runconfig) -> str | None:
    if compute_target is None:
        compute_target = getattr(runconfig, "target", None)
    if compute_target is None:
        return None
    if isinstance(compute_target, str):
        return compute_target
    if isinstance(compute_target, tuple) and compute_target:
        return str(compute_target[0])
    name = getattr(compute_target, "name", None)
    if isinstance(name, str):
        return name
    raise ValueError(f"Invalid compute target type: {type(compute_target).__name__}")


class PythonScriptStep:
    """Runs ``python <script_name> <arguments>`` in a copy of ``source_directory``."""

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: list | None = None,
        compute_target=None,
        runconfig=None,
        runconfig_pipeline_params=None,
        inputs: list | None = None,
        outputs: list | None = None,
        params: dict | None = None,
        source_directory: str | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths=None,
    ):
        if not isinstance(script_name, str) or not script_name:
            raise ValueError("script_name is required")
        if hash_paths is not None:
            warnings.warn(
                "Parameter 'hash_paths' is deprecated: the whole source_directory is hashed.",
                stacklevel=2,
            )
        self.script_name = script_name
        self.name = name or script_name
        self.arguments = list(arguments or [])
        self.compute_target = _compute_name(compute_target, runconfig)
        self.runconfig = runconfig
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.params = dict(params or {})
        self.source_directory = source_directory
        self.allow_reuse = bool(allow_reuse)
        self.version = None if version is None else str(version)
        self._run_after: list[PythonScriptStep] = []
        for item in [*self.arguments, *self.inputs, *self.outputs, *self.params.values()]:
            if type(item).__name__ in ("TabularDataset", "FileDataset"):
                raise ValueError(
                    "Datasets cannot be used directly as arguments or inputs: use dataset.as_named_input(name)."
                )
        for output in self._produced():
            output._producers = [*getattr(output, "_producers", []), self]

    def __repr__(self) -> str:
        return f"PythonScriptStep(name={self.name!r}, script_name={self.script_name!r})"

    def run_after(self, step) -> None:
        """Run this step only after ``step`` has completed (a control edge, no data)."""
        self._run_after.append(step)

    def _consumed_identities(self) -> set:
        found = set()
        for item in self.inputs:
            if isinstance(item, (InputBinding, PipelineData, OutputFileDatasetConfig)):
                found.add(item._identity)
        for item in self.arguments:
            if isinstance(item, InputBinding):
                found.add(item._identity)
        return found

    def _produced(self) -> list:
        """Output identities: listed outputs, plus OutputFileDatasetConfigs in arguments not consumed here."""
        consumed = self._consumed_identities()
        produced = []
        for item in self.outputs:
            if (
                isinstance(item, (PipelineData, OutputFileDatasetConfig))
                and item._identity not in produced
            ):
                produced.append(item._identity)
        for item in self.arguments:
            if (
                isinstance(item, OutputFileDatasetConfig)
                and item._identity not in consumed
                and item._identity not in produced
            ):
                produced.append(item._identity)
        return produced

    def _used_parameters(self) -> list[PipelineParameter]:
        found = [
            v for v in [*self.arguments, *self.params.values()] if isinstance(v, PipelineParameter)
        ]
        found += [v[0] for v in [*self.arguments, *self.inputs] if _is_datapath_binding(v)]
        return found


__all__ = ["PythonScriptStep"]
