"""The global search (studio/search.py): what it finds by name or id, one bounded query per kind,
and only what the request may read."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.test import RequestFactory

from pipelines import drafts as pipeline_drafts
from pipelines import services as pipeline_services
from runs.models import Run
from studio.search import search_workspace
from studio.workspace.models import ApiToken, Dataset, Datastore
from studio.workspace.roles import READERS_GROUP
from tests import factories

pytestmark = pytest.mark.django_db


def _request(user, token: ApiToken | None = None):
    request = RequestFactory().get("/search/")
    request.user = user
    if token is not None:
        request.auth = token
    return request


@pytest.fixture
def alice():
    return factories.user("alice")


@pytest.fixture
def workspace(alice):
    """Two churn runs, a fraud run, a pipeline published from one, an endpoint, datasets."""
    churn = factories.submitted(factories.chain("a"), alice, experiment="churn-nightly")
    factories.submitted(factories.chain("a"), alice, experiment="churn-nightly")
    fraud = factories.submitted(
        factories.chain("a"), alice, experiment="fraud", description="weekly churn check"
    )
    churn_pipeline = pipeline_services.publish_run(churn, user=alice, name="churn scoring")
    fraud_pipeline = pipeline_services.publish_run(fraud, user=alice, name="fraud scoring")
    endpoint = pipeline_services.publish_endpoint(
        name="fraud-endpoint", description="", pipeline=fraud_pipeline, user=alice
    )
    for version in (1, 2):
        Dataset.objects.create(
            name="churn-raw", version=version, kind="tabular", paths=[["workspaceblobstore", "c"]]
        )
    Datastore.objects.get_or_create(name="churnstore", defaults={"kind": "local"})
    return {
        "churn": churn,
        "fraud": fraud,
        "churn_pipeline": churn_pipeline,
        "fraud_pipeline": fraud_pipeline,
        "endpoint": endpoint,
    }


def _titles(results, kind: str) -> list[str]:
    return [hit.title for hit in results.groups.get(kind, [])]


def test_it_finds_runs_by_experiment_description_number_and_id(alice, workspace):
    found = search_workspace(_request(alice), "churn")
    # Two runs of churn-nightly and the fraud run described "weekly churn check", newest first.
    assert _titles(found, "Runs") == [
        "Run 1 of fraud",
        "Run 2 of churn-nightly",
        "Run 1 of churn-nightly",
    ]
    assert _titles(found, "Experiments") == ["churn-nightly"]
    assert _titles(found, "Published pipelines") == ["churn scoring"]
    assert _titles(found, "Datasets") == ["churn-raw"]  # one hit per name, the latest version
    assert found.groups["Datasets"][0].detail == "Tabular · version 2"
    assert _titles(found, "Datastores") == ["churnstore"]
    assert "Pipeline endpoints" not in found.groups

    run = workspace["churn"]
    by_id = search_workspace(_request(alice), run.id[:8])
    assert [hit.ident for hit in by_id.groups["Runs"]] == [run.id]
    assert by_id.groups["Runs"][0].url == f"/runs/{run.id}/"
    assert _titles(search_workspace(_request(alice), "run 2"), "Runs") == ["Run 2 of churn-nightly"]
    assert _titles(search_workspace(_request(alice), "#2"), "Runs") == ["Run 2 of churn-nightly"]


def test_it_finds_pipelines_endpoints_and_datasets_by_their_full_id(alice, workspace):
    endpoint = workspace["endpoint"]
    found = search_workspace(_request(alice), str(endpoint.id))
    assert [hit.url for hit in found.groups["Pipeline endpoints"]] == [f"/endpoints/{endpoint.id}/"]
    pipeline = workspace["churn_pipeline"]
    found = search_workspace(_request(alice), str(pipeline.id).upper())
    assert _titles(found, "Published pipelines") == ["churn scoring"]
    dataset = Dataset.objects.get(name="churn-raw", version=1)
    assert _titles(search_workspace(_request(alice), str(dataset.id)), "Datasets") == ["churn-raw"]


def test_it_finds_drafts_by_name_and_full_id(alice, workspace):
    draft = pipeline_drafts.clone_draft(workspace["churn"], user=alice)
    found = search_workspace(_request(alice), "CHURN-night")
    assert _titles(found, "Pipeline drafts") == ["churn-nightly"]
    assert found.groups["Pipeline drafts"][0].url == f"/drafts/{draft.id}/"
    assert found.groups["Pipeline drafts"][0].detail == "experiment churn-nightly"
    assert _titles(search_workspace(_request(alice), str(draft.id)), "Pipeline drafts") == [
        "churn-nightly"
    ]


def test_it_shows_at_most_the_limit_per_kind_and_says_there_is_more(alice, workspace):
    found = search_workspace(_request(alice), "churn", limit=2)
    assert len(found.groups["Runs"]) == 2
    assert found.more == {"Runs"}


def test_it_makes_one_query_per_kind_whatever_it_finds(alice, workspace, django_assert_num_queries):
    for _ in range(10):
        factories.submitted(factories.chain("a"), alice, experiment="churn-nightly")
    # The account's role, then runs, experiments, pipelines, drafts, endpoints, datasets,
    # datastores.
    with django_assert_num_queries(8):
        found = search_workspace(_request(alice), "churn", limit=50)
    assert len(found.groups["Runs"]) == 13


def test_an_empty_query_finds_nothing_without_asking_the_database(alice, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert search_workspace(_request(alice), "   ").groups == {}


def test_a_reader_finds_everything(workspace):
    reader = factories.user("rita")
    reader.groups.add(Group.objects.get_or_create(name=READERS_GROUP)[0])
    found = search_workspace(_request(reader), "scoring")
    assert _titles(found, "Published pipelines") == ["fraud scoring", "churn scoring"]


def test_nobody_signed_out_finds_anything(workspace):
    assert search_workspace(_request(AnonymousUser()), "churn").groups == {}


def test_a_token_limited_to_a_pipeline_finds_only_that_pipeline(alice, workspace):
    token, _ = ApiToken.issue(alice, "ci", scope="submit", pipeline=workspace["churn_pipeline"])
    found = search_workspace(_request(alice, token), "scoring")
    assert list(found.groups) == ["Published pipelines"]
    assert _titles(found, "Published pipelines") == ["churn scoring"]
    assert search_workspace(_request(alice, token), "churn").groups.keys() == {
        "Published pipelines"
    }
    assert Run.objects.count() == 3  # runs exist, yet the token finds none


def test_a_token_limited_to_an_endpoint_finds_it_and_its_pipelines(alice, workspace):
    token, _ = ApiToken.issue(alice, "ci", scope="submit", endpoint=workspace["endpoint"])
    found = search_workspace(_request(alice, token), "fraud")
    assert _titles(found, "Pipeline endpoints") == ["fraud-endpoint"]
    assert _titles(found, "Published pipelines") == ["fraud scoring"]
    assert list(search_workspace(_request(alice, token), "churn").groups) == []


def test_the_search_page_lists_the_hits_and_the_dropdown_is_a_fragment(client, alice, workspace):
    client.force_login(alice)
    page = client.get("/search/", {"q": "churn"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "<html" in text and "Run 2 of churn-nightly" in text and "churnstore" in text
    dropdown = client.get("/search/", {"q": "churn"}, HTTP_HX_REQUEST="true")
    fragment = dropdown.content.decode()
    assert "<html" not in fragment and "churn scoring" in fragment
    assert "/search/?q=churn" in fragment  # the link to every result


def test_the_search_page_needs_a_sign_in(client):
    assert client.get("/search/", {"q": "x"}).status_code == 302


def test_search_escapes_what_it_shows(client, alice):
    factories.submitted(factories.chain("a"), alice, experiment="x", description="<b>bold</b>")
    client.force_login(alice)
    text = client.get("/search/", {"q": "bold"}).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "<b>bold" not in text


def test_the_api_answers_with_what_a_limited_token_may_read(alice, workspace):
    from rest_framework.test import APIClient

    _, secret = ApiToken.issue(alice, "ci", scope="submit", pipeline=workspace["churn_pipeline"])
    limited = APIClient()
    limited.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    answer = limited.get("/api/search/", {"q": "scoring"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["results"] == {
        "Published pipelines": [
            {
                "title": "churn scoring",
                "detail": "Active",
                "id": str(workspace["churn_pipeline"].id),
                "url": f"/pipelines/{workspace['churn_pipeline'].id}/",
            }
        ]
    }
    everyone = factories.client_for(alice, scope="read")
    answer = everyone.get("/api/search/", {"q": "churn", "limit": "1"}).json()
    assert list(answer["results"]) == [
        "Runs",
        "Experiments",
        "Published pipelines",
        "Datasets",
        "Datastores",
    ]
    assert answer["more"] == ["Runs"]
    assert APIClient().get("/api/search/", {"q": "churn"}).status_code in (401, 403)


def test_the_api_refuses_a_bad_limit(alice):
    client = factories.client_for(alice, scope="read")
    assert client.get("/api/search/", {"q": "x", "limit": "null"}).status_code == 400
    assert client.get("/api/search/", {"q": "x", "limit": "51"}).status_code == 400
    assert client.get("/api/search/", {"q": "x", "limit": "50"}).status_code == 200
