"""``studio.sdk.core`` (``azureml.core``): Workspace, Experiment, Run, Datastore, Model, compute."""

from __future__ import annotations

from studio.sdk import __version__
from studio.sdk.core.compute import ComputeTarget
from studio.sdk.core.dataset import Dataset
from studio.sdk.core.datastore import Datastore
from studio.sdk.core.environment import Environment
from studio.sdk.core.experiment import Experiment
from studio.sdk.core.model import Model
from studio.sdk.core.run import Run
from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.core.script_run_config import ScriptRunConfig
from studio.sdk.core.workspace import Workspace

VERSION = __version__

__all__ = [
    "VERSION",
    "ComputeTarget",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "Model",
    "Run",
    "RunConfiguration",
    "ScriptRunConfig",
    "Workspace",
]
