"""Fuzz the whole API against its own OpenAPI schema with Schemathesis.

Every operation /api/schema/ documents gets Schemathesis' boundary cases and up to
``MAX_EXAMPLES`` generated requests (valid and invalid ones), sent in-process to the WSGI
application with a fresh admin token, and every response goes through all of
Schemathesis' checks: no 5xx, a status code, content type, headers and body the schema
documents, invalid data rejected, valid data accepted, authentication enforced. Path
parameters are half the time swapped for the ids of objects seeded first, so requests
get past the 404s. Run it on PostgreSQL too: SQLite stores NUL characters PostgreSQL refuses.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import hypothesis
import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import strategies as st
from rest_framework.test import APIClient

from pipelines import drafts as pipeline_drafts
from pipelines import services as pipeline_services
from runs import services as run_services
from studio.core.snapshot import build
from studio.workspace import modules, storage
from studio.workspace.models import ApiToken
from tests.budget import FAST, examples

MAX_EXAMPLES = 25

pytestmark = pytest.mark.django_db(transaction=True)

# Every check stays on for every operation. These also expect a 400 for some requests the
# schema calls valid, because what they refuse depends on other objects, on other fields or
# on the server, which a JSON schema cannot say. Such a 400 is still documented, and names
# the field at fault, like any other.
SEMANTIC_400 = [
    # The graph must be a pipeline whose steps name uploaded snapshots, scripts in them...
    "POST /api/runs/",
    "POST /api/publishedpipelines/",
    "POST /api/pipelinedrafts/",
    "PATCH /api/pipelinedrafts/{draft_id}/",
    # ParameterAssignments must name the pipeline's parameters, with values of their types.
    "POST /pipelines/v1.0/PipelineRuns/PipelineSubmit/{pipeline_id}",
    "POST /pipelines/v1.0/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}",
    "POST /pipelines/v1.0/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}/{version}",
    "POST /pipelines/v1.0/PipelineRuns/PipelineEndpointSubmit/Name",
    # Ids and names in the body must name existing pipelines, versions and datastores.
    "POST /api/pipelineendpoints/",
    "POST /api/pipelineendpoints/{endpoint_id}/versions/",
    "POST /api/pipelinedrafts/clone/",
    "POST /api/pipelineendpoints/{endpoint_id}/default/",
    "PATCH /api/pipelineendpoints/{endpoint_id}/",  # a new name must be free
    "PATCH /api/workspace/",  # the default datastore must exist
    "POST /api/datasets/",
    # A requirement line may not name its own source (a path, an index, a version control URL)
    # unless an administrator allows it; a conda spec must read as a package.
    "POST /api/environments/",
    "POST /api/schedules/",
    "PATCH /api/schedules/{schedule_id}/",
    # Fields that depend on each other: hours only with a Day or Week frequency, min_nodes at
    # most max_nodes, a metric value shaped by its kind.
    "POST /api/schedules/preview/",
    "POST /api/computetargets/",
    "POST /api/steps/{step_id}/metrics/",
    "POST /api/runs/{run_id}/metrics/",
    # Tag and property names are 1 to 255 characters, which OpenAPI 3.0 cannot say of keys;
    # a property once set keeps its value.
    "PATCH /api/steps/{step_id}/tags/",
    "PATCH /api/runs/{run_id}/",
    "POST /api/steps/{step_id}/properties/",
    # The tags query is a JSON object of strings, which a string parameter's schema cannot say.
    "GET /api/pipelinedrafts/",
    # The file system's limits (each part of a name at most 255 bytes).
    "PUT /api/steps/{step_id}/files/upload/",
    # A local root must lie under STUDIO_LOCAL_DATASTORE_ROOTS (none here); remote
    # datastores need the settings and credentials of their kind.
    "POST /api/datastores/",
    # A module version's snapshot must be uploaded and hold its script; its arguments name its
    # ports; a new default version must be one of the module's, a new name free.
    "POST /api/modules/{module_id}/versions/",
    "PATCH /api/modules/{module_id}/",
    # The zip must hash to the digest in the path.
    "PUT /api/snapshots/{digest}/upload/",
    # An existing file is only replaced with overwrite=true.
    "PUT /api/datastores/{name}/upload/",
    # A model is registered from files that exist (on the datastore, among the step's files),
    # naming datasets that exist; a property once set keeps its value; only a step's run
    # token records a read.
    "POST /api/models/",
    "POST /api/steps/{step_id}/models/",
    "PATCH /api/models/{name}/{version}/",
    "POST /api/models/{name}/{version}/reads/",
]
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # Schemathesis' default

config = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": examples(MAX_EXAMPLES), "database": "none"},
        # make test-fast: generated requests only; make test adds every boundary case.
        "phases": {"coverage": {"enabled": not FAST}},
        "operations": [
            {
                "include-name": name,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
            }
            for name in SEMANTIC_400
        ],
    }
)

# The document /api/schema/ serves (test_the_served_schema_is_the_one_fuzzed checks that),
# generated here because serving it needs a token, and tokens need the test database,
# which does not exist yet while pytest collects.
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=config
)
schema.app = get_wsgi_application()


@schemathesis.serializer("application/zip")
def zip_body(context, value):
    """Snapshot uploads: the generated bytes, as they are."""
    data = getattr(value, "data", value)
    return {"data": data if isinstance(data, bytes) else str(data).encode()}


# What the ``seed`` fixture made for the current test: the token and real objects' ids.
SEED: dict = {}

# Schemathesis builds its boundary ("coverage") cases, credentials included, while pytest
# collects: they carry this stand-in, which the test swaps for the current token.
COLLECTING = "collecting"


@schema.auth(refresh_interval=None)
class AdminToken:
    """Every case authenticates with the current test's admin token."""

    def get(self, case, context):
        return SEED.get("token", COLLECTING)

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# A ``name`` path parameter names a different kind of object depending on the path.
NAMES = {
    "/api/computetargets/": "local",
    "/api/datastores/": storage.DEFAULT_DATASTORE,
    "/api/experiments/": "fuzz",
    "/api/datasets/by-name/": "fuzz-data",
    "/api/modules/by-name/": "fuzz-module",
    "/api/models/": "fuzz-model",
}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, aim at a real object instead of a random one."""
    if not path_parameters:
        return st.just(path_parameters)

    def aimed():
        real = {**SEED["ids"]}
        for prefix, name in NAMES.items():
            if context.operation.path.startswith(prefix):
                real["name"] = name
        return {key: real.get(key, value) for key, value in path_parameters.items()}

    return st.one_of(st.just(path_parameters), st.builds(aimed))


class _Refuse(BaseHTTPRequestHandler):
    """Any request: a 403, as a cloud store answers credentials it does not know."""

    def _refuse(self):
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _refuse

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def cloud():
    """A stand-in for S3 and Azure that refuses everything at once.

    Registering an s3 or azureblob datastore reaches its endpoint: every such request is
    sent here, not to whatever host the fuzzer made up (nor to AWS or Azure by default),
    and fails fast instead of waiting out retries on an address that does not answer.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # On loopback, so allowed by address and port: datastores reach it as they would a cloud store.
    with override_settings(STUDIO_DATASTORE_ALLOWED_HOSTS=[f"127.0.0.1:{server.server_port}"]):
        yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


