"""``azureml_user``: what a ParallelRunStep's processes are given beside the SDK."""
