"""``studio.sdk.data.dataset_consumption_config`` (``azureml.data.dataset_consumption_config``)."""

from __future__ import annotations

from studio.sdk.data.datasets import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
