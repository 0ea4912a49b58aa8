"""The model registry's API and pages: registering, filters, changes, run tokens, reuse's
view of model reads, and bad input answered with the field at fault."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from runs.models import Metric, StepRun
from studio.core.names import MODEL_NAME_MESSAGE
from studio.core.status import Status
from studio.workspace import models_registry, storage
from studio.workspace.auth import issue_run_token
from studio.workspace.models import ModelRead, ModelVersion
from tests import factories


def _upload(api: APIClient, path: str, data: bytes) -> None:
    answer = api.put(
        f"/api/datastores/{storage.DEFAULT_DATASTORE}/upload/?path={path}&overwrite=true",
        data=data,
        content_type="application/octet-stream",
    )
    assert answer.status_code == 201, answer.content


def _register(api: APIClient, name: str, data: bytes = b"weights", **body) -> dict:
    _upload(api, f"LocalUpload/{name}-x/model.pkl", data)
    answer = api.post(
        "/api/models/",
        {"name": name, "path": f"LocalUpload/{name}-x/model.pkl", **body},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


@pytest.fixture
def running_step(alice) -> StepRun:
    return factories.step_in(Status.RUNNING, owner=alice)


def _run_client(step: StepRun, user) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_run_token(step.id, step.attempt, user.id)}"
    )
    return client


def test_registering_copies_the_files_with_a_manifest_and_numbers_versions(api):
    first = _register(api, "churn-model", b"one", tags={"stage": "dev"})
    assert (first["id"], first["version"]) == ("churn-model:1", 1)
    assert first["files"] == [
        {"path": "model.pkl", "size": 3, "sha256": hashlib.sha256(b"one").hexdigest()}
    ]
    assert first["path"] == "models/churn-model/1"
    root = storage.default_datastore().root_path
    assert (root / "models/churn-model/1/model.pkl").read_bytes() == b"one"
    assert not (root / "LocalUpload/churn-model-x").exists()  # the upload was moved in
    assert _register(api, "churn-model", b"two")["version"] == 2
    assert api.get("/api/models/churn-model/latest/").json()["version"] == 2
    assert api.get("/api/models/churn-model/1/").json()["tags"] == {"stage": "dev"}
    download = api.get("/api/models/churn-model/1/download/", {"path": "model.pkl"})
    assert b"".join(download.streaming_content) == b"one"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "-bad"}, "name", MODEL_NAME_MESSAGE),
        ({"name": "a/b"}, "name", MODEL_NAME_MESSAGE),
        (
            {"model_framework_version": "1.0"},
            "model_framework_version",
            "Model framework version cannot be provided without a valid framework",
        ),
        ({"path": "../etc/passwd"}, "path", None),
        ({"path": "LocalUpload/none/model.pkl"}, "path", "No file or folder"),
        ({"tags": {"k": 1}}, "tags", None),
        ({"datasets": [{"name": "training", "id": "nope"}]}, "datasets[0]", "is not a dataset id"),
    ],
)
def test_bad_registrations_are_a_400_naming_the_field(api, body, field, message):
    _upload(api, "LocalUpload/ok/model.pkl", b"w")
    answer = api.post(
        "/api/models/",
        {"name": "good", "path": "LocalUpload/ok/model.pkl", **body},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["field"] == field or field in json.dumps(error), error
    if message:
        assert message in json.dumps(error)
    assert not ModelVersion.objects.filter(model__name="good").exists()


def test_a_model_names_its_datasets_and_is_found_by_them(api):
    _upload(api, "data/train.csv", b"a,b\n1,2\n")
    dataset = api.post(
        "/api/datasets/",
        {
            "name": "training",
            "kind": "tabular",
            "paths": [["workspaceblobstore", "data/train.csv"]],
        },
        format="json",
    ).json()
    made = _register(
        api,
        "with-data",
        datasets=[{"name": "training", "id": dataset["id"]}],
        sample_input_dataset=dataset["id"],
    )
    assert made["datasets"] == [{"name": "training", "id": dataset["id"]}]
    assert made["sample_input_dataset_id"] == dataset["id"]
    found = api.get("/api/models/", {"dataset_id": dataset["id"]}).json()
    assert [m["id"] for m in found] == ["with-data:1"]
    page = Client()
    page.force_login(ModelVersion.objects.get(model__name="with-data").created_by)
    assert "training:1" in page.get("/models/with-data/").content.decode()


def test_an_unknown_model_is_a_404_with_azureml_words(api):
    answer = api.get("/api/models/nothing/3/")
    assert answer.status_code == 404
    assert (
        answer.json()["error"]["message"]
        == "ModelNotFound: Model with name nothing, version 3 not found in provided workspace"
    )
    assert api.get("/api/models/nothing/x/").status_code == 400


def test_list_filters_by_name_tags_properties_and_latest(api):
    _register(api, "a", tags={"area": "churn"}, properties={"auc": "0.9"})
    _register(api, "a", tags={"area": "fraud"})
    _register(api, "b", tags={"team": "x"})

    def versions(**params):
        return [m["id"] for m in api.get("/api/models/", params).json()]

    assert versions() == ["a:2", "a:1", "b:1"]
    assert versions(name="a") == ["a:2", "a:1"]
    assert versions(tags='["area"]') == ["a:2", "a:1"]
    assert versions(tags='[["area", "churn"]]') == ["a:1"]
    assert versions(tags="area=fraud") == ["a:2"]
    assert versions(properties='[["auc", "0.9"]]') == ["a:1"]
    assert versions(latest="true") == ["a:2", "b:1"]
    assert api.get("/api/models/", {"tags": "[not json"}).status_code == 400


def test_only_the_creator_or_an_admin_changes_a_version(api, bob):
    _register(api, "mine")
    other = factories.client_for(bob)
    assert (
        other.patch("/api/models/mine/1/", {"add_tags": {"x": "y"}}, format="json").status_code
        == 403
    )
    assert other.delete("/api/models/mine/1/").status_code == 403
    changed = api.patch(
        "/api/models/mine/1/",
        {"add_tags": {"x": "y", "z": "1"}, "remove_tags": ["z"], "add_properties": {"p": "1"}},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["tags"], changed.json()["properties"]) == ({"x": "y"}, {"p": "1"})
    refused = api.patch("/api/models/mine/1/", {"add_properties": {"p": "2"}}, format="json")
    assert refused.status_code == 400
    assert "properties can only be added" in refused.json()["error"]["message"]
    assert api.delete("/api/models/mine/1/").status_code == 204
    assert not (storage.default_datastore().root_path / "models/mine/1").exists()
    assert api.get("/api/models/mine/1/").status_code == 404


def test_a_step_registers_from_its_files_and_records_what_it_reads(api, alice, running_step):
    step = running_step
    client = _run_client(step, alice)
    upload = client.put(
        f"/api/steps/{step.id}/files/upload/?name=outputs/model.pkl",
        data=b"trained",
        content_type="application/octet-stream",
    )
    assert upload.status_code == 201
    missing = client.post(
        f"/api/steps/{step.id}/models/",
        {"name": "m", "model_path": "outputs/nope.pkl"},
        format="json",
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == (
        "Could not locate the provided model_path outputs/nope.pkl in the set of files uploaded "
        "to the run: ['outputs/model.pkl']\nSee https://aka.ms/run-logging for more details."
    )
    made = client.post(
        f"/api/steps/{step.id}/models/",
        {"name": "m", "model_path": "outputs/model.pkl"},
        format="json",
    )
    assert made.status_code == 201, made.content
    data = made.json()
    assert (data["run_id"], data["pipeline_run_id"]) == (step.id, step.run_id)
    assert data["experiment_name"] == step.run.experiment.name
    assert data["files"][0]["path"] == "model.pkl"

    # A run token registers only from files, never from a datastore path, and changes nothing.
    assert client.post("/api/models/", {"name": "m", "path": "x"}, format="json").status_code == 403
    assert client.patch("/api/models/m/1/", {"description": "x"}, format="json").status_code == 403

    assert client.post("/api/models/m/latest/reads/", {}, format="json").status_code == 201
    assert client.post("/api/models/m/1/reads/", {"asked": "1"}, format="json").status_code == 201
    assert sorted(ModelRead.objects.values_list("step_run_id", "asked")) == [
        (step.id, "1"),
        (step.id, "latest"),
    ]
    assert api.post("/api/models/m/1/reads/", {}, format="json").status_code == 400


def test_a_read_of_latest_is_stale_once_a_newer_version_exists(api, alice, running_step):
    _register(api, "churn-model")
    version = models_registry.get_version("churn-model")
    models_registry.record_read(version, running_step.id, None)
    models_registry.record_read(version, "pinned-step", 1)
    assert models_registry.stale_reads(running_step.id) == []
    _register(api, "churn-model", b"newer")
    assert models_registry.stale_reads(running_step.id) == ["model churn-model: 1 → 2"]
    assert models_registry.stale_reads("pinned-step") == []


def test_the_pages_show_versions_producers_readers_files_and_compare(
    api, alice, running_step, django_assert_max_num_queries
):
    step = running_step
    client = _run_client(step, alice)
    client.put(
        f"/api/steps/{step.id}/files/upload/?name=outputs/model.pkl",
        data=b"trained",
        content_type="application/octet-stream",
    )
    Metric.objects.create(step_run=step, name="accuracy", value=0.8)
    client.post(
        f"/api/steps/{step.id}/models/",
        {"name": "m", "model_path": "outputs/model.pkl"},
        format="json",
    )
    _register(api, "m", b"uploaded", tags={"stage": "prod"})
    client.post("/api/models/m/1/reads/", {"asked": "1"}, format="json")

    page = Client()
    page.force_login(alice)
    with django_assert_max_num_queries(12):
        listing = page.get("/models/").content.decode()
    assert 'href="/models/m/"' in listing and "stage: prod" in listing
    with django_assert_max_num_queries(14):
        detail = page.get("/models/m/", {"version": "1"}).content.decode()
    assert step.name in detail and f"/runs/{step.run_id}/?step={step.id}" in detail
    assert "model.pkl" in detail and "/models/m/1/file/?path=model.pkl" in detail
    assert "Runs that read version 1" in detail and ">1</td>" in detail
    download = page.get("/models/m/1/file/", {"path": "model.pkl"})
    assert b"".join(download.streaming_content) == b"trained"
    assert page.get("/models/m/1/file/", {"path": "../x"}).status_code == 404
    compared = page.get("/models/m/compare/", {"a": "1", "b": "2"})
    assert compared.status_code == 200
    text = compared.content.decode()
    assert "accuracy" in text and "0.8" in text and "Tags: stage" in text
    assert page.get("/models/m/compare/", {"a": "1", "b": "9"}).status_code == 400
    assert Client().get("/models/").status_code == 302
    panel = page.get(f"/runs/{step.run_id}/", {"step": step.id, "tab": "data"}).content.decode()
    assert 'href="/models/m/?version=1">m:1</a> <small>asked for 1</small>' in panel
    assert "Registered</dt>" in panel
