"""Roles and ownership: every API route and every page action, tried by each role.

Everyone reads everything; ``submit`` starts runs and changes what its user owns; changing
what another user owns, and the workspace's settings, need ``admin``. The tables below name
every route of the URLconf (a test checks none is missing) with what it needs.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from pipelines import drafts as pipeline_drafts
from pipelines import services as pipeline_services
from pipelines.models import PipelineDraft, PipelineEndpoint, PublishedPipeline, Schedule
from runs.models import Run, StepRun
from studio.core.status import Status
from studio.workspace import models_registry, modules, roles, storage
from studio.workspace.auth import issue_run_token
from studio.workspace.datastores import Store, StoreConfig
from studio.workspace.models import ApiToken, ModelVersion, Module, ModuleVersion
from tests import factories

# What each API route and method needs: read, create (or submit), change (the owner's), administer.
API = {
    "api-published": {"get": "read", "post": "create"},
    "api-published-detail": {"get": "read"},
    "api-published-status": {"post": "change"},
    "api-run-publish": {"post": "create"},
    "api-endpoints": {"get": "read", "post": "create"},
    "api-endpoint": {"get": "read", "patch": "change"},
    "api-endpoint-versions": {"post": "change"},
    "api-endpoint-default": {"post": "change"},
    "api-endpoint-status": {"post": "change"},
    "api-drafts": {"get": "read", "post": "create"},
    "api-draft-clone": {"post": "create"},
    "api-draft": {"get": "read", "patch": "change", "delete": "change"},
    "api-draft-submit": {"post": "create"},
    "api-draft-publish": {"post": "create"},
    "api-schedules": {"get": "read", "post": "create"},
    "api-schedule-preview": {"post": "create"},
    "api-schedule": {"get": "read", "patch": "change"},
    "api-schedule-runs": {"get": "read"},
    "api-schedule-fires": {"get": "read"},
    "api-schedule-run-now": {"post": "create"},
    "api-schedule-status": {"post": "change"},
    "api-workspace": {"get": "read", "patch": "administer"},
    "api-computetargets": {"get": "read", "post": "create"},
    "api-computetarget": {"get": "read"},
    "api-computetarget-status": {"get": "read"},
    "api-datastores": {"get": "read", "post": "administer"},
    "api-datastore": {"get": "read"},
    "api-datastore-files": {"get": "read"},
    "api-datastore-download": {"get": "read"},
    "api-datastore-upload": {"put": "create"},
    "api-datasets": {"get": "read", "post": "create"},
    "api-dataset-by-name": {"get": "read"},
    "api-dataset": {"get": "read"},
    "api-dataset-files": {"get": "read"},
    "api-environments": {"get": "read", "post": "create"},
    "api-environment": {"get": "read"},
    "api-modules": {"get": "read", "post": "create"},
    "api-module-by-name": {"get": "read"},
    "api-module": {"get": "read", "patch": "change"},
    "api-module-publish": {"post": "change"},
    "api-moduleversion": {"get": "read", "patch": "change"},
    "api-snapshots-missing": {"post": "create"},
    "api-snapshot": {"get": "read"},
    "api-snapshot-upload": {"put": "create"},
    "api-experiments": {"get": "read", "post": "create"},
    "api-experiment": {"get": "read"},
    "api-runs": {"get": "read", "post": "create"},
    "api-run": {"get": "read", "patch": "change"},
    "api-run-cancel": {"post": "change"},
    "api-run-rerun-failed": {"post": "create"},
    "api-run-metrics": {"get": "read", "post": "change"},
    "api-step": {"get": "read"},
    "api-step-log": {"get": "read"},
    "api-step-minibatches": {"get": "read"},
    "api-step-metrics": {"get": "read", "post": "change"},
    "api-step-tags": {"patch": "change"},
    "api-step-properties": {"post": "change"},
    "api-step-files": {"get": "read"},
    "api-step-file-upload": {"put": "change"},
    "api-step-file-download": {"get": "read"},
    "api-step-models": {"post": "create"},
    "api-models": {"get": "read", "post": "create"},
    "api-model": {"get": "read", "patch": "change", "delete": "change"},
    "api-model-download": {"get": "read"},
    "api-model-reads": {"post": "create"},
    "api-schema": {"get": "read"},
    "api-search": {"get": "read"},
    "pipeline-submit": {"get": "read", "post": "create"},
    "endpoint-submit": {"get": "read", "post": "create"},
    "endpoint-submit-version": {"get": "read", "post": "create"},
    "endpoint-submit-by-name": {"get": "read", "post": "create"},
}

# What each page needs to be seen (GET) and to act (POST). Sign-in pages are for everyone.
PAGES = {
    "home": {"get": "read"},
    "search": {"get": "read"},
    "datastores": {"get": "read"},
    "datastore-detail": {"get": "read"},
    "datastore-download": {"get": "read"},
    "datasets": {"get": "read"},
    "dataset-detail": {"get": "read"},
    "run-publish": {"get": "read", "post": "create"},
    "run-resubmit": {"get": "read", "post": "create"},
    "published-list": {"get": "read"},
    "published-detail": {"get": "read"},
    "published-submit": {"post": "create"},
    "published-status": {"post": "change"},
    "draft-list": {"get": "read"},
    "draft-detail": {"get": "read"},
    "draft-submit": {"post": "create"},
    "draft-publish": {"post": "create"},
    "draft-delete": {"post": "change"},
    "endpoint-list": {"get": "read"},
    "endpoint-detail": {"get": "read"},
    "endpoint-default": {"post": "change"},
    "endpoint-submit-form": {"post": "create"},
    "endpoint-status": {"post": "change"},
    "schedule-list": {"get": "read"},
    "schedule-create": {"get": "create", "post": "create"},
    "schedule-preview": {"post": "read"},
    "schedule-detail": {"get": "read"},
    "schedule-edit": {"get": "change", "post": "change"},
    "schedule-toggle": {"post": "change"},
    "schedule-run-now": {"post": "create"},
    "module-list": {"get": "read"},
    "module-detail": {"get": "read"},
    "module-default": {"post": "change"},
    "module-status": {"post": "change"},
    "module-version-status": {"post": "change"},
    "api-docs": {"get": "read"},
    "tokens": {"get": "read", "post": "read"},
    "token-revoke": {"post": "read"},
    "experiments": {"get": "read"},
    "experiment-runs": {"get": "read"},
    "runs": {"get": "read"},
    "compare": {"get": "read"},
    "run-detail": {"get": "read"},
    "run-timeline": {"get": "read"},
    "run-cancel": {"post": "change"},
    "run-update": {"post": "change"},
    "run-rerun-failed": {"post": "create"},
    "run-log-search": {"get": "read"},
    "step-file": {"get": "read"},
    "step-notebook": {"get": "read"},
    "step-log-tail": {"get": "read"},
    "step-log-download": {"get": "read"},
    "compute-targets": {"get": "read"},
    "environments": {"get": "read"},
    "models": {"get": "read"},
    "model-detail": {"get": "read"},
    "model-compare": {"get": "read"},
    "model-file": {"get": "read"},
}
PUBLIC = {"login", "logout", None}  # None: the API's JSON 404 for unknown paths

# Who may do what: the owner of the objects is alice; bob is another submitter.
ALLOWED = {
    "read": {"reader", "bob", "alice", "admin"},
    "create": {"bob", "alice", "admin"},
    "change": {"alice", "admin"},
    "administer": {"admin"},
}
ACTORS = ("reader", "bob", "alice", "admin")


def _route_names() -> set:
    names = set()

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns)
            elif isinstance(p, URLPattern):
                names.add(p.name)

    walk(get_resolver().url_patterns)
    return names


def test_the_tables_name_every_route():
    assert _route_names() - PUBLIC == set(API) | set(PAGES)


@pytest.fixture
def world(db, tmp_path):
    """Users of each role, and one object of each kind owned by alice."""
    reader = factories.user("reader")
    reader.groups.add(Group.objects.get_or_create(name=roles.READERS_GROUP)[0])
    people = {
        "reader": reader,
        "bob": factories.user("bob"),
        "alice": factories.user("alice"),
        "admin": factories.user("root", superuser=True),
    }
    alice = people["alice"]
    api = factories.client_for(alice)
    digest = factories.uploaded_snapshot(api, tmp_path)
    run = factories.submitted(
        {"steps": [factories.step("a", script="train.py", digest=digest)]}, alice
    )
    step = run.steps.get()
    pipeline = pipeline_services.publish_graph(graph=run.graph, name="p", user=alice)
    endpoint = pipeline_services.publish_endpoint(
        name="ep", description="", pipeline=pipeline, user=alice
    )
    schedule = api.post(
        "/api/schedules/",
        {
            "name": "nightly",
            "pipeline_id": str(pipeline.id),
            "experiment_name": "nightly",
            "recurrence": {"frequency": "Day", "interval": 1},
        },
        format="json",
    )
    assert schedule.status_code == 201, schedule.content
    draft = pipeline_drafts.clone_draft(run, user=alice)
    module = modules.create_module("calc", "adds", alice)
    module_version = modules.publish_version(
        module, script_name="train.py", snapshot=digest, version="1", user=alice
    )
    token, _ = ApiToken.issue(alice, "mine", scope="read")
    source = tmp_path / "model"
    source.mkdir()
    (source / "model.pkl").write_bytes(b"weights")
    models_registry.register_model(
        name="m",
        source=Store(StoreConfig(name="upload", kind="local", root=str(source))),
        source_path="model.pkl",
        user=alice,
    )
    ids = {
        "draft_id": str(draft.id),
        "pipeline_id": str(pipeline.id),
        "endpoint_id": str(endpoint.id),
        "schedule_id": schedule.json()["id"],
        "run_id": run.id,
        "step_id": step.id,
        "digest": digest,
        "name": storage.DEFAULT_DATASTORE,
        "dataset_id": str(uuid.uuid4()),
        "version": "0",
        "action": "disable",
        "token_id": token.id,
        "module_id": str(module.id),
        "version_id": str(module_version.id),
    }
    return {"people": people, "ids": ids, "run": run, "pipeline": pipeline, "endpoint": endpoint}


def _url(name: str, ids: dict) -> str:
    from django.urls import reverse

    pattern = next(
        p
        for p in _patterns()
        if p.name == name  # the first pattern of that name
    )
    keys = list(pattern.pattern.regex.groupindex) or _converters(pattern)
    kwargs = {k: ids[k] for k in keys}
    if name in ("dataset-detail", "experiment-runs"):
        kwargs = {"name": "anything"}
    if "model" in name and "name" in kwargs:
        kwargs = {**kwargs, "name": "m", **({"version": 1} if "version" in kwargs else {})}
    return reverse(name, kwargs=kwargs)


def _patterns():
    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns)
            else:
                yield p

    return list(walk(get_resolver().url_patterns))


def _converters(pattern) -> list:
    return list(getattr(pattern.pattern, "converters", {}))


def _api_client(user) -> APIClient:
    return factories.client_for(user)


def _changed(world) -> tuple:
    """What a refused change must leave as it was."""
    run = Run.objects.get(id=world["run"].id)
    return (
        run.status,
        run.display_name,
        run.tags,
        PublishedPipeline.objects.get(id=world["pipeline"].id).status,
        PipelineEndpoint.objects.get(id=world["endpoint"].id).status,
        PipelineEndpoint.objects.get(id=world["endpoint"].id).name,
        Schedule.objects.get(id=world["ids"]["schedule_id"]).status,
        list(PipelineDraft.objects.values_list("id", "name")),
        list(StepRun.objects.filter(run=run).values_list("tags", "properties")),
        list(Module.objects.values_list("name", "status", "default_version")),
        list(ModuleVersion.objects.values_list("version", "status")),
        list(ModelVersion.objects.values_list("version", "tags", "description")),
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_every_api_route_by_role(world, actor):
    client = _api_client(world["people"][actor])
    for name, methods in API.items():
        url = _url(name, world["ids"])
        if name == "endpoint-submit-by-name":
            url += "?name=ep"
        for method, need in methods.items():
            before = _changed(world)
            if method == "put":
                response = client.put(url, b"", content_type="application/octet-stream")
            else:
                response = getattr(client, method)(url, {}, format="json")
            allowed = actor in ALLOWED[need]
            assert (response.status_code == 403) != allowed, (
                actor,
                method,
                url,
                response.status_code,
                response.content[:300],
            )
            if not allowed:
                assert response.json()["error"]["code"] == "permission_denied"
                assert _changed(world) == before, (actor, method, url)


@pytest.mark.parametrize("actor", ACTORS)
def test_every_page_and_page_action_by_role(world, actor):
    client = Client()
    client.force_login(world["people"][actor])
    for name, methods in PAGES.items():
        url = _url(name, world["ids"])
        for method, need in methods.items():
            before = _changed(world)
            response = getattr(client, method)(url, {})
            allowed = actor in ALLOWED[need]
            assert (response.status_code == 403) != allowed, (actor, method, url, response)
            if not allowed:
                assert _changed(world) == before, (actor, method, url)
                assert b"Not allowed" in response.content


def test_the_owner_cancels_and_another_submitter_cannot(world):
    people, run = world["people"], world["run"]
    refused = _api_client(people["bob"]).post(f"/api/runs/{run.id}/cancel/")
    assert refused.status_code == 403
    assert (
        refused.json()["error"]["message"] == "Only its owner (alice) or an admin may change this."
    )
    assert Run.objects.get(id=run.id).status != Status.CANCELED
    assert _api_client(people["alice"]).post(f"/api/runs/{run.id}/cancel/").status_code == 200
    assert Run.objects.get(id=run.id).status in (Status.CANCELED, Status.CANCEL_REQUESTED)


def test_an_admin_disables_what_another_user_published(world):
    pipeline = world["pipeline"]
    bob = _api_client(world["people"]["bob"])
    assert bob.post(f"/api/publishedpipelines/{pipeline.id}/disable/").status_code == 403
    assert PublishedPipeline.objects.get(id=pipeline.id).status == "Active"
    admin = _api_client(world["people"]["admin"])
    assert admin.post(f"/api/publishedpipelines/{pipeline.id}/disable/").status_code == 200
    assert PublishedPipeline.objects.get(id=pipeline.id).status == "Disabled"


def test_the_submit_token_of_the_tokens_page_cannot_administer(world):
    """The Tokens page's default scope is submit: it may not register a datastore, even for an
    admin's account; an admin token of an account without the admin role acts as submit."""
    admin, alice = world["people"]["admin"], world["people"]["alice"]
    body = {"name": "lake", "kind": "s3", "bucket": "b", "endpoint_url": "http://127.0.0.1:9/"}
    submit = factories.client_for(admin, scope="submit")
    assert submit.post("/api/datastores/", body, format="json").status_code == 403
    capped = factories.client_for(alice, scope="admin")  # issued before a role change, say
    response = capped.post("/api/datastores/", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Your account has the submit role: this needs the admin role."
    )


