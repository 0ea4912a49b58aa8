"""``Environment``: the Python packages (and, in Azure, the Docker image) a step runs with.

A step records its environment's definition; the definition is part of the step's
fingerprint, so a changed package list runs the step again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

from studio.sdk.core.conda_dependencies import PYTHON_DEFAULT_VERSION, CondaDependencies
from studio.sdk.exceptions import UserErrorException

log = logging.getLogger("studio.sdk.environment")

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
_DEFAULT_SHM_SIZE = "2g"


class PythonSection:
    def __init__(self, **kwargs):
        self.interpreter_path = "python"
        self.user_managed_dependencies = False
        self.conda_dependencies: CondaDependencies | None = (
            None if kwargs.get("_skip_defaults") else CondaDependencies()
        )
        self.base_conda_environment = None

    def dependencies(self) -> CondaDependencies:
        """The conda dependencies, made empty first if there are none yet."""
        if self.conda_dependencies is None:
            self.conda_dependencies = CondaDependencies()
        return self.conda_dependencies


class DockerSection:
    """Recorded as azureml has it; Studio runs steps without Docker."""

    def __init__(self, **kwargs):
        skip = kwargs.get("_skip_defaults")
        self._enabled = False
        self.base_image = None if skip else DEFAULT_CPU_IMAGE
        self.base_dockerfile = None
        self.shm_size = None if skip else _DEFAULT_SHM_SIZE
        self.shared_volumes = True
        self.arguments: list = []
        self.base_image_registry = None

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        log.warning(
            "'enabled' is deprecated. Please use the studio.sdk.core.runconfig.DockerConfiguration "
            "object with the 'use_docker' param instead."
        )
        self._enabled = bool(value)


class Environment:
    """``Environment(name)``: conda and pip packages, environment variables, a Docker image."""

    def __init__(self, name: str, **kwargs):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Environment name expected str, {type(name)} found")
        skip = kwargs.get("_skip_defaults", False)
        self.name = name
        self.version = None
        self.python = PythonSection(_skip_defaults=skip)
        self.docker = DockerSection(_skip_defaults=skip)
        self.environment_variables: dict = {} if skip else {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
        self.inferencing_stack_version = None

    def __repr__(self) -> str:
        return json.dumps(self._definition(), indent=4)

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str, pip_version: str | None = None
    ) -> Environment:
        """An environment whose pip packages are the lines of a requirements file."""
        with open(file_path) as fh:
            lines = [line.strip() for line in fh.read().splitlines()]
        environment = Environment(name)
        dependencies = environment.python.dependencies()
        dependencies.set_pip_requirements(
            [line for line in lines if line and not line.startswith("#")]
        )
        dependencies.add_conda_package(f"pip={pip_version}" if pip_version else "pip")
        return environment

    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> Environment:
        """An environment from a conda ``environment.yml``."""
        if not os.path.isfile(file_path):
            raise UserErrorException(f"Conda specification file {file_path} does not exist.")
        environment = Environment(name)
        dependencies = CondaDependencies(conda_dependencies_file_path=file_path)
        if dependencies.get_python_version() is None:
            log.warning('No Python version provided, defaulting to "%s"', PYTHON_DEFAULT_VERSION)
            dependencies.set_python_version(PYTHON_DEFAULT_VERSION)
        environment.python.conda_dependencies = dependencies
        return environment

    def _definition(self) -> dict:
        conda = self.python.conda_dependencies
        return {
            "name": self.name,
            "version": self.version,
            "python": {
                "user_managed_dependencies": bool(self.python.user_managed_dependencies),
                "interpreter_path": self.python.interpreter_path,
                "conda_dependencies": conda._as_dict() if conda is not None else None,
            },
            "docker": {"enabled": self.docker.enabled, "base_image": self.docker.base_image},
            "environment_variables": dict(self.environment_variables or {}),
        }

    def _label(self) -> str:
        """What a step records of this environment: its name, packages and a digest of it all."""
        definition = self._definition()
        digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:12]
        name = (f"{self.name}:{self.version}" if self.version else str(self.name))[:200]
        conda = self.python.conda_dependencies
        if self.python.user_managed_dependencies or conda is None:
            return f"{name} (user managed) [{digest}]"
        parts = [f"python {conda.get_python_version() or '?'}"]
        if conda.conda_packages:
            parts.append("conda " + " ".join(conda.conda_packages))
        if conda.pip_packages:
            parts.append("pip " + " ".join(conda.pip_packages))
        described = "; ".join(parts)
        if len(described) > 300:
            described = described[:297] + "..."
        return f"{name} ({described}) [{digest}]"


__all__ = ["DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "CondaDependencies", "Environment"]
