"""``studio.sdk.core`` (``azureml.core``): Workspace, Experiment, Run, Datastore, compute."""

from studio.sdk.core.compute import ComputeTarget
from studio.sdk.core.dataset import Dataset
from studio.sdk.core.datastore import Datastore
from studio.sdk.core.experiment import Experiment
from studio.sdk.core.run import Run
from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.core.workspace import Workspace

__all__ = [
    "ComputeTarget",
    "Dataset",
    "Datastore",
    "Experiment",
    "Run",
    "RunConfiguration",
    "Workspace",
]
