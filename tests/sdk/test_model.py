"""``Model``'s checks and local lookups, before (or without) any request: azureml's words."""

from __future__ import annotations

import re

import pytest

from studio.sdk.core import Model, Workspace
from studio.sdk.core.model import _models_dir
from studio.sdk.exceptions import ModelNotFoundException, UserErrorException, WebserviceException

# Nothing listens here: a check that failed to stop a request would fail differently.
ws = Workspace(url="http://127.0.0.1:9", token="st_x_y")


@pytest.fixture(autouse=True)
def _outside_a_step(monkeypatch, tmp_path):
    for name in ("STUDIO_URL", "STUDIO_RUN_TOKEN", "STUDIO_RUN_ID", "AML_APP_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_a_model_needs_a_name_or_an_id():
    with pytest.raises(
        WebserviceException, match=re.escape("Error, one of id or name must be provided.")
    ):
        Model(ws)


@pytest.mark.parametrize("name", ["-starts-badly", "has space", "a/b", "x" * 256, ""])
def test_register_refuses_an_invalid_name(tmp_path, name):
    (tmp_path / "model.pkl").write_bytes(b"w")
    with pytest.raises(WebserviceException) as caught:
        Model.register(ws, model_path="model.pkl", model_name=name)
    assert caught.value.message.startswith("Error, provided model name is invalid.")


def test_register_refuses_a_framework_version_without_a_framework(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"w")
    with pytest.raises(
        WebserviceException,
        match="Model framework version cannot be provided without a valid framework",
    ):
        Model.register(ws, "model.pkl", "m", model_framework_version="1.0")


def test_register_checks_the_path_as_azureml_does(tmp_path):
    with pytest.raises(FileNotFoundError, match="Path does not exist"):
        Model.register(ws, "missing.pkl", "m")
    (tmp_path.parent / "outside.pkl").write_bytes(b"w")
    with pytest.raises(PermissionError, match="Path outside current working directory"):
        Model.register(ws, "../outside.pkl", "m")
    (tmp_path / "folder").mkdir()
    with pytest.raises(WebserviceException, match='provided child path "nope" cannot be found'):
        Model.register(ws, "folder", "m", child_paths=["nope"])


def test_list_checks_page_count_and_tags():
    with pytest.raises(UserErrorException, match=re.escape("between 20 and 255. Provided: 5")):
        Model.list(ws, page_count=5)
    with pytest.raises(UserErrorException, match="Expected tags must be list type"):
        Model.list(ws, tags={"a": "b"})


def test_get_model_path_wants_an_int_version():
    with pytest.raises(WebserviceException, match="version should be an int"):
        Model.get_model_path("m", version="1")


def test_get_model_path_finds_the_latest_cached_version_then_the_current_folder(tmp_path):
    for version in (1, 2, 10):
        folder = tmp_path / "azureml-models" / "m" / str(version)
        folder.mkdir(parents=True)
        (folder / "model.pkl").write_bytes(b"w")
    assert Model.get_model_path("m") == "azureml-models/m/10/model.pkl"
    assert Model.get_model_path("m", version=2) == "azureml-models/m/2/model.pkl"
    (tmp_path / "azureml-models" / "m" / "2" / "second.pkl").write_bytes(b"w")
    with pytest.raises(WebserviceException, match="can contain only 1 file or folder"):
        Model.get_model_path("m", version=2)
    (tmp_path / "other").write_bytes(b"w")
    assert Model.get_model_path("other") == "other"
    with pytest.raises(ModelNotFoundException) as caught:
        Model.get_model_path("absent")
    assert caught.value.message == (
        f"Model absent not found in cache at {_models_dir()} or in current working directory "
        f"{tmp_path}. For more info, set logging level to DEBUG."
    )
    # A version asked for and not cached, with no workspace to download from.
    with pytest.raises(WebserviceException, match="Model absent not found in cache"):
        Model.get_model_path("absent", version=3)


def test_download_refuses_both_exist_ok_spellings():
    model = Model.deserialize(ws, {"name": "m", "id": "m:1", "version": 1})
    with pytest.raises(
        WebserviceException,
        match=re.escape("Both exists_ok and exist_ok are set. Please use exist_ok only."),
    ):
        model.download(exists_ok=True)
    with pytest.raises(
        WebserviceException, match=re.escape("No files to download. Did you upload files?")
    ):
        model.download()


def test_a_model_reads_and_serializes_as_azureml_names_it():
    model = Model.deserialize(
        ws,
        {
            "name": "churn-model",
            "id": "churn-model:3",
            "version": 3,
            "tags": {"a": "b"},
            "properties": {"p": "1"},
            "createdTime": "2026-01-02T03:04:05+00:00",
            "framework": "ScikitLearn",
            "frameworkVersion": "1.5",
            "runId": "abc",
            "experimentName": "exp",
        },
    )
    assert repr(model).startswith("Model(workspace=Workspace.create(")
    assert repr(model).endswith(
        "name=churn-model, id=churn-model:3, version=3, tags={'a': 'b'}, properties={'p': '1'})"
    )
    data = model.serialize()
    assert (data["id"], data["version"], data["framework"], data["runId"]) == (
        "churn-model:3",
        3,
        "ScikitLearn",
        "abc",
    )
    assert data["createdTime"] == "2026-01-02T03:04:05+00:00"
