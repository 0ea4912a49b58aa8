"""What a step tells the server of its environment, and CommandStep/ScriptRunConfig as azureml
has them."""

from __future__ import annotations

import logging

import pytest

from studio.sdk.core import Environment, RunConfiguration, ScriptRunConfig
from studio.sdk.core.conda_dependencies import CondaDependencies
from studio.sdk.core.runconfig import DockerConfiguration
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import CommandStep, PythonScriptStep


def _spec(step):
    return Pipeline(None, [step]).graph_spec.steps[0]


def test_the_default_run_configuration_runs_on_the_workers_python(tmp_path):
    from studio.core.environments import plan

    (tmp_path / "s.py").write_text("print(1)\n")
    spec = _spec(
        PythonScriptStep("s.py", source_directory=str(tmp_path), runconfig=RunConfiguration())
    )
    assert spec.environment.pip_packages == ("azureml-defaults",)
    assert plan(spec.environment).on_worker


def test_run_configuration_variables_and_docker_reach_the_definition(tmp_path):
    (tmp_path / "s.py").write_text("print(1)\n")
    config = RunConfiguration(
        conda_dependencies=CondaDependencies.create(pip_packages=["tabulate"])
    )
    config.environment_variables = {"MODE": "fast"}
    config.docker = DockerConfiguration(use_docker=True)
    config.environment.environment_variables = {"LEVEL": "2"}
    spec = _spec(PythonScriptStep("s.py", source_directory=str(tmp_path), runconfig=config))
    assert dict(spec.environment.variables) == {"LEVEL": "2", "MODE": "fast"}
    assert spec.environment.docker_image == "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
    assert spec.environment.pip_packages == ("tabulate",)


def test_a_user_managed_environment_is_marked_so(tmp_path):
    (tmp_path / "s.py").write_text("print(1)\n")
    config = RunConfiguration()
    config.environment.python.user_managed_dependencies = True
    spec = _spec(PythonScriptStep("s.py", source_directory=str(tmp_path), runconfig=config))
    assert spec.environment.user_managed


def test_script_run_config_with_a_run_config_ignores_environment_with_azureml_warning(caplog):
    config = RunConfiguration()
    with caplog.at_level(logging.WARNING):
        source = ScriptRunConfig(
            ".", script="t.py", run_config=config, environment=Environment("x")
        )
    assert source.run_config is config
    assert (
        "If 'run_config' is specified, the 'environment' parameter will be ignored" in caplog.text
    )
    without = ScriptRunConfig(".", script="t.py", environment=Environment("mine"))
    assert without.run_config.environment.name == "mine"
    assert without.run_config.target == "local"
    assert ScriptRunConfig(".", script="t.py").run_config.environment.name == "default-environment"


def test_a_command_step_splits_its_command_as_azureml(tmp_path):
    step = CommandStep(command="python train.py --alpha 0.5", source_directory=str(tmp_path))
    assert step.name == "CommandStep_python"
    assert (step.command, step.arguments) == ("python", ["train.py", "--alpha", "0.5"])
    alpha = PipelineParameter("alpha", default_value=0.1)
    listed = CommandStep(command=["python train.py --alpha", alpha], source_directory=str(tmp_path))
    assert listed.arguments == ["train.py", "--alpha", alpha]
    spec = _spec(listed)
    assert spec.command == "python" and spec.script_name == ""
    assert [a.kind for a in spec.arguments] == ["literal", "literal", "parameter"]


def test_a_command_step_takes_its_command_and_environment_from_a_script_run_config(tmp_path):
    environment = Environment("cmd-env")
    environment.python.conda_dependencies = CondaDependencies.create(pip_packages=["tabulate"])
    source = ScriptRunConfig(str(tmp_path), command="ls -lrt", environment=environment)
    step = CommandStep(name="list", runconfig=source)
    assert (step.command, step.arguments, step.source_directory) == ("ls", ["-lrt"], str(tmp_path))
    assert _spec(step).environment.name == "cmd-env"


def test_a_command_step_without_a_command_is_refused_as_in_azureml(tmp_path):
    with pytest.raises(
        ValueError, match=r"command is required either from command directly or runconfig\."
    ):
        CommandStep(name="nothing")
    with pytest.raises(ValueError, match="source_directory should be an existing directory"):
        CommandStep(command="ls", source_directory=str(tmp_path / "missing"))


def test_an_environment_round_trips_through_its_definition():
    environment = Environment("round")
    environment.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["a==1"], conda_packages=["numpy"], python_version="3.12"
    )
    environment.python.conda_dependencies.set_pip_option("--extra-index-url https://x")
    environment.environment_variables = {"K": "v"}
    again = Environment._from_definition(environment._definition())
    assert again._definition() == environment._definition()


def test_a_conda_specification_as_microsofts_examples_write_it_builds_its_packages(tmp_path):
    from studio.core.environments import plan

    (tmp_path / "s.py").write_text("print(1)\n")
    (tmp_path / "environment.yml").write_text(
        "name: project_environment\n"
        "dependencies:\n"
        "  - python=3.6.2\n"
        "  - scikit-learn\n"
        "  - pip:\n"
        "    - azureml-defaults\n"
        "    - tabulate==0.9.0\n"
        "channels:\n"
        "  - conda-forge\n"
    )
    environment = Environment.from_conda_specification(
        "sklearn-env", str(tmp_path / "environment.yml")
    )
    config = RunConfiguration()
    config.environment = environment
    spec = _spec(PythonScriptStep("s.py", source_directory=str(tmp_path), runconfig=config))
    built = plan(spec.environment)
    assert spec.environment.python == "3.6.2"
    assert built.requirements == ("scikit-learn", "tabulate==0.9.0")
    assert any("azureml-defaults" in note for note in built.notes)


def test_an_environment_from_pip_requirements_builds_the_files_lines(tmp_path):
    from studio.core.environments import parse_definition, plan

    (tmp_path / "requirements.txt").write_text("# training\npandas>=2\nscikit-learn==1.5.2\n")
    environment = Environment.from_pip_requirements("pip-env", str(tmp_path / "requirements.txt"))
    built = plan(parse_definition(environment._definition()))
    assert built.requirements == ("pandas>=2", "scikit-learn==1.5.2")
    assert any("pip is the installer's own" in note for note in built.notes)
