"""What Azure ML v1 code touches first, with the import prefix changed: written the way
Microsoft's examples use it, checked against azureml's names, defaults and messages."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from studio.sdk.exceptions import UserErrorException

ROOT = Path(__file__).resolve().parents[2]
AZURE_CONFIG = {
    "subscription_id": "6560575d-fa06-4e7d-95fb-f962e74efd7a",
    "resource_group": "rg-ml",
    "workspace_name": "ws-ml",
}


@pytest.fixture
def no_server(monkeypatch, tmp_path):
    """A project folder with no Studio server configured anywhere above it."""
    monkeypatch.delenv("STUDIO_URL", raising=False)
    monkeypatch.delenv("STUDIO_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def server(no_server, monkeypatch):
    monkeypatch.setenv("STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("STUDIO_TOKEN", "st_abc_def")
    return no_server


# --- modules users import from --------------------------------------------------------

AZUREML_IMPORTS = [
    "import studio.sdk.core; studio.sdk.core.VERSION; studio.sdk.core.__version__",
    "from studio.sdk.core import Workspace, Experiment, Datastore, Dataset, Environment, RunConfiguration, Run, ComputeTarget",
    "from studio.sdk.core.compute import ComputeTarget, AmlCompute",
    "from studio.sdk.core.compute_target import ComputeTargetException",
    "from studio.sdk.core.authentication import InteractiveLoginAuthentication, ServicePrincipalAuthentication, MsiAuthentication, TokenAuthentication, AzureCliAuthentication",
    "from studio.sdk.core.runconfig import RunConfiguration, DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, DockerConfiguration",
    "from studio.sdk.core.environment import Environment, CondaDependencies",
    "from studio.sdk.core.conda_dependencies import CondaDependencies",
    "from studio.sdk.core.datastore import Datastore",
    "from studio.sdk.data import OutputFileDatasetConfig",
    "from studio.sdk.data.data_reference import DataReference",
    "from studio.sdk.data.datapath import DataPath, DataPathComputeBinding",
    "from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig",
    "from studio.sdk.widgets import RunDetails",
    "from studio.sdk.train.estimator import Estimator",
    "from studio.sdk.pipeline.core import Pipeline, PipelineData, PipelineParameter, PipelineRun, StepRun, StepRunOutput, PortDataReference, PublishedPipeline, PipelineEndpoint, Schedule, ScheduleRecurrence, StepSequence",
    "from studio.sdk.pipeline.core.graph import PipelineParameter",
    "from studio.sdk.pipeline.core.schedule import ScheduleRecurrence, Schedule",
    "from studio.sdk.pipeline.core import PipelineDraft",
    "from studio.sdk.pipeline.core.pipeline_draft import PipelineDraft",
    "from studio.sdk.pipeline.steps import PythonScriptStep, EstimatorStep, HyperDriveStep, AutoMLStep, DatabricksStep",
]


@pytest.mark.parametrize("line", AZUREML_IMPORTS)
def test_the_modules_examples_import_from_exist(line):
    done = subprocess.run(
        [sys.executable, "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_version_is_the_projects():
    import studio.sdk.core
    from studio.sdk import __version__

    assert studio.sdk.core.VERSION == __version__ == "0.1.0"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = {attr = "studio.sdk.__version__"}' in pyproject


# --- Workspace ------------------------------------------------------------------------


def test_from_config_reads_an_azure_config_file_in_dot_azureml(server):
    from studio.sdk.core import Workspace

    (server / ".azureml").mkdir()
    (server / ".azureml" / "config.json").write_text(json.dumps(AZURE_CONFIG))
    ws = Workspace.from_config()
    assert (ws.name, ws.subscription_id, ws.resource_group) == (
        "ws-ml",
        AZURE_CONFIG["subscription_id"],
        "rg-ml",
    )
    assert ws.location == "local"
    assert ws.url == "http://127.0.0.1:9"


def test_from_config_searches_upward_and_reads_a_scope(server):
    from studio.sdk.core import Workspace

    scope = (
        "/subscriptions/sub-1/resourceGroups/rg-2/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws-3"
    )
    (server / "config.json").write_text(json.dumps({"Id": None, "Scope": scope}))
    deep = server / "notebooks" / "pipelines"
    deep.mkdir(parents=True)
    ws = Workspace.from_config(path=str(deep))
    assert (ws.subscription_id, ws.resource_group, ws.name) == ("sub-1", "rg-2", "ws-3")


def test_from_config_prefers_dot_azureml_over_aml_config_over_the_folder(server):
    from studio.sdk.core import Workspace

    for folder, name in [(".azureml", "first"), ("aml_config", "second"), (".", "third")]:
        (server / folder).mkdir(exist_ok=True)
        (server / folder / "config.json").write_text(
            json.dumps({**AZURE_CONFIG, "workspace_name": name})
        )
    assert Workspace.from_config().name == "first"
    (server / ".azureml" / "config.json").unlink()
    assert Workspace.from_config().name == "second"


def test_from_config_with_a_config_file_lacking_the_keys_says_so(server):
    from studio.sdk.core import Workspace

    (server / "config.json").write_text(json.dumps({"workspace_name": "x"}))
    with pytest.raises(
        UserErrorException, match="does not seem to contain the required parameters"
    ):
        Workspace.from_config()


def test_without_a_server_the_message_names_the_settings(no_server):
    from studio.sdk.core import Workspace

    (no_server / "config.json").write_text(json.dumps(AZURE_CONFIG))
    with pytest.raises(UserErrorException, match="STUDIO_URL and STUDIO_TOKEN"):
        Workspace.from_config()
    with pytest.raises(UserErrorException, match=r"\.studio/config\.json"):
        Workspace("sub", "rg", "ws")


def test_write_config_then_from_config_finds_the_server_and_the_names(no_server):
    from studio.sdk.core import Workspace

    written = Workspace(
        "sub", "rg", "named-ws", url="http://127.0.0.1:9", token="st_a_b"
    ).write_config()
    assert written == no_server / ".studio" / "config.json"
    ws = Workspace.from_config()
    assert (ws.name, ws.subscription_id, ws.resource_group, ws._token) == (
        "named-ws",
        "sub",
        "rg",
        "st_a_b",
    )


def test_workspace_get_and_the_azure_constructor_take_the_configured_server(server):
    from studio.sdk.core import Workspace

    ws = Workspace.get("ws-ml", subscription_id="s", resource_group="r", location="westeurope")
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (
        "ws-ml",
        "s",
        "r",
        "westeurope",
    )
    ws = Workspace(subscription_id="s", resource_group="r", workspace_name="w")
    assert ws.auth.get_authentication_header() == {"Authorization": "Bearer st_abc_def"}


# --- authentication -------------------------------------------------------------------


def test_every_azure_authentication_sends_the_studio_token(server):
    from studio.sdk.core.authentication import (
        AzureCliAuthentication,
        InteractiveLoginAuthentication,
        MsiAuthentication,
        ServicePrincipalAuthentication,
        TokenAuthentication,
    )

    auths = [
        InteractiveLoginAuthentication(),
        InteractiveLoginAuthentication(force=True, tenant_id="t"),
        ServicePrincipalAuthentication(
            tenant_id="t", service_principal_id="id", service_principal_password="pw"
        ),
        MsiAuthentication(),
        AzureCliAuthentication(),
        TokenAuthentication(lambda audience: "aad-token"),
    ]
    for auth in auths:
        assert auth.get_authentication_header() == {"Authorization": "Bearer st_abc_def"}


def test_an_authentication_outside_any_workspace_says_what_is_missing(no_server):
    from studio.sdk import _config
    from studio.sdk.core.authentication import InteractiveLoginAuthentication
    from studio.sdk.exceptions import AuthenticationException

    _config._last_token = None
    with pytest.raises(
        AuthenticationException, match="InteractiveLoginAuthentication has no Studio token"
    ):
        InteractiveLoginAuthentication().get_authentication_header()


def test_the_token_of_the_workspace_opened_last_is_the_one_sent(no_server):
    from studio.sdk.core import Workspace
    from studio.sdk.core.authentication import InteractiveLoginAuthentication

    Workspace(url="http://127.0.0.1:9", token="st_x_opened")
    assert InteractiveLoginAuthentication().get_authentication_header() == {
        "Authorization": "Bearer st_x_opened"
    }


# --- run configuration and environments -----------------------------------------------


def test_run_configuration_defaults_are_azureml_s():
    from studio.sdk.core.runconfig import DEFAULT_CPU_IMAGE, RunConfiguration

    config = RunConfiguration()
    assert config.target == "local"
    assert config.environment.name == "default-environment"
    assert config.environment.docker.base_image == DEFAULT_CPU_IMAGE
    assert config.environment.python.user_managed_dependencies is False
    assert config.environment.python.conda_dependencies.pip_packages == ["azureml-defaults"]
    assert config.docker.use_docker is False and config.node_count == 1


def test_a_compute_target_object_or_name_sets_the_target():
    from studio.sdk.core.runconfig import RunConfiguration

    class Target:
        name = "cpu-cluster"

    config = RunConfiguration()
    config.target = Target()
    assert config.target == "cpu-cluster"
    config.target = "gpu"
    assert config.target == "gpu"


def test_docker_enabled_is_recorded_with_azureml_s_deprecation_warning(caplog):
    from studio.sdk.core.runconfig import RunConfiguration

    config = RunConfiguration()
    with caplog.at_level(logging.WARNING):
        config.environment.docker.enabled = True
    assert config.environment.docker.enabled is True
    assert "'enabled' is deprecated" in caplog.text


def test_conda_dependencies_create_and_add_follow_azureml_s_rules():
    from studio.sdk.core.conda_dependencies import CondaDependencies

    default = CondaDependencies.create(conda_packages=["scikit-learn"])
    assert default.pip_packages == ["azureml-defaults"]
    assert default.conda_packages == ["scikit-learn"]
    assert default.get_python_version() == "3.10.18"
    given = CondaDependencies.create(pip_packages=["pandas==2.2.3"], python_version="3.11")
    assert given.pip_packages == ["pandas==2.2.3"] and given.get_python_version() == "3.11"
    given.add_pip_package("numpy")
    given.add_pip_package("numpy==2.0")
    assert given.pip_packages == ["pandas==2.2.3", "numpy==2.0"]
    given.add_conda_package("scipy")
    given.add_conda_package("scipy=1.0")  # azureml keeps both: no dedupe by name for conda
    given.add_conda_package("python=3.12")
    assert given.conda_packages == ["scipy", "scipy=1.0"] and given.get_python_version() == "3.12"
    with pytest.raises(UserErrorException, match="Invalid package name --index-url x"):
        given.add_pip_package("--index-url x")
    with pytest.raises(UserErrorException, match="python must not be removed"):
        given.remove_conda_package("python=3.12")


def test_a_conda_specification_file_round_trips(tmp_path, caplog):
    from studio.sdk.core import Environment
    from studio.sdk.core.conda_dependencies import CondaDependencies

    spec = tmp_path / "env.yml"
    spec.write_text("name: e\ndependencies:\n  - numpy\n  - pip:\n    - requests\n")
    with caplog.at_level(logging.WARNING):
        env = Environment.from_conda_specification("from-yaml", str(spec))
    assert 'No Python version provided, defaulting to "3.10.18"' in caplog.text
    conda = env.python.conda_dependencies
    assert (conda.conda_packages, conda.pip_packages) == (["numpy"], ["requests"])
    saved = conda.save(str(tmp_path / "saved.yml"))
    assert CondaDependencies(saved).pip_packages == ["requests"]


def test_an_environment_from_pip_requirements_replaces_the_pip_list(tmp_path):
    from studio.sdk.core import Environment

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pinned\npandas==2.2.3\nscikit-learn\n")
    env = Environment.from_pip_requirements("reqs", str(requirements))
    assert env.python.conda_dependencies.pip_packages == ["pandas==2.2.3", "scikit-learn"]
    assert "pip" in env.python.conda_dependencies.conda_packages
    with pytest.raises(TypeError, match="Environment name expected str"):
        Environment(3)


def test_a_steps_environment_is_recorded_and_changes_its_fingerprint_input(tmp_path):
    from studio.sdk.core import RunConfiguration
    from studio.sdk.core.conda_dependencies import CondaDependencies
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import PythonScriptStep

    (tmp_path / "s.py").write_text("print(1)\n")

    def label(packages):
        config = RunConfiguration(
            conda_dependencies=CondaDependencies.create(pip_packages=packages)
        )
        step = PythonScriptStep("s.py", source_directory=str(tmp_path), runconfig=config)
        return Pipeline(None, [step]).graph_spec.steps[0].environment

    first = label(["pandas==2.2.3"])
    assert (first.name, first.python, first.pip_packages) == (
        "default-environment",
        "3.10.18",
        ("pandas==2.2.3",),
    )
    assert label(["pandas==2.2.3"]) == first
    assert label(["pandas==2.1.0"]) != first


# --- compute --------------------------------------------------------------------------


def test_compute_status_serializes_as_azureml_s():
    from studio.sdk.core.compute import AmlComputeStatus

    status = AmlComputeStatus(
        {
            "workers": ["w1@h", "w2@h"],
            "running_steps": 1,
            "provisioning_state": "Succeeded",
            "min_nodes": 0,
            "max_nodes": 4,
            "vm_size": "STANDARD_D2_V2",
            "created_at": "2026-01-01",
        }
    )
    data = status.serialize()
    assert data["currentNodeCount"] == 2
    assert data["nodeStateCounts"]["runningNodeCount"] == 1
    assert data["nodeStateCounts"]["idleNodeCount"] == 1
    assert data["scaleSettings"] == {"minNodeCount": 0, "maxNodeCount": 4}
    assert data["provisioningState"] == "Succeeded"


# --- data -----------------------------------------------------------------------------


def test_a_data_reference_has_azureml_s_signature_and_a_stable_name():
    from studio.sdk.data.data_reference import DataReference

    class Store:
        name = "workspaceblobstore"

    named = DataReference(Store(), "test_data", "titanic/Titanic.csv")
    assert str(named) == "$AZUREML_DATAREFERENCE_test_data" and named.mode == "mount"
    unnamed = DataReference(datastore=Store(), path_on_datastore="titanic/Titanic.csv")
    again = DataReference(datastore=Store(), path_on_datastore="titanic/Titanic.csv")
    assert unnamed.data_reference_name == again.data_reference_name  # not random, unlike azureml
    assert unnamed.as_download().mode == "download"
    assert DataReference(Store()).data_reference_name == "workspaceblobstore"


def test_a_data_reference_must_be_listed_in_inputs_and_is_a_datastore_input(tmp_path):
    from studio.sdk.data.data_reference import DataReference
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import PythonScriptStep

    (tmp_path / "s.py").write_text("print(1)\n")
    reference = DataReference("workspaceblobstore", "test_data", "titanic/Titanic.csv")
    unlisted = PythonScriptStep("s.py", source_directory=str(tmp_path), arguments=[reference])
    with pytest.raises(
        ValueError, match="Input test_data appears in arguments list but is not in the input list"
    ):
        Pipeline(None, [unlisted])
    listed = PythonScriptStep(
        "s.py", source_directory=str(tmp_path), arguments=[reference], inputs=[reference]
    )
    port = Pipeline(None, [listed]).graph_spec.steps[0].inputs[0]
    assert (port.name, port.datastore, port.path, port.mode) == (
        "test_data",
        "workspaceblobstore",
        "titanic/Titanic.csv",
        "mount",
    )


def test_pipeline_data_names_and_modes_give_azureml_s_messages():
    from studio.sdk.pipeline.core import PipelineData

    with pytest.raises(ValueError, match="PipelineData name cannot be empty"):
        PipelineData("")
    with pytest.raises(ValueError, match=r"PipelineData name: \[a-b\] is not a valid"):
        PipelineData("a-b")
    with pytest.raises(ValueError, match=r"Invalid output mode \[copy\]"):
        PipelineData("a", output_mode="copy")
    assert str(PipelineData("processed")) == "$AZUREML_DATAREFERENCE_processed"
    assert PipelineData("f", is_directory=False)._is_file
    assert not PipelineData("d")._is_file and not PipelineData("d", is_directory=True)._is_file


def test_a_file_pipeline_data_is_recorded_as_a_file_output(tmp_path):
    from studio.sdk.pipeline.core import Pipeline, PipelineData
    from studio.sdk.pipeline.steps import PythonScriptStep

    (tmp_path / "s.py").write_text("print(1)\n")
    model = PipelineData("model", is_directory=False)
    step = PythonScriptStep(
        "s.py", source_directory=str(tmp_path), arguments=[model], outputs=[model]
    )
    assert Pipeline(None, [step]).graph_spec.steps[0].outputs[0].is_file


def test_dataset_consumption_takes_a_dataset_parameter_and_refuses_other_defaults():
    from studio.sdk.core import Dataset
    from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
    from studio.sdk.pipeline.core import PipelineParameter

    files = Dataset.File.from_files("https://example.test/data/Titanic.csv")
    assert files._paths == [["https://example.test", "data/Titanic.csv"]]
    parameter = PipelineParameter("file_ds_param", files)
    assert parameter.type == "dataset"
    mounted = DatasetConsumptionConfig("file_dataset", parameter).as_mount()
    assert mounted.mode == "mount" and mounted._parameter is parameter
    with pytest.raises(UserErrorException, match="Invalid PipelineParameter with default value"):
        DatasetConsumptionConfig("x", PipelineParameter("n", 3))
    table = Dataset.Tabular.from_delimited_files("https://example.test/t.csv")
    with pytest.raises(
        UserErrorException,
        match=re.escape("does not support mount. Only FileDataset supports mount"),
    ):
        DatasetConsumptionConfig("t", PipelineParameter("t", table)).as_mount()
    with pytest.raises(UserErrorException, match="Invalid mode 'copy'"):
        DatasetConsumptionConfig("x", files, mode="copy")


def test_a_dataset_given_to_the_wrong_parameter_raises_azureml_s_type_error():
    from studio.sdk.core import Dataset
    from studio.sdk.pipeline.core.graph import check_dataset_value

    table = Dataset.Tabular.from_delimited_files("https://example.test/t.csv")
    files = Dataset.File.from_files("https://example.test/f.csv")
    file_default = {"id": "x", "kind": "file"}
    check_dataset_value("ds", "dataset", file_default, files)
    with pytest.raises(
        TypeError,
        match=re.escape(
            "Pipeline parameter with name ds is of incorrect type "
            "TabularDataset. Expected type: FileDataset"
        ),
    ):
        check_dataset_value("ds", "dataset", file_default, table)
    with pytest.raises(
        TypeError, match=re.escape("is of incorrect type FileDataset. Expected type: float")
    ):
        check_dataset_value("reg", "float", 0.1, files)
    check_dataset_value("reg", "float", 0.1, 0.5)  # not a dataset: the server coerces it


# --- steps ----------------------------------------------------------------------------


def test_estimator_and_estimator_step_warn_as_azureml_and_run_the_entry_script(tmp_path, caplog):
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import EstimatorStep
    from studio.sdk.train.estimator import Estimator

    (tmp_path / "train.py").write_text("print('training')\n")
    with caplog.at_level(logging.WARNING):
        estimator = Estimator(
            source_directory=str(tmp_path), entry_script="train.py", pip_packages=["scikit-learn"]
        )
        step = EstimatorStep(
            name="train",
            estimator=estimator,
            estimator_entry_script_arguments=["--alpha", 0.5],
            compute_target="cpu-cluster",
        )
    assert "'Estimator' is deprecated" in caplog.text
    assert "'EstimatorStep' is deprecated. Please use 'CommandStep'" in caplog.text
    spec = Pipeline(None, [step]).graph_spec.steps[0]
    assert (spec.script_name, spec.compute_target) == ("train.py", "cpu-cluster")
    assert [a.value for a in spec.arguments] == ["--alpha", "0.5"]
    assert "scikit-learn" in spec.environment.pip_packages
    with pytest.raises(ValueError, match="Estimator, compute_target parameters are required"):
        EstimatorStep(estimator=estimator, estimator_entry_script_arguments=[])
    with pytest.raises(
        ValueError, match="estimator_entry_script_arguments is a required parameter"
    ):
        EstimatorStep(estimator=estimator, compute_target="c")
    scripted = Estimator(str(tmp_path), entry_script="train.py", script_params={"--lr": 0.1})
    with pytest.raises(ValueError, match="script_params in Estimator should not be provided"):
        EstimatorStep(estimator=scripted, estimator_entry_script_arguments=[], compute_target="c")


@pytest.mark.parametrize("name", ["HyperDriveStep", "AutoMLStep", "DatabricksStep", "MpiStep"])
def test_steps_that_need_an_azure_service_say_so_and_name_an_alternative(name):
    import studio.sdk.pipeline.steps as steps

    with pytest.raises(
        NotImplementedError, match=f"{name} is not supported by Studio: .*PythonScriptStep|fan-out"
    ):
        getattr(steps, name)(name="x")


@pytest.mark.parametrize(
    "recurrence",
    [
        {"frequency": "Daily", "interval": 1},
        {"frequency": "Day", "interval": 0},
        {"frequency": "Hour", "interval": 1, "hours": [5]},
        {"frequency": "Month", "interval": 1, "minutes": [5]},
        {"frequency": "Day", "interval": 1, "week_days": ["Monday"]},
        {"frequency": "Week", "interval": 1, "week_days": ["Funday"]},
        {"frequency": "Day", "interval": 1, "hours": [24]},
        {"frequency": "Day", "interval": 1, "minutes": [60]},
        {"frequency": "Day", "interval": 1, "time_of_day": "7h30"},
        {"frequency": "Day", "interval": 1, "time_of_day": "07:30", "hours": [7]},
        {"frequency": "Day", "interval": 1, "start_time": "next tuesday"},
    ],
)
def test_a_bad_recurrence_gets_the_same_message_from_the_sdk_and_the_server(recurrence):
    from studio.core.errors import StudioError
    from studio.core.recurrence import parse_recurrence
    from studio.sdk.pipeline.core import ScheduleRecurrence

    with pytest.raises(StudioError) as server:
        parse_recurrence(recurrence)  # what the API and the schedule form answer
    with pytest.raises(ValueError, match=re.escape(server.value.message)):
        ScheduleRecurrence(**recurrence)


def test_pipeline_draft_has_azureml_s_signatures_and_text():
    import inspect

    from studio.sdk.pipeline.core import PipelineDraft

    def names(function):
        return [p for p in inspect.signature(function).parameters if not p.startswith("_")]

    assert names(PipelineDraft.__init__) == [
        "self", "workspace", "id", "name", "description", "experiment_name", "tags",
        "properties", "graph_draft_id", "parent_pipeline_id", "parent_pipeline_run_id",
        "parent_step_run_ids", "parent_pipeline_draft_id", "last_submitted_pipeline_run_id",
    ]  # fmt: skip
    assert names(PipelineDraft.create) == [
        "workspace", "pipeline", "name", "description", "experiment_name",
        "pipeline_parameters", "continue_on_step_failure", "tags", "properties",
    ]  # fmt: skip
    assert names(PipelineDraft.update) == [
        "self", "pipeline", "name", "description", "experiment_name", "tags",
        "pipeline_parameters", "continue_on_step_failure",
    ]  # fmt: skip
    assert names(PipelineDraft.list) == ["workspace", "tags"]
    assert names(PipelineDraft.save) == ["self", "path"]
    draft = PipelineDraft(None, "d1", name="TestPipelineDraft", tags={"dev": "true"}, properties={})
    assert repr(draft) == (
        "Pipeline(Name: TestPipelineDraft,\nId: d1,\nTags: {'dev': 'true'},\nProperties: {},"
        "\nLast Submitted Pipeline Run Id: None)"
    )
    with pytest.raises(ValueError, match="should be of type Pipeline, PublishedPipeline, Pipeline"):
        PipelineDraft.create(None, object(), name="x", experiment_name="e")
    with pytest.raises(ValueError, match=r"^pipeline should be of type Pipeline$"):
        draft.update(pipeline=draft)
