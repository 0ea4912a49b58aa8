"""``ScriptRunConfig``: a script or command, its source directory, and where and with what it runs."""

from __future__ import annotations

import logging

from studio.sdk.core.environment import Environment
from studio.sdk.core.runconfig import RunConfiguration

log = logging.getLogger("studio.sdk.script_run_config")

MAX_DURATION_SECONDS_DEFAULT = 2592000  # 30 days, as azureml


class ScriptRunConfig:
    """azureml's ScriptRunConfig: with ``run_config``, the run configuration given is used and
    ``compute_target``, ``environment``... are ignored (with a warning), as in azureml."""

    def __init__(
        self,
        source_directory: str,
        script: str | None = None,
        arguments: list | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values=None,
        compute_target=None,
        environment: Environment | None = None,
        distributed_job_config=None,
        resume_from=None,
        max_run_duration_seconds: int = MAX_DURATION_SECONDS_DEFAULT,
        command=None,
        docker_runtime_config=None,
    ):
        self.source_directory = source_directory
        self.script = script
        self.command = command
        self.arguments = list(arguments or [])
        if run_config is not None:
            ignored = {
                "compute_target": compute_target,
                "environment": environment,
                "distributed_job_config": distributed_job_config,
                "docker_runtime_config": docker_runtime_config,
            }
            for name, value in ignored.items():
                if value is not None:
                    log.warning(
                        "If 'run_config' is specified, the '%s' parameter will be ignored. Set "
                        "it on the run_config instead.",
                        name,
                    )
            self.run_config = run_config
            self.script = script or run_config.script
            self.arguments = list(arguments or run_config.arguments or [])
            self.command = command or run_config.command or None
        else:
            self.run_config = RunConfiguration()
            self.run_config.target = compute_target or "local"
            self.run_config.environment = environment or Environment("default-environment")
            self.run_config.max_run_duration_seconds = max_run_duration_seconds
            if docker_runtime_config is not None:
                self.run_config.docker = docker_runtime_config
        self.run_config.script = self.script
        self.run_config.arguments = self.arguments
        self.run_config.command = self.command or ""
        self.distributed_job_config = distributed_job_config
        self.resume_from = resume_from


__all__ = ["ScriptRunConfig"]
