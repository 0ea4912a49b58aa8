"""Publishing and the REST endpoint, end to end with a real worker."""

from __future__ import annotations

import uuid

import pytest
import requests

from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline, PipelineEndpoint, PipelineRun, PublishedPipeline
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT, wait_until

pytestmark = pytest.mark.integration
STEPS = str(ROOT / "tests" / "sources" / "steps")


def _finished(ws, run_id):
    run = PipelineRun.get(ws, run_id)
    run.wait_for_completion(show_output=False, timeout_seconds=120)
    return run


@pytest.fixture
def published(ws):
    param = PipelineParameter("value", 1.5)
    flag = PipelineParameter("flag", True)
    out = OutputFileDatasetConfig("out")
    step = PythonScriptStep(
        name="write",
        script_name="write.py",
        source_directory=STEPS,
        arguments=["--out", out, "--value", param],
        params={"flag": flag},
    )
    return Pipeline(ws, [step]).publish(
        name=f"p-{uuid.uuid4().hex[:6]}", description="d", version="2"
    )


def _post(url, token, body, **headers):
    return requests.post(
        url, headers={"Authorization": f"Bearer {token}", **headers}, json=body, timeout=30
    )


def test_a_string_override_is_coerced_and_reaches_the_script(studio, ws, published):
    answer = _post(
        published.endpoint,
        studio.token,
        {
            "experimentname": "coerce",
            "parameterassignments": {"value": "0.25", "flag": "false"},
            "Unknown": 1,
        },
    )
    assert answer.status_code == 200, answer.text
    entity = answer.json()
    assert entity["PipelineId"] == published.id and entity["ParameterAssignments"] == {
        "value": "0.25",
        "flag": "False",
    }
    assert entity["RunUrl"].endswith(f"/runs/{entity['Id']}/")
    log = _finished(ws, entity["Id"]).find_step_run("write")[0].get_job_log()
    assert "wrote 0.25" in log


def test_the_endpoint_refuses_bad_requests_with_clear_errors(studio, ws, published):
    url = published.endpoint
    cases = [
        ({}, 400, "ExperimentName"),
        ({"ExperimentName": "../x"}, 400, "ExperimentName"),
        (
            {"ExperimentName": "e", "ParameterAssignments": {"value": "abc"}},
            400,
            "Expected type of the pipeline parameter value is float",
        ),
        ({"ExperimentName": "e", "ParameterAssignments": [1]}, 400, "ParameterAssignments"),
        (
            {"ExperimentName": "e", "ContinueRunOnStepFailure": "yes"},
            400,
            "ContinueRunOnStepFailure",
        ),
    ]
    before = len(studio.api("GET", "runs/?experiment=e").json()["results"])
    for body, code, text in cases:
        answer = _post(url, studio.token, body)
        assert answer.status_code == code, (body, answer.text)
        assert text in answer.text
    assert (
        len(studio.api("GET", "runs/?experiment=e").json()["results"]) == before
    )  # nothing queued

    assert requests.post(url, json={"ExperimentName": "e"}, timeout=30).status_code == 401
    assert _post(url, "st_bad_token", {"ExperimentName": "e"}).status_code == 401
    unknown = url.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())
    assert _post(unknown, studio.token, {"ExperimentName": "e"}).status_code == 404
    big = _post(url, studio.token, {"ExperimentName": "e", "Description": "x" * (1024 * 1024 + 10)})
    assert big.status_code == 413
    not_json = requests.post(
        url,
        headers={"Authorization": f"Bearer {studio.token}", "Content-Type": "application/json"},
        data=b"{nope",
        timeout=30,
    )
    assert not_json.status_code == 400

    published.disable()
    disabled = _post(url, studio.token, {"ExperimentName": "e"})
    assert disabled.status_code == 409 and "Disabled" in disabled.json()["error"]["message"]
    published.enable()
    assert _post(url, studio.token, {"ExperimentName": "e"}).status_code == 200


