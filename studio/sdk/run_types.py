"""Run types by name (``azureml.PipelineRun``...), as azureml rehydrates runs by their type.

A package that defines a run type declares it as an entry point of the group
``studio.sdk.run_types`` (see pyproject.toml): ``studio.sdk.core`` finds the class of a
pipeline's runs there without importing the pipeline package, which imports it.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

GROUP = "studio.sdk.run_types"


@cache
def run_type(name: str) -> type:
    found = entry_points(group=GROUP, name=name)
    if not found:
        raise LookupError(
            f"No run type {name} is installed: reinstall the project (pip install -e .)."
        )
    return next(iter(found)).load()
