"""``Environment``: the Python packages (and, in Azure, the Docker image) a step runs with.

A step carries its environment's definition to the server, which builds it into a virtual
environment on the worker; the definition is part of the step's fingerprint, so a changed
package list runs the step again.
"""

from __future__ import annotations

import json
import logging
import os
from urllib.parse import quote

from studio.sdk._names import checked_name
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

    def _docker_image(self) -> str | None:
        """The base image when Docker was asked for (Studio records it; it does not use it)."""
        asked = self.docker.enabled or self.docker.base_dockerfile is not None
        asked = asked or self.docker.base_image not in (None, DEFAULT_CPU_IMAGE)
        if not asked:
            return None
        return self.docker.base_image or "(a Dockerfile)"

    def _definition(self, extra_variables: dict | None = None, docker: bool = False) -> dict:
        """The definition a step carries to the server (``studio.core.environments``)."""
        conda = self.python.conda_dependencies
        variables = {**(self.environment_variables or {}), **(extra_variables or {})}
        image = self._docker_image()
        if docker and image is None:
            image = self.docker.base_image
        return {
            "name": self.name or "",
            "version": self.version,
            "user_managed": bool(self.python.user_managed_dependencies),
            "python": conda.get_python_version() if conda is not None else None,
            "conda_packages": list(conda.conda_packages) if conda is not None else [],
            "pip_packages": [*conda.pip_options, *conda.pip_packages] if conda is not None else [],
            "environment_variables": {str(k): str(v) for k, v in variables.items()},
            "docker_image": image,
        }

    @classmethod
    def _from_definition(cls, data: dict) -> Environment:
        environment = cls(data.get("name") or "", _skip_defaults=True)
        environment.version = data.get("version")
        environment.python.user_managed_dependencies = bool(data.get("user_managed"))
        dependencies = CondaDependencies(
            _underlying_structure={"name": "project_environment", "dependencies": []}
        )
        if data.get("python"):
            dependencies.set_python_version(data["python"])
        for package in data.get("conda_packages") or []:
            dependencies.add_conda_package(package)
        pip = list(data.get("pip_packages") or [])
        if pip:
            dependencies.set_pip_requirements(pip)
        environment.python.conda_dependencies = dependencies
        environment.environment_variables = dict(data.get("environment_variables") or {})
        if data.get("docker_image"):
            environment.docker._enabled = True
            environment.docker.base_image = data["docker_image"]
        return environment

    def register(self, workspace) -> Environment:
        """Register this definition: a new version when it differs from the latest."""
        checked_name("environment", self.name)
        if self.version is not None:
            log.warning(
                "Environment version is set. Attempting to register desired version. To "
                "auto-version, reset version to None."
            )
        body = {"name": self.name, "version": self.version, "definition": self._definition()}
        return Environment._from_definition(workspace._client.post("environments/", body))

    @staticmethod
    def get(workspace, name: str, version: str | None = None, label: str | None = None):
        """A registered environment: its latest version, or ``version``."""
        if version is not None and label is not None:
            raise UserErrorException("Only one of version or label can be specified")
        if label is not None:
            raise UserErrorException("Studio has no environment labels; ask for a version.")
        query = {"version": str(version)} if version is not None else {}
        path = f"environments/{quote(name, safe='')}/"
        return Environment._from_definition(workspace._client.get(path, **query))

    @staticmethod
    def list(workspace) -> dict:
        """``{name: Environment}``: the latest version of each registered environment."""
        found = workspace._client.get("environments/")
        return {item["name"]: Environment._from_definition(item) for item in found}

    def get_image_details(self, workspace) -> None:
        raise UserErrorException(
            "Studio builds no images: steps run in virtual environments (see the README)."
        )


__all__ = ["DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "CondaDependencies", "Environment"]
