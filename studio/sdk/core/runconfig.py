"""``RunConfiguration``: where a step runs (its ``target``) and with which environment."""

from __future__ import annotations

import json

from studio.sdk.core.conda_dependencies import CondaDependencies
from studio.sdk.core.environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, Environment

_DEFAULT_SHM_SIZE = "2g"


class DockerConfiguration:
    """Recorded as azureml has it; Studio runs steps without Docker."""

    def __init__(
        self,
        use_docker: bool = False,
        shared_volumes: bool = True,
        arguments: list | None = None,
        shm_size: str = _DEFAULT_SHM_SIZE,
    ):
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size


class RunConfiguration:
    """azureml's run configuration: ``target`` ("local" is the default compute target),
    ``environment``, ``environment_variables``, ``docker``, ``node_count``..."""

    def __init__(
        self,
        script=None,
        arguments=None,
        framework=None,
        communicator=None,
        conda_dependencies: CondaDependencies | None = None,
        _history_enabled=None,
        _path=None,
        _name=None,
        command=None,
    ):
        self.script = script
        self.command = command or ""
        self.arguments = list(arguments or [])
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.max_run_duration_seconds: int | None = None
        self.node_count = 1
        self.priority = None
        self._target = "local"
        self.environment = Environment("default-environment")
        self.environment.python.conda_dependencies = conda_dependencies or CondaDependencies()
        self.docker = DockerConfiguration()
        self.environment_variables: dict = {}
        self.data_references: dict = {}
        self.data: dict = {}
        self.output_data: dict = {}
        self.source_directory_data_store = None

    @property
    def target(self) -> str:
        return self._target

    @target.setter
    def target(self, target) -> None:
        name = getattr(target, "name", target)
        if isinstance(name, str):
            self._target = name

    def __repr__(self) -> str:
        return json.dumps(
            {
                "script": self.script,
                "arguments": self.arguments,
                "target": self.target,
                "framework": self.framework,
                "nodeCount": self.node_count,
                "environment": self.environment._definition(),
            },
            indent=4,
        )


__all__ = ["DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DockerConfiguration", "RunConfiguration"]
