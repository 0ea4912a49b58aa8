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

from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import strategies as st
from rest_framework.test import APIClient

from pipelines import services as pipeline_services
from runs import services as run_services
from studio import storage
from studio.models import ApiToken
from studio.sdk.snapshot import build

MAX_EXAMPLES = 25

pytestmark = pytest.mark.django_db(transaction=True)

# The document /api/schema/ serves (test_the_served_schema_is_the_one_fuzzed checks that),
# generated here because serving it needs a token, and tokens need the test database,
# which does not exist yet while pytest collects.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()
schema.config.generation.update(max_examples=MAX_EXAMPLES, database="none")

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

    published = pipeline_services.publish_graph(graph=run.graph, name="fuzz-pipeline", user=admin)
    endpoint = pipeline_services.publish_endpoint(
        name="fuzz-endpoint", description="", pipeline=published
    )
    SEED.update(
        token=secret,
        ids={
            "run_id": run.id,
            "step_id": run.steps.order_by("position").first().id,
            "digest": digest,
            "dataset_id": response.json()["id"],
            "pipeline_id": str(published.id),
            "endpoint_id": str(endpoint.id),
            "version": "0",
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
def test_the_api_conforms_to_its_schema(case, seed):
    if case.headers and case.headers.get("Authorization") == f"Bearer {COLLECTING}":
        case.headers["Authorization"] = f"Bearer {seed['token']}"
    case.call_and_validate()


def test_the_served_schema_is_the_one_fuzzed(seed):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {seed['token']}")
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json() == schema.raw_schema
