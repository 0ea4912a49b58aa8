"""Modules a ParallelRunStep's processes import by their own top-level names (this folder is put
on their sys.path): ``azureml_user.parallel_run``."""