def test_a_pipeline_limited_token_reads_only_its_own_pipeline(world):
    alice, pipeline = world["people"]["alice"], world["pipeline"]
    other = pipeline_services.publish_graph(graph=world["run"].graph, name="other", user=alice)
    _, secret = ApiToken.issue(alice, "limited", scope="submit", pipeline=pipeline)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = "/pipelines/v1.0/PipelineRuns/PipelineSubmit/"
    assert client.get(f"{base}{pipeline.id}").status_code == 200
    refused = client.get(f"{base}{other.id}")
    assert refused.status_code == 403
    assert "limited to another" in refused.json()["error"]["message"]
    assert client.get(f"/api/publishedpipelines/{other.id}/").status_code == 403


def test_a_run_token_stops_working_when_its_step_attempt_ends(world):
    alice, run = world["people"]["alice"], world["run"]
    step = run.steps.get()
    StepRun.objects.filter(id=step.id).update(status=Status.RUNNING, attempt=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_run_token(step.id, 1, alice.id)}")
    metrics = f"/api/steps/{step.id}/metrics/"
    assert client.post(metrics, {"name": "loss", "value": 1}, format="json").status_code == 201
    StepRun.objects.filter(id=step.id).update(attempt=2)  # retried: the old attempt's token ends
    assert client.post(metrics, {"name": "loss", "value": 2}, format="json").status_code == 403
    StepRun.objects.filter(id=step.id).update(attempt=1, status=Status.COMPLETED)
    refused = client.get(f"/api/runs/{run.id}/")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "This run token's step attempt has ended."


