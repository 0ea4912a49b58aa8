"""``studio.sdk.contrib`` (``azureml.contrib``): notebooks as pipeline steps."""
