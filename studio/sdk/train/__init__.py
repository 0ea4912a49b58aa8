"""``studio.sdk.train`` (``azureml.train``)."""