def test_the_endpoint_runs_with_a_parameter_it_lacks_ignored_and_named(studio, published):
    answer = _post(
        published.endpoint,
        studio.token,
        {"ExperimentName": "ignored", "ParameterAssignments": {"nope": 1, "value": "2.5"}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["Warnings"] == [
        "Pipeline parameter nope does not exist in this pipeline; its value was ignored."
    ]
    run = studio.api("GET", f"runs/{answer.json()['Id']}/").json()
    assert run["parameters"] == {"value": 2.5, "flag": True}
    assert run["warnings"] == answer.json()["Warnings"]


def _token(studio, scope="submit", pipeline_id=None) -> str:
    extra = ["--pipeline", pipeline_id] if pipeline_id else []
    return studio.manage("createtoken", "scoped", "--scope", scope, *extra).strip().splitlines()[-1]


def test_token_scopes_limits_and_revocation(studio, ws, published):
    url = published.endpoint
    read = _token(studio, "read")
    answer = _post(url, read, {"ExperimentName": "scopes"})
    assert answer.status_code == 403 and "scope" in answer.json()["error"]["message"]
    assert _post(url, _token(studio, "submit"), {"ExperimentName": "scopes"}).status_code == 200
    limited_elsewhere = Pipeline(
        ws, [PythonScriptStep(name="n", script_name="noop.py", source_directory=STEPS)]
    ).publish(name="elsewhere")
    limited = _token(studio, "submit", pipeline_id=limited_elsewhere.id)
    assert _post(url, limited, {"ExperimentName": "scopes"}).status_code == 403
    assert (
        _post(limited_elsewhere.endpoint, limited, {"ExperimentName": "scopes"}).status_code == 200
    )
    assert (
        requests.get(
            f"{studio.url}/api/runs/", headers={"Authorization": f"Bearer {limited}"}, timeout=30
        ).status_code
        == 403
    )

    fresh = _token(studio, "submit")
    assert _post(url, fresh, {"ExperimentName": "scopes"}).status_code == 200
    studio.manage(
        "shell",
        "-c",
        "from django.utils import timezone\nfrom studio.workspace.models import ApiToken\nApiToken.objects.filter(prefix="
        + repr(fresh.split("_")[1])
        + ").update(revoked_at=timezone.now())",
    )
    assert _post(url, fresh, {"ExperimentName": "scopes"}).status_code == 401


def test_an_idempotent_retry_returns_the_same_run(studio, published):
    key = uuid.uuid4().hex
    first = _post(
        published.endpoint, studio.token, {"ExperimentName": "idem"}, **{"Idempotency-Key": key}
    )
    second = _post(
        published.endpoint, studio.token, {"ExperimentName": "idem"}, **{"Idempotency-Key": key}
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["Id"] == second.json()["Id"]
    runs = studio.api("GET", "runs/?experiment=idem").json()["results"]
    assert [r["id"] for r in runs].count(first.json()["Id"]) == 1 and len(runs) == 1


def test_get_on_the_endpoint_describes_it_and_the_sdk_lists_it(studio, ws, published):
    described = requests.get(
        published.endpoint, headers=ws.auth.get_authentication_header(), timeout=30
    ).json()
    assert described["name"] == published.name and described["version"] == "2"
    assert {p["name"]: (p["type"], p["default"]) for p in described["parameters"]} == {
        "value": ("float", 1.5),
        "flag": ("bool", True),
    }
    assert PublishedPipeline.get(ws, published.id).name == published.name
    assert published.id in [p.id for p in PublishedPipeline.list(ws)]
    published.disable()
    assert published.id not in [p.id for p in PublishedPipeline.list(ws)]
    assert published.id in [p.id for p in PublishedPipeline.list(ws, active_only=False)]
    published.enable()
    run = published.submit(ws, "sdk-submit", pipeline_parameters={"value": 3})
    assert run.wait_for_completion(show_output=False) == "Finished"


def test_a_pipeline_endpoint_keeps_versions_and_a_default(studio, ws, published):
    name = f"ep-{uuid.uuid4().hex[:6]}"
    endpoint = PipelineEndpoint.publish(ws, name=name, description="ep", pipeline=published)
    assert endpoint.endpoint.endswith(f"/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint.id}")
    assert endpoint.default_version == "0"
    second = Pipeline(
        ws, [PythonScriptStep(name="n", script_name="noop.py", source_directory=STEPS)]
    )
    endpoint.add(second)
    assert [v.version for v in endpoint.list_versions()] == ["0", "1"]
    endpoint.set_default_version("1")
    assert PipelineEndpoint.get(ws, name=name).default_version == "1"
    with pytest.raises(ValueError, match="Version 7 does not exist"):
        endpoint.set_default_version("7")
    run = endpoint.submit("ep-runs", pipeline_version="0", pipeline_parameters={"value": 2})
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert studio.api("GET", f"runs/{run.id}/").json()["published_pipeline"] == published.id
    default_run = endpoint.submit("ep-runs")
    assert default_run.wait_for_completion(show_output=False) == "Finished"
    assert [s.name for s in default_run.get_steps()] == ["n"]
    answer = _post(endpoint.endpoint + "/1", studio.token, {"ExperimentName": "ep-rest"})
    assert answer.status_code == 200 and answer.json()["PipelineEndpointId"] == endpoint.id
    endpoint.disable()
    with pytest.raises(ValueError, match="Status must be Active"):
        endpoint.submit("ep-runs")
    assert _post(endpoint.endpoint, studio.token, {"ExperimentName": "ep-rest"}).status_code == 409
    wait_until(lambda: True)
