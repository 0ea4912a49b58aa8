"""``studio.sdk.train.estimator`` (``azureml.train.estimator``): the deprecated Estimator.

An Estimator describes a training script (``entry_script`` in ``source_directory``) and the
packages it needs; in a pipeline, ``EstimatorStep`` runs that script like a PythonScriptStep.
"""

from __future__ import annotations

import logging

from studio.sdk.core.conda_dependencies import CondaDependencies
from studio.sdk.core.environment import Environment
from studio.sdk.core.runconfig import RunConfiguration

log = logging.getLogger("studio.sdk.train.estimator")


def _script_arguments(script_params: dict | None) -> list:
    """azureml's ``script_params`` ({"--lr": 0.1, "--verbose": ""}) as a command line."""
    arguments: list = []
    for key, value in (script_params or {}).items():
        arguments.append(key)
        if value != "":
            arguments.append(value)
    return arguments


class MMLBaseEstimator:
    """What every estimator has: a source directory and a run configuration."""

    def __init__(self, source_directory: str, run_config: RunConfiguration):
        self.source_directory = source_directory
        self.run_config = run_config

    @property
    def conda_dependencies(self) -> CondaDependencies:
        return self.run_config.environment.python.dependencies()


class Estimator(MMLBaseEstimator):
    def __init__(
        self,
        source_directory,
        *,
        compute_target=None,
        vm_size=None,
        vm_priority=None,
        entry_script=None,
        script_params=None,
        node_count=1,
        process_count_per_node=1,
        distributed_backend=None,
        distributed_training=None,
        use_gpu=False,
        use_docker=True,
        custom_docker_base_image=None,
        custom_docker_image=None,
        image_registry_details=None,
        user_managed=False,
        conda_packages=None,
        pip_packages=None,
        conda_dependencies_file_path=None,
        pip_requirements_file_path=None,
        conda_dependencies_file=None,
        pip_requirements_file=None,
        environment_variables=None,
        environment_definition=None,
        inputs=None,
        source_directory_data_store=None,
        shm_size=None,
        resume_from=None,
        max_run_duration_seconds=None,
        _disable_validation=True,
        _show_lint_warnings=False,
        _show_package_warnings=False,
    ):
        log.warning(
            "'Estimator' is deprecated. Please use 'ScriptRunConfig' from "
            "'studio.sdk.core.script_run_config' with your own defined environment or an Azure ML "
            "curated environment."
        )
        run_config = RunConfiguration(
            script=entry_script, arguments=_script_arguments(script_params)
        )
        if environment_definition is not None:
            environment = environment_definition
        else:
            environment = Environment("Experiment estimator environment")
            dependencies_file = conda_dependencies_file or conda_dependencies_file_path
            if dependencies_file:
                environment = Environment.from_conda_specification(
                    environment.name, dependencies_file
                )
            requirements_file = pip_requirements_file or pip_requirements_file_path
            if requirements_file:
                environment = Environment.from_pip_requirements(environment.name, requirements_file)
            dependencies = environment.python.dependencies()
            for package in conda_packages or []:
                dependencies.add_conda_package(package)
            for package in pip_packages or []:
                dependencies.add_pip_package(package)
            environment.python.user_managed_dependencies = bool(user_managed)
            environment.environment_variables = dict(environment_variables or {})
            if custom_docker_image or custom_docker_base_image:
                environment.docker.base_image = custom_docker_image or custom_docker_base_image
        run_config.environment = environment
        run_config.node_count = node_count
        run_config.max_run_duration_seconds = max_run_duration_seconds
        if compute_target is not None:
            run_config.target = compute_target
        if inputs:
            run_config.data = {getattr(i, "name", str(i)): i for i in inputs}
        super().__init__(source_directory, run_config)


__all__ = ["Estimator", "MMLBaseEstimator"]
