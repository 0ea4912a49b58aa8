"""``studio.sdk.core.compute_target`` (``azureml.core.compute_target``): its exception."""

from __future__ import annotations

from studio.sdk.exceptions import ComputeTargetException

__all__ = ["ComputeTargetException"]
