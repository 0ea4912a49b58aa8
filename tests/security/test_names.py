"""Every name is checked where it enters (API, SDK, pages, a step's registration), by the rules
of studio.core.names; pages still answer for names stored before the rules."""

from __future__ import annotations

import pytest

from runs.models import Experiment
from studio.core.names import is_name
from studio.sdk.core import Workspace
from studio.sdk.exceptions import UserErrorException
from studio.workspace.models import Dataset, Datastore
from tests import factories

pytestmark = pytest.mark.django_db

SLASH, NEWLINE, BELL = "team/raw", "two\nlines", "bell\x07"


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("dataset", ["titanic_ds", "raw data v2", "mnist.train"], [SLASH, "", " x", "x ", "a\x00"]),
        ("datastore", ["blob_store-1"], [SLASH, "a b", "x" * 65]),
        ("compute target", ["cpu-cluster"], [SLASH, "gpu.big"]),
        ("environment", ["my-env.v2"], [SLASH, "AzureML-Minimal"]),
        ("published pipeline", ["Train & score (v2)", "é"], [NEWLINE, BELL, " x", "", "x" * 256]),
        ("pipeline endpoint", ["nightly/train"], [NEWLINE, "\u2028"]),
        ("schedule", ["every 5 min"], [NEWLINE, "\x7f"]),
        ("tag", ["mlflow.source", "a b"], ["", "k\x00", NEWLINE]),
    ],
)
def test_each_kind_of_name_has_one_rule(kind, good, bad):
    assert all(is_name(kind, name) for name in good), kind
    assert not any(is_name(kind, name) for name in bad), kind


def _refused(response, field: str = "name") -> str:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == field, error
    return error["message"]


def test_every_api_entry_refuses_a_bad_name_naming_the_rule(api, alice, snapshot):
    alice.is_staff = True  # registering a datastore needs the admin role
    alice.save(update_fields=["is_staff"])
    paths = [["workspaceblobstore", "data/*.csv"]]
    message = _refused(
        api.post("/api/datasets/", {"name": SLASH, "kind": "file", "paths": paths}, format="json")
    )
    assert "Dataset name must start and end with a letter or digit" in message
    assert not Dataset.objects.filter(name=SLASH).exists()
    _refused(
        api.post("/api/datastores/", {"name": SLASH, "kind": "s3", "bucket": "b"}, format="json")
    )
    _refused(api.post("/api/computetargets/", {"name": SLASH, "kind": "local"}, format="json"))
    _refused(api.post("/api/experiments/", {"name": SLASH}, format="json"))

    graph = factories.run_body(snapshot)["graph"]
    _refused(api.post("/api/publishedpipelines/", {"name": NEWLINE, "graph": graph}, format="json"))
    pipeline = api.post(
        "/api/publishedpipelines/", {"name": "p", "graph": graph}, format="json"
    ).json()
    _refused(
        api.post(
            "/api/pipelineendpoints/", {"name": BELL, "pipeline_id": pipeline["id"]}, format="json"
        )
    )
    schedule = {
        "name": NEWLINE,
        "pipeline_id": pipeline["id"],
        "experiment_name": "nightly",
        "recurrence": {"frequency": "Day", "interval": 1},
    }
    assert "Schedule name must be" in _refused(api.post("/api/schedules/", schedule, format="json"))
    draft = {"name": BELL, "experiment_name": "nightly", "graph": graph}
    assert "Pipeline draft name must be" in _refused(
        api.post("/api/pipelinedrafts/", draft, format="json")
    )

    registered = factories.run_body(snapshot)
    registered["graph"]["steps"][0]["outputs"] = [{"name": "model", "register": {"name": SLASH}}]
    _refused(
        api.post("/api/runs/", registered, format="json"),
        "graph.steps[0].outputs[0].register.name",
    )
    _refused(
        api.post("/api/runs/", factories.run_body(snapshot, tags={NEWLINE: "x"}), format="json"),
        f"tags.{NEWLINE}",
    )

    step = factories.step_in("Running", owner=alice)
    _refused(api.patch(f"/api/steps/{step.id}/tags/", {"k\x07": "v"}, format="json"), "tags.k\x07")


def test_the_sdk_refuses_a_bad_name_before_it_asks_the_server():
    from studio.sdk.core.compute import ComputeTarget
    from studio.sdk.core.dataset import Dataset as SdkDataset
    from studio.sdk.pipeline.core.schedule import Schedule, ScheduleRecurrence

    ws = Workspace(url="http://127.0.0.1:9", token="never-sent")  # nothing listens there
    dataset = SdkDataset.File.from_files(path=[("workspaceblobstore", "data/")])
    with pytest.raises(UserErrorException, match="Dataset name must"):
        dataset.register(ws, SLASH)
    with pytest.raises(UserErrorException, match="Compute target name must"):
        ComputeTarget.create(ws, SLASH, None)
    with pytest.raises(UserErrorException, match="Schedule name must"):
        Schedule.create(ws, NEWLINE, "0" * 32, "nightly", recurrence=ScheduleRecurrence("Day", 1))


def test_pages_answer_for_names_stored_before_the_rules(client, alice):
    Dataset.objects.create(
        name=SLASH, version=1, kind="file", paths=[["workspaceblobstore", "raw"]]
    )
    Datastore.objects.create(name="team/store", kind="local", root="/nonexistent/team-store")
    Experiment.objects.create(name="old/experiment")
    client.force_login(alice)

    datasets = client.get("/datasets/")
    assert datasets.status_code == 200 and b'href="/datasets/team/raw/"' in datasets.content
    assert client.get("/datasets/team/raw/").status_code == 200
    datastores = client.get("/datastores/")
    assert datastores.status_code == 200 and b'href="/datastores/team/store/"' in datastores.content
    experiments = client.get("/experiments/")
    assert experiments.status_code == 200
    assert b'href="/experiments/old/experiment/"' in experiments.content
    assert client.get("/experiments/old/experiment/").status_code == 200


def test_a_page_form_refuses_a_bad_schedule_name(client, alice, snapshot, api):
    graph = factories.run_body(snapshot)["graph"]
    pipeline = api.post(
        "/api/publishedpipelines/", {"name": "p", "graph": graph}, format="json"
    ).json()
    client.force_login(alice)
    page = client.post(
        "/schedules/new/",
        {
            "name": "nightly\x07",
            "target": f"pipeline:{pipeline['id']}",
            "experiment_name": "nightly",
            "kind": "recurrence",
            "frequency": "Day",
            "interval": "1",
            "time_zone": "UTC",
            "missed_policy": "latest",
        },
    )
    assert page.status_code == 400, page.status_code  # the form again, not a redirect
    assert b"Schedule name must be 1 to 255 characters on one line" in page.content
