"""Submitting pipelines over the API: experiments, snapshots, runs and their errors."""

from __future__ import annotations

import copy

import pytest

from runs.models import Experiment, Run, StepRun
from studio.core.snapshot import build
from studio.workspace.models import ComputeTarget, Snapshot
from tests.factories import client_for
from tests.factories import run_body as _body

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot_zip(tmp_path, snapshot) -> tuple[str, bytes]:
    """The uploaded snapshot's digest and zip (the same folder builds the same zip)."""
    digest, data, _ = build(tmp_path)
    assert digest == snapshot
    return digest, data


def _error(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]


# --- experiments ----------------------------------------------------------------------------


def test_posting_an_experiment_gets_or_creates_it(api):
    first = api.post("/api/experiments/", {"name": "mnist"}, format="json")
    again = api.post("/api/experiments/", {"name": "mnist"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["name"] == again.json()["name"] == "mnist"
    assert Experiment.objects.filter(name="mnist").count() == 1


def test_an_experiment_name_must_be_valid(api):
    error = _error(api.post("/api/experiments/", {"name": "-bad name"}, format="json"))
    assert error["field"] == "name"
    assert (
        error["message"]
        == "name: Experiment name must start with a letter or digit and contain only letters, digits, '_' and '-', at most 255 characters."
    )


# --- snapshots --------------------------------------------------------------------------------


def test_an_uploaded_snapshot_is_recorded_with_its_files(api, snapshot_zip):
    digest, data = snapshot_zip
    assert sorted(Snapshot.objects.get(digest=digest).files) == ["score.py", "train.py"]
    response = api.get(f"/api/snapshots/{digest}/")
    assert response.json() == {
        "digest": digest,
        "size": len(data),
        "files": ["score.py", "train.py"],
    }


def test_missing_snapshots_are_the_ones_not_uploaded(api, snapshot):
    digest = snapshot
    response = api.post("/api/snapshots/missing/", {"digests": [digest, "c" * 64]}, format="json")
    assert response.json() == {"missing": ["c" * 64]}


def test_an_upload_whose_content_does_not_match_its_digest_is_refused(api, snapshot_zip):
    _, data = snapshot_zip
    wrong = "0" * 64
    error = _error(
        api.put(f"/api/snapshots/{wrong}/upload/", data=data, content_type="application/zip")
    )
    assert error["field"] == "digest"
    assert wrong in error["message"]
    assert not Snapshot.objects.filter(digest=wrong).exists()


def test_an_upload_that_is_not_a_zip_is_refused(api):
    error = _error(
        api.put(f"/api/snapshots/{'0' * 64}/upload/", data=b"hello", content_type="application/zip")
    )
    assert error["field"] == "body"


def test_an_upload_to_a_malformed_digest_is_refused(api, snapshot_zip):
    _, data = snapshot_zip
    error = _error(api.put("/api/snapshots/abc/upload/", data=data, content_type="application/zip"))
    assert error["field"] == "digest"


# --- runs -------------------------------------------------------------------------------------


def test_a_valid_submission_creates_a_run_and_queues_its_first_step(api, alice, snapshot):
    digest = snapshot
    response = api.post(
        "/api/runs/", _body(digest, pipeline_parameters={"rate": "0.1"}), format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    run = Run.objects.get(id=data["id"])
    assert (run.experiment.name, run.number, run.created_by, run.parameters) == (
        "mnist",
        1,
        alice,
        {"rate": 0.1},
    )
    assert data["status"] == "Running"
    assert {s["name"]: s["status"] for s in data["steps"]} == {
        "train": "Queued",
        "score": "NotStarted",
    }
    assert data["url"].endswith(f"/runs/{run.id}/")
    assert api.get("/api/runs/").json()["results"][0]["id"] == run.id


def test_a_submission_without_an_experiment_name_names_the_field(api, snapshot):
    body = _body(snapshot)
    del body["experiment_name"]
    error = _error(api.post("/api/runs/", body, format="json"))
    assert error["field"] == "experiment_name"
    assert Run.objects.count() == 0


@pytest.mark.parametrize("graph", ["a graph", ["steps"], 3])
def test_a_graph_that_is_not_an_object_names_the_field(api, graph):
    error = _error(
        api.post("/api/runs/", {"experiment_name": "mnist", "graph": graph}, format="json")
    )
    assert error == {"code": "invalid", "message": "graph must be an object.", "field": "graph"}


def test_a_bad_step_names_its_field(api, snapshot):
    body = _body(snapshot)
    body["graph"]["steps"][1]["allow_reuse"] = "sometimes"
    error = _error(api.post("/api/runs/", body, format="json"))
    assert error["field"] == "graph.steps[1].allow_reuse"


def test_an_unknown_compute_target_is_refused(api, snapshot):
    ComputeTarget.objects.create(name="cpu")
    known = _body(snapshot)
    known["graph"]["steps"][0]["compute_target"] = "cpu"
    unknown = copy.deepcopy(known)
    unknown["graph"]["steps"][0]["compute_target"] = "gpu"

    error = _error(api.post("/api/runs/", unknown, format="json"))
    assert error["field"] == "graph.steps[0].compute_target"
    assert error["message"] == "Step [train]: compute target gpu does not exist."
    assert api.post("/api/runs/", known, format="json").status_code == 201


def test_a_snapshot_that_was_never_uploaded_is_refused(api):
    error = _error(api.post("/api/runs/", _body("d" * 64), format="json"))
    assert error["field"] == "graph.steps[0].snapshot"
    assert "has not been uploaded" in error["message"]


def test_a_script_missing_from_the_snapshot_is_refused(api, snapshot):
    body = _body(snapshot)
    body["graph"]["steps"][1]["script_name"] = "evaluate.py"
    error = _error(api.post("/api/runs/", body, format="json"))
    assert error["field"] == "graph.steps[1].script_name"
    assert "script not found at: evaluate.py" in error["message"]


def test_a_cycle_is_refused(api, snapshot):
    body = _body(snapshot)
    body["graph"]["steps"][0]["run_after"] = ["score"]
    error = _error(api.post("/api/runs/", body, format="json"))
    assert "Cycle detected including node" in error["message"]


def test_an_unknown_pipeline_parameter_is_refused(api, snapshot):
    error = _error(
        api.post("/api/runs/", _body(snapshot, pipeline_parameters={"epochs": 3}), format="json")
    )
    assert error == {
        "code": "invalid",
        "message": "Pipeline parameter with name epochs does not exist",
        "field": "pipeline_parameters.epochs",
    }


def test_a_pipeline_parameter_of_the_wrong_type_is_refused(api, snapshot):
    error = _error(
        api.post("/api/runs/", _body(snapshot, pipeline_parameters={"rate": "fast"}), format="json")
    )
    assert error["field"] == "pipeline_parameters.rate"
    assert error["message"].startswith("Expected type of the pipeline parameter rate is float")


def test_a_bad_experiment_name_is_refused_before_anything_is_stored(api, snapshot):
    error = _error(
        api.post("/api/runs/", _body(snapshot, experiment_name="no spaces"), format="json")
    )
    assert error["field"] == "experiment_name"
    assert Experiment.objects.count() == 0
    assert StepRun.objects.count() == 0


def test_a_read_token_cannot_submit_a_run(alice, snapshot):
    response = client_for(alice, scope="read").post("/api/runs/", _body(snapshot), format="json")
    assert response.status_code == 403
    assert Run.objects.count() == 0


def test_runs_can_be_filtered_by_experiment(api, snapshot):
    api.post("/api/runs/", _body(snapshot), format="json")
    api.post("/api/runs/", _body(snapshot, experiment_name="other"), format="json")
    names = [
        r["experiment"] for r in api.get("/api/runs/", {"experiment": "other"}).json()["results"]
    ]
    assert names == ["other"]


def test_an_unknown_run_is_a_json_404(api):
    response = api.get("/api/runs/no-such-run/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No Run matches the given query."


def test_an_unknown_run_has_the_not_found_error_code(api):
    response = api.get("/api/runs/no-such-run/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No Run matches the given query."}
    }


def test_pipeline_parameters_must_be_an_object(api, snapshot):
    error = _error(
        api.post("/api/runs/", _body(snapshot, pipeline_parameters=["rate"]), format="json")
    )
    assert error["field"] == "pipeline_parameters"


def test_a_submitted_run_can_be_canceled_over_the_api(api, snapshot):
    run_id = api.post("/api/runs/", _body(snapshot), format="json").json()["id"]
    response = api.post(f"/api/runs/{run_id}/cancel/")
    assert response.status_code == 200
    run = Run.objects.get(id=run_id)
    assert run.cancel_requested or run.is_finished
    assert {s.status for s in run.steps.all()} == {"Canceled"}


def test_a_parallel_run_steps_settings_are_checked_naming_the_field(api, snapshot):
    body = _body(snapshot)
    step = body["graph"]["steps"][1]
    step["outputs"] = [{"name": "inferences", "kind": "PipelineData"}]
    step["parallel"] = {
        "input_kind": "file",
        "inputs": ["images"],
        "mini_batch_size": 10,
        "error_threshold": 5,
        "output_action": "append_row",
        "output": "inferences",
    }
    error = _error(api.post("/api/runs/", body, format="json"))
    assert error["field"] == "graph.steps[1].parallel.inputs[0]"
    assert error["message"] == "graph.steps[1].parallel.inputs[0] names no input of the step."
    assert not Run.objects.exists()
    step["parallel"]["inputs"] = ["model"]
    assert api.post("/api/runs/", body, format="json").status_code == 201
