"""``from azureml_user.parallel_run import EntryScript``: a ParallelRunStep's entry script gets
its logger (written to the process's log under ``logs/user/``) and the step's output folder."""

from __future__ import annotations

import logging
import os


class EntryScript:
    """The entry script's view of its ParallelRunStep process."""

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger("azureml_user.parallel_run")

    @property
    def output_dir(self) -> str:
        """The step's output folder (the ``output`` of the ParallelRunStep), where a summary_only
        script writes its own results."""
        return os.environ.get("STUDIO_PARALLEL_OUTPUT_DIR", "")

    @property
    def working_dir(self) -> str:
        return os.environ.get("STUDIO_PARALLEL_WORKING_DIR", os.getcwd())

    @property
    def log_dir(self) -> str:
        return os.environ.get("STUDIO_PARALLEL_LOG_DIR", "")


__all__ = ["EntryScript"]
