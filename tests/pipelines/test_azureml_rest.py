"""The API behind what Azure ML v1 code calls: the workspace's default datastore, metrics on a
pipeline run, publishing a running run, endpoint names and by-name submits, dataset-typed
parameters in Azure's REST body, ignored parameters, compute target status."""

from __future__ import annotations

import pytest

from runs.models import Run, StepRun
from studio.workspace.auth import issue_run_token
from studio.workspace.models import Dataset, Datastore
from tests.factories import client_for
from tests.factories import run_body as _body

pytestmark = pytest.mark.django_db


def _run(api, digest, **changes) -> dict:
    response = api.post("/api/runs/", _body(digest, **changes), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- workspace ------------------------------------------------------------------------


def test_the_workspace_default_datastore_can_be_changed(api, alice, tmp_path, settings):
    settings.STUDIO_LOCAL_DATASTORE_ROOTS = [tmp_path]
    alice.is_superuser = True
    alice.save()
    assert api.get("/api/workspace/").json()["default_datastore"] == "workspaceblobstore"
    registered = api.post(
        "/api/datastores/",
        {"name": "lake", "kind": "local", "root": str(tmp_path / "lake")},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    answer = api.patch("/api/workspace/", {"default_datastore": "lake"}, format="json")
    assert answer.status_code == 200 and answer.json()["default_datastore"] == "lake"
    assert list(Datastore.objects.filter(is_default=True).values_list("name", flat=True)) == [
        "lake"
    ]
    refused = api.patch("/api/workspace/", {"default_datastore": "nowhere"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "default_datastore"
    assert "Datastore nowhere does not exist" in refused.json()["error"]["message"]
    reader = client_for(alice, "read")
    assert (
        reader.patch(
            "/api/workspace/", {"default_datastore": "workspaceblobstore"}, format="json"
        ).status_code
        == 403
    )


# --- metrics on the pipeline run itself -----------------------------------------------


def test_a_step_logs_on_its_pipeline_run_and_the_run_lists_it(api, alice, snapshot):
    digest = snapshot
    run = _run(api, digest)
    step = run["steps"][0]
    StepRun.objects.filter(id=step["id"]).update(status="Running", attempt=1)
    step_client = client_for(alice)
    step_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_run_token(step['id'], 1, alice.id)}")
    logged = step_client.post(
        f"/api/runs/{run['id']}/metrics/", {"name": "pipeline_arg", "value": 45}, format="json"
    )
    assert logged.status_code == 201, logged.content
    rows = api.get(f"/api/runs/{run['id']}/metrics/").json()
    assert [(r["name"], r["value"], r["step_run_id"]) for r in rows] == [("pipeline_arg", 45, None)]
    image = step_client.post(
        f"/api/runs/{run['id']}/metrics/",
        {"name": "plot", "kind": "image", "value": "images/p.png"},
        format="json",
    )
    assert image.status_code == 400 and "logged by a step" in image.json()["error"]["message"]

    other = _run(api, digest)
    stranger = client_for(alice)
    stranger.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_run_token(other['steps'][0]['id'], 1, alice.id)}"
    )
    refused = stranger.post(
        f"/api/runs/{run['id']}/metrics/", {"name": "x", "value": 1}, format="json"
    )
    assert refused.status_code == 403


def test_the_run_page_shows_the_runs_own_metrics_and_its_warnings(api, alice, client, snapshot):
    digest = snapshot
    run = _run(api, digest)
    for value in (0.5, 0.25):
        api.post(f"/api/runs/{run['id']}/metrics/", {"name": "loss", "value": value}, format="json")
    Run.objects.filter(id=run["id"]).update(warnings=["Pipeline parameter 1 does not exist"])
    client.force_login(alice)
    page = client.get(f"/runs/{run['id']}/").content.decode()
    assert "Run metric" in page and "last of 2" in page and "0.25" in page
    assert "Pipeline parameter 1 does not exist" in page


# --- publishing and endpoints ---------------------------------------------------------


def test_a_run_that_has_not_finished_can_be_published(api, snapshot):
    digest = snapshot
    run = _run(api, digest)
    assert run["status"] == "Running"
    published = api.post(
        f"/api/runs/{run['id']}/publish/", {"name": "from-a-running-run"}, format="json"
    )
    assert published.status_code == 201, published.content
    assert published.json()["source_run"] == run["id"]
    assert published.json()["step_names"] == ["train", "score"]


@pytest.fixture
def endpoint(api, snapshot):
    digest = snapshot
    body = _body(digest)
    pipeline = api.post(
        "/api/publishedpipelines/", {"name": "p", "graph": body["graph"]}, format="json"
    ).json()
    created = api.post(
        "/api/pipelineendpoints/",
        {"name": "PipelineEndpointTest", "pipeline_id": pipeline["id"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    return created.json()


def test_an_endpoint_is_renamed_and_a_taken_name_is_refused(api, endpoint):
    renamed = api.patch(
        f"/api/pipelineendpoints/{endpoint['id']}/", {"name": "NewName"}, format="json"
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "NewName"
    assert renamed.json()["endpoint"] == endpoint["endpoint"]  # the URL stays
    other = api.post(
        "/api/pipelineendpoints/",
        {"name": "Other", "pipeline_id": endpoint["pipeline_version_list"][0]["pipeline_id"]},
        format="json",
    ).json()
    taken = api.patch(f"/api/pipelineendpoints/{other['id']}/", {"name": "NewName"}, format="json")
    assert taken.status_code == 400
    assert "PipelineEndpoint already exists with the given name" in taken.json()["error"]["message"]


def test_an_endpoint_is_submitted_by_name_and_ignored_parameters_are_named(api, endpoint):
    url = "/pipelines/v1.0/PipelineRuns/PipelineEndpointSubmit/Name"
    answer = api.post(
        f"{url}?name=PipelineEndpointTest&pipelineVersion=0",
        {"ExperimentName": "by_name", "ParameterAssignments": {"rate": "0.2", "1": "united"}},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["Warnings"] == [
        "Pipeline parameter 1 does not exist in this pipeline; its value was ignored."
    ]
    run = Run.objects.get(id=answer.json()["Id"])
    assert run.parameters == {"rate": 0.2} and run.warnings == answer.json()["Warnings"]
    missing = api.post(f"{url}?name=Nobody", {"ExperimentName": "x"}, format="json")
    assert (
        missing.status_code == 404
        and "No pipeline endpoint named 'Nobody'" in missing.json()["error"]["message"]
    )
    unnamed = api.get(url)
    assert unnamed.status_code == 404 and "Name?name=<name>" in unnamed.json()["error"]["message"]
    wrong_type = api.post(
        f"{url}?name=PipelineEndpointTest",
        {"ExperimentName": "x", "ParameterAssignments": {"rate": "fast"}},
        format="json",
    )
    assert wrong_type.status_code == 400  # a declared parameter is still checked


# --- dataset-typed parameters ---------------------------------------------------------


def _dataset(name: str, kind: str, path: str, version: int = 1) -> Dataset:
    return Dataset.objects.create(
        name=name, version=version, kind=kind, paths=[["workspaceblobstore", path]]
    )


@pytest.fixture
def dataset_pipeline(api, snapshot):
    digest = snapshot
    default = _dataset("titanic", "file", "titanic/Titanic.csv")
    graph = {
        "parameters": [
            {
                "name": "file_ds_param",
                "type": "dataset",
                "default": {"id": str(default.id), "kind": "file"},
            }
        ],
        "steps": [
            {
                "node_id": "train",
                "name": "train",
                "script_name": "train.py",
                "snapshot": digest,
                "inputs": [
                    {"name": "file_dataset", "mode": "mount", "dataset_parameter": "file_ds_param"}
                ],
                "arguments": [{"kind": "input", "value": "file_dataset"}],
            }
        ],
    }
    published = api.post("/api/publishedpipelines/", {"name": "ds", "graph": graph}, format="json")
    assert published.status_code == 201, published.content
    return published.json(), default


def _submit(api, pipeline, body):
    return api.post(
        f"/pipelines/v1.0/PipelineRuns/PipelineSubmit/{pipeline['id']}",
        {"ExperimentName": "datasets", **body},
        format="json",
    )


def test_a_dataset_parameter_takes_each_of_azures_assignment_shapes(api, dataset_pipeline):
    pipeline, default = dataset_pipeline
    iris = _dataset("iris", "file", "iris/iris.csv", version=2)
    shapes = [
        ({}, default),
        (
            {
                "DataSetDefinitionValueAssignments": {
                    "file_ds_param": {"SavedDataSetReference": {"Id": str(iris.id)}}
                }
            },
            iris,
        ),
        (
            {
                "DataSetDefinitionValueAssignments": {
                    "file_ds_param": {"DataSetReference": {"Name": "iris", "Version": "2"}}
                }
            },
            iris,
        ),
    ]
    for body, expected in shapes:
        answer = _submit(api, pipeline, body)
        assert answer.status_code == 200, answer.content
        value = Run.objects.get(id=answer.json()["Id"]).parameters["file_ds_param"]
        assert value == {
            "id": str(expected.id),
            "kind": "file",
            "name": expected.name,
            "version": expected.version,
        }
    literal = _submit(
        api,
        pipeline,
        {
            "DataSetDefinitionValueAssignments": {
                "file_ds_param": {
                    "LiteralValue": {
                        "DataStoreName": "workspaceblobstore",
                        "RelativePath": "new/data.csv",
                    }
                }
            }
        },
    )
    assert literal.status_code == 200, literal.content
    value = Run.objects.get(id=literal.json()["Id"]).parameters["file_ds_param"]
    saved = Dataset.objects.get(id=value["id"])
    assert saved.kind == "file" and saved.paths == [["workspaceblobstore", "new/data.csv"]]


def test_a_dataset_of_the_wrong_kind_or_none_at_all_is_refused(api, dataset_pipeline):
    pipeline, _ = dataset_pipeline
    table = _dataset("table", "tabular", "t/*.csv")
    wrong = _submit(
        api,
        pipeline,
        {
            "DataSetDefinitionValueAssignments": {
                "file_ds_param": {"SavedDataSetReference": {"Id": str(table.id)}}
            }
        },
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"].endswith(
        "Pipeline parameter with name file_ds_param is of incorrect type TabularDataset. "
        "Expected type: FileDataset"
    )
    unknown = _submit(
        api,
        pipeline,
        {
            "DataSetDefinitionValueAssignments": {
                "file_ds_param": {
                    "SavedDataSetReference": {"Id": "6d1f0000-0000-0000-0000-000000000000"}
                }
            }
        },
    )
    assert (
        unknown.status_code == 400 and "no dataset has the id" in unknown.json()["error"]["message"]
    )
    by_name = _submit(
        api,
        pipeline,
        {
            "DataSetDefinitionValueAssignments": {
                "file_ds_param": {"DataSetReference": {"Name": "nope"}}
            }
        },
    )
    assert (
        by_name.status_code == 400
        and 'Cannot find dataset registered with name "nope"' in by_name.json()["error"]["message"]
    )
    assert Run.objects.count() == 0


def test_the_submit_form_offers_the_datasets_of_the_parameters_kind(
    api, alice, client, dataset_pipeline
):
    pipeline, _default = dataset_pipeline
    iris = _dataset("iris", "file", "iris/iris.csv")
    _dataset("table", "tabular", "t/*.csv")
    client.force_login(alice)
    form = client.get(f"/pipelines/{pipeline['id']}/").content.decode()
    assert "titanic:1 (default)" in form and "iris:1" in form and "table:1" not in form
    answer = client.post(
        f"/pipelines/{pipeline['id']}/submit/",
        {"experiment_name": "from-the-form", "param_file_ds_param": str(iris.id)},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    run = Run.objects.get(experiment__name="from-the-form")
    assert run.parameters["file_ds_param"]["id"] == str(iris.id)


# --- compute targets ------------------------------------------------------------------


def test_a_compute_targets_status_counts_its_running_steps(api, snapshot):
    digest = snapshot
    _run(api, digest)
    status = api.get("/api/computetargets/local/status/")
    assert status.status_code == 200
    assert status.json()["running_steps"] == 0 and status.json()["workers"] == []
    assert api.get("/api/computetargets/nowhere/status/").status_code == 404