GRAPH = {
    "parameters": [{"name": "rate", "type": "float", "default": 0.5}],
    "steps": [
        {
            "node_id": "train",
            "name": "train",
            "script_name": "train.py",
            "arguments": [{"kind": "parameter", "value": "rate"}],
            "outputs": [{"name": "model"}],
        },
        {
            "node_id": "score",
            "name": "score",
            "script_name": "score.py",
            "inputs": [{"name": "model", "source_step": "train", "source_output": "model"}],
        },
    ],
}


@pytest.fixture
def seed(tmp_path):
    """A new superuser with a fresh admin token, and one object of each kind to aim at."""
    admin = get_user_model().objects.create_superuser("fuzz-admin", password="fuzz-password")
    token, secret = ApiToken.issue(admin, "fuzz", scope="admin")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    (tmp_path / "train.py").write_text("print('train')\n")
    (tmp_path / "score.py").write_text("print('score')\n")
    digest, data, _ = build(tmp_path)
    response = api.put(
        f"/api/snapshots/{digest}/upload/", data=data, content_type="application/zip"
    )
    assert response.status_code == 201, response.content

    assert api.post("/api/experiments/", {"name": "fuzz"}, format="json").status_code == 201
    graph = {**GRAPH, "steps": [{**step, "snapshot": digest} for step in GRAPH["steps"]]}
    run = run_services.submit_run(experiment_name="fuzz", graph_data=graph, user=admin, token=token)

    response = api.put(
        f"/api/datastores/{storage.DEFAULT_DATASTORE}/upload/?path=fuzz/a.csv&overwrite=true",
        data=b"a,b\n1,2\n",
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    response = api.post(
        "/api/datasets/",
        {"name": "fuzz-data", "kind": "file", "paths": [[storage.DEFAULT_DATASTORE, "fuzz/*.csv"]]},
        format="json",
    )
    assert response.status_code == 201, response.content

    upload = api.put(
        f"/api/datastores/{storage.DEFAULT_DATASTORE}/upload/?path=fuzz/model.pkl&overwrite=true",
        data=b"weights",
        content_type="application/octet-stream",
    )
    assert upload.status_code == 201, upload.content
    model = api.post(
        "/api/models/",
        {"name": "fuzz-model", "path": "fuzz/model.pkl", "properties": {"auc": "0.9"}},
        format="json",
    )
    assert model.status_code == 201, model.content

    published = pipeline_services.publish_graph(graph=run.graph, name="fuzz-pipeline", user=admin)
    endpoint = pipeline_services.publish_endpoint(
        name="fuzz-endpoint", description="", pipeline=published
    )
    schedule = api.post(
        "/api/schedules/",
        {
            "name": "fuzz-schedule",
            "pipeline_id": str(published.id),
            "experiment_name": "fuzz",
            "recurrence": {"frequency": "Day", "interval": 1},
        },
        format="json",
    )
    assert schedule.status_code == 201, schedule.content
    draft = pipeline_drafts.clone_draft(run, user=admin)
    module = modules.create_module("fuzz-module", "", admin)
    module_version = modules.publish_version(
        module, script_name="train.py", snapshot=digest, version="1", user=admin
    )
    SEED.update(
        token=secret,
        ids={
            "draft_id": str(draft.id),
            "run_id": run.id,
            "step_id": run.steps.order_by("position").first().id,
            "digest": digest,
            "dataset_id": response.json()["id"],
            "pipeline_id": str(published.id),
            "endpoint_id": str(endpoint.id),
            "version": "0",
            "schedule_id": schedule.json()["id"],
            "module_id": str(module.id),
            "version_id": str(module_version.id),
        },
    )
    yield SEED
    SEED.clear()


@schema.parametrize()
@hypothesis.settings(
    deadline=timedelta(seconds=5),
    # The seeded objects are meant to outlive single examples: each operation's examples
    # share them (and whatever earlier examples did to them), as API clients would.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
def test_the_api_conforms_to_its_schema(case, seed, cloud):
    if case.headers and case.headers.get("Authorization") == f"Bearer {COLLECTING}":
        case.headers["Authorization"] = f"Bearer {seed['token']}"
    if case.operation.label == "POST /api/datastores/" and isinstance(case.body, dict):
        case.body.update(endpoint_url=cloud, endpoint=cloud)
    case.call_and_validate()


def test_the_served_schema_is_the_one_fuzzed(seed):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {seed['token']}")
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json() == schema.raw_schema
