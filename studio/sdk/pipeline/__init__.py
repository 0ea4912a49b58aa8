"""``studio.sdk.pipeline`` (``azureml.pipeline``)."""