def test_tokens_are_at_most_their_accounts_role(world):
    reader = world["people"]["reader"]
    with pytest.raises(CommandError, match="at most that scope"):
        call_command("createtoken", "t", user="reader", scope="submit")
    call_command("createtoken", "t", user="reader")
    assert ApiToken.objects.get(user=reader, name="t").scope == "read"
    client = Client()
    client.force_login(reader)
    page = client.get("/tokens/")
    assert b'value="submit"' not in page.content and b'value="read"' in page.content
    client.post("/tokens/", {"name": "sneaky", "scope": "admin"})
    assert not ApiToken.objects.filter(name="sneaky").exists()


def test_createuser_gives_each_role(db, capsys):
    from django.contrib.auth import get_user_model

    for name, role in (("r", "read"), ("s", "submit"), ("a", "admin")):
        call_command("createuser", name, role=role)
        assert roles.account_role(get_user_model().objects.get(username=name)) == role
    call_command("createuser", "a", role="read")  # an existing user: its role changes
    assert roles.account_role(get_user_model().objects.get(username="a")) == "read"
    assert "Password (shown once)" in capsys.readouterr().out


def test_buttons_show_only_what_the_user_may_do(world):
    run, pipeline = world["run"], world["pipeline"]
    for actor, shown in (("bob", False), ("alice", True), ("admin", True)):
        client = Client()
        client.force_login(world["people"][actor])
        page = client.get(f"/runs/{run.id}/").content.decode()
        assert (f"/runs/{run.id}/cancel/" in page) is shown, actor
        page = client.get(f"/pipelines/{pipeline.id}/").content.decode()
        assert (">Disable</button>" in page) is shown, actor
