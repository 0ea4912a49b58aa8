"""``studio.sdk.data.dataset_consumption_config`` (``azureml.data.dataset_consumption_config``)."""

from studio.sdk.data.datasets import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
