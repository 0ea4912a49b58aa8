"""Pipeline drafts: the REST API the SDK calls (and its refusals, naming the field), and the
Drafts pages (list, detail, typed Submit, Publish, Delete)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from pipelines import services as pipeline_services
from pipelines.models import PipelineDraft, PublishedPipeline
from runs.models import Run
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def body(snapshot) -> dict:
    """A draft of the two-step pipeline (train with ``rate``, then score)."""
    graph = factories.run_body(snapshot)["graph"]
    graph["parameters"].append({"name": "epochs", "type": "int", "default": 3})
    return {
        "name": "nightly train",
        "description": "draft description",
        "experiment_name": "helloworld",
        "graph": graph,
        "pipeline_parameters": {"rate": "0.25"},
        "continue_on_step_failure": True,
        "tags": {"dev": "true"},
        "properties": {"train": "value"},
    }


@pytest.fixture
def draft(api, body) -> dict:
    answer = api.post("/api/pipelinedrafts/", body, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def _refused(response, field: str, status: int = 400) -> str:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["field"] == field, error
    return error["message"]


def test_a_draft_keeps_its_graph_and_settings(api, draft, snapshot):
    assert draft["name"] == "nightly train" and draft["experiment_name"] == "helloworld"
    assert draft["pipeline_parameters"] == {"rate": 0.25}  # coerced to the declared float
    assert draft["continue_on_step_failure"] is True
    assert (draft["tags"], draft["properties"]) == ({"dev": "true"}, {"train": "value"})
    assert draft["step_names"] == ["train", "score"]
    assert draft["graph"]["steps"][0]["snapshot"] == snapshot
    assert draft["last_submitted_pipeline_run_id"] is None and draft["run_ids"] == []
    assert api.get(f"/api/pipelinedrafts/{draft['id']}/").json()["graph"] == draft["graph"]


def test_the_list_filters_by_tags(api, draft):
    def ids(**query):
        answer = api.get("/api/pipelinedrafts/", query)
        assert answer.status_code == 200, answer.content
        return [d["id"] for d in answer.json()]

    assert ids() == [draft["id"]]
    assert ids(tags=json.dumps({"dev": "true"})) == [draft["id"]]
    assert ids(tags=json.dumps({"dev": "false"})) == []
    assert "JSON object" in _refused(api.get("/api/pipelinedrafts/", {"tags": "dev"}), "tags")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "two\nlines"}, "name", "Pipeline draft name must be 1 to 255 characters"),
        ({"experiment_name": "../up"}, "experiment_name", "Experiment name must start"),
        (
            {"pipeline_parameters": {"speed": 1}},
            "pipeline_parameters.speed",
            "Pipeline parameter with name speed does not exist",
        ),
        (
            {"pipeline_parameters": {"epochs": "many"}},
            "pipeline_parameters.epochs",
            "Expected type of the pipeline parameter epochs is int",
        ),
        ({"tags": {"dev": 1}}, "tags", "string"),
        ({"continue_on_step_failure": "maybe"}, "continue_on_step_failure", ""),
        ({"graph": []}, "graph", "graph must be an object."),
    ],
)
def test_a_bad_draft_is_refused_naming_the_field(api, body, change, field, message):
    answer = api.post("/api/pipelinedrafts/", {**body, **change}, format="json")
    assert message in _refused(answer, field)
    assert not PipelineDraft.objects.exists()


def test_a_graph_naming_an_unknown_snapshot_is_refused(api, body):
    body["graph"]["steps"][0]["snapshot"] = "d" * 64
    answer = api.post("/api/pipelinedrafts/", body, format="json")
    _refused(answer, "graph.steps[0].snapshot")


def test_an_update_changes_what_is_given(api, draft, body):
    url = f"/api/pipelinedrafts/{draft['id']}/"
    answer = api.patch(url, {"pipeline_parameters": {"rate": 0.25, "epochs": 5}}, format="json")
    assert answer.json()["pipeline_parameters"] == {"rate": 0.25, "epochs": 5}
    graph = body["graph"]
    graph["parameters"] = [{"name": "rate", "type": "float", "default": 9.0}]
    answer = api.patch(url, {"name": "renamed", "graph": graph}, format="json")
    assert answer.status_code == 200, answer.content
    changed = answer.json()
    assert changed["name"] == "renamed" and changed["experiment_name"] == "helloworld"
    # The value of rate still fits; epochs is no longer declared and goes.
    assert changed["pipeline_parameters"] == {"rate": 0.25}
    assert changed["graph_draft_id"] != draft["graph_draft_id"]
    graph["parameters"] = [{"name": "rate", "type": "int", "default": 1}]
    answer = api.patch(url, {"graph": graph}, format="json")
    assert answer.json()["pipeline_parameters"] == {}  # 0.25 is no int: the default applies

    answer = api.patch(
        url, {"tags": {"dev": "false"}, "continue_on_step_failure": False}, format="json"
    )
    assert answer.json()["tags"] == {"dev": "false"}
    assert answer.json()["continue_on_step_failure"] is False
    assert "does not exist" in _refused(
        api.patch(url, {"pipeline_parameters": {"epochs": 2}}, format="json"),
        "pipeline_parameters.epochs",
    )
    assert "Experiment name" in _refused(
        api.patch(url, {"experiment_name": "a b"}, format="json"), "experiment_name"
    )


def test_only_its_owner_or_an_admin_changes_or_deletes_a_draft(draft, bob, admin_api):
    url = f"/api/pipelinedrafts/{draft['id']}/"
    other = factories.client_for(bob)
    assert other.patch(url, {"name": "mine"}, format="json").status_code == 403
    assert other.delete(url).status_code == 403
    assert PipelineDraft.objects.get().name == "nightly train"
    assert admin_api.patch(url, {"name": "fixed"}, format="json").status_code == 200
    assert admin_api.delete(url).status_code == 204
    assert not PipelineDraft.objects.exists()


def test_a_submitted_run_has_the_drafts_settings_and_is_recorded(api, draft, bob):
    answer = factories.client_for(bob).post(
        f"/api/pipelinedrafts/{draft['id']}/submit/", {}, format="json"
    )
    assert answer.status_code == 201, answer.content
    run = Run.objects.get(id=answer.json()["id"])
    assert run.experiment.name == "helloworld"
    assert run.parameters == {"rate": 0.25, "epochs": 3}
    assert run.continue_on_step_failure is True
    assert (run.tags, run.properties) == ({"dev": "true"}, {"train": "value"})
    assert run.source == {"pipeline_draft": {"id": draft["id"], "name": "nightly train"}}
    assert run.created_by == bob

    other = api.post(
        f"/api/pipelinedrafts/{draft['id']}/submit/", {"experiment_name": "other"}, format="json"
    )
    again = api.get(f"/api/pipelinedrafts/{draft['id']}/").json()
    assert again["last_submitted_pipeline_run_id"] == other.json()["id"]
    assert again["run_ids"] == [other.json()["id"], run.id]
    assert Run.objects.get(id=other.json()["id"]).experiment.name == "other"


def test_publishing_makes_the_drafts_values_the_defaults(api, draft):
    answer = api.post(f"/api/pipelinedrafts/{draft['id']}/publish/", {}, format="json")
    assert answer.status_code == 201, answer.content
    published = answer.json()
    assert published["name"] == "nightly train" and published["description"] == "draft description"
    assert published["parameters"] == [
        {"name": "rate", "type": "float", "default": 0.25},
        {"name": "epochs", "type": "int", "default": 3},
    ]
    assert published["continue_on_step_failure"] is True
    named = api.post(
        f"/api/pipelinedrafts/{draft['id']}/publish/", {"name": "v2", "version": "2"}, format="json"
    ).json()
    assert (named["name"], named["version"]) == ("v2", "2")
    assert PipelineDraft.objects.filter(id=draft["id"]).exists()


def test_a_draft_is_cloned_from_a_run_a_published_pipeline_or_a_draft(api, alice, draft):
    clone = api.post(
        "/api/pipelinedrafts/clone/", {"pipeline_draft_id": draft["id"]}, format="json"
    )
    assert clone.status_code == 201, clone.content
    assert clone.json()["parent_pipeline_draft_id"] == draft["id"]
    assert clone.json()["pipeline_parameters"] == {"rate": 0.25}

    run = Run.objects.get(
        id=api.post(f"/api/pipelinedrafts/{draft['id']}/submit/", {}, format="json").json()["id"]
    )
    from_run = api.post("/api/pipelinedrafts/clone/", {"pipeline_run_id": run.id}, format="json")
    assert from_run.json()["parent_pipeline_run_id"] == run.id
    assert from_run.json()["parent_step_run_ids"] == [s.id for s in run.steps.order_by("position")]
    assert from_run.json()["experiment_name"] == "helloworld"

    pipeline = pipeline_services.publish_graph(graph=run.graph, name="Nightly: v1", user=alice)
    from_published = api.post(
        "/api/pipelinedrafts/clone/", {"published_pipeline_id": str(pipeline.id)}, format="json"
    ).json()
    assert from_published["parent_pipeline_id"] == str(pipeline.id)
    assert from_published["experiment_name"] == "Nightly-v1"

    assert "No pipeline run" in _refused(
        api.post("/api/pipelinedrafts/clone/", {"pipeline_run_id": "nope"}, format="json"),
        "pipeline_run_id",
    )
    assert "exactly one" in _refused(
        api.post("/api/pipelinedrafts/clone/", {}, format="json"), "pipeline_draft_id"
    )


def test_an_unknown_draft_is_not_found(api):
    assert api.get("/api/pipelinedrafts/nope/").status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.post(f"/api/pipelinedrafts/{missing}/submit/", {}, format="json").status_code == 404


# --- pages ----------------------------------------------------------------------------------


@pytest.fixture
def page(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_list_shows_each_draft_with_its_last_run_and_run_count(
    api, page, draft, django_assert_max_num_queries
):
    run_id = api.post(f"/api/pipelinedrafts/{draft['id']}/submit/", {}, format="json").json()["id"]
    with django_assert_max_num_queries(8):
        html = page.get(reverse("draft-list")).content.decode()
    assert reverse("draft-detail", args=[draft["id"]]) in html
    assert "nightly train" in html and "helloworld" in html
    assert "<td>1</td>" in html and reverse("run-detail", args=[run_id]) in html
    assert f"{Run.objects.get(id=run_id).status}</span>" in html


def test_the_page_submits_with_typed_values_and_refuses_a_bad_one(page, draft):
    url = reverse("draft-detail", args=[draft["id"]])
    html = page.get(url).content.decode()
    assert 'id="graph-data"' in html and "epochs" in html and "0.25" in html
    form = {"experiment_name": "from-page", "description": "", "param_rate": "0.5"}
    refused = page.post(reverse("draft-submit", args=[draft["id"]]), {**form, "param_epochs": "x"})
    assert refused.status_code == 400
    assert "Expected type of the pipeline parameter epochs is int" in refused.content.decode()
    assert not Run.objects.exists()

    done = page.post(reverse("draft-submit", args=[draft["id"]]), {**form, "param_epochs": "7"})
    run = Run.objects.get()
    assert done.status_code == 302 and done.url == reverse("run-detail", args=[run.id])
    assert run.parameters == {"rate": 0.5, "epochs": 7} and run.run_source == "Studio"
    assert PipelineDraft.objects.get().pipeline_parameters == {"rate": 0.25}  # the draft stays
    run_page = page.get(done.url).content.decode()
    assert "Submitted from" in run_page and url in run_page


def test_the_page_publishes_and_deletes(page, draft, bob):
    answer = page.post(
        reverse("draft-publish", args=[draft["id"]]),
        {"publish-name": "from the page", "publish-description": "", "publish-version": "1"},
    )
    pipeline = PublishedPipeline.objects.get()
    assert answer.url == reverse("published-detail", args=[pipeline.id])
    assert pipeline.graph.spec["parameters"][0]["default"] == 0.25

    refused = page.post(reverse("draft-publish", args=[draft["id"]]), {"publish-name": ""})
    assert refused.status_code == 400 and PublishedPipeline.objects.count() == 1

    other = Client()
    other.force_login(bob)
    assert (
        "Delete draft"
        not in other.get(reverse("draft-detail", args=[draft["id"]])).content.decode()
    )
    assert other.post(reverse("draft-delete", args=[draft["id"]])).status_code == 403
    assert page.post(reverse("draft-delete", args=[draft["id"]])).url == reverse("draft-list")
    assert not PipelineDraft.objects.exists()
    assert PublishedPipeline.objects.exists()
