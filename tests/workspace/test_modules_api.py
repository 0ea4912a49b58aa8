"""Modules over REST: create, publish versions, default and status, and what a submission of a
module step is checked against; every refusal names its field."""

from __future__ import annotations

import pytest
from django.test import Client

from studio.workspace import modules
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def digest(api, tmp_path) -> str:
    return factories.uploaded_snapshot(api, tmp_path, {"calc.py": "print('calc')\n"})


@pytest.fixture
def module(api) -> dict:
    response = api.post("/api/modules/", {"name": "calc", "description": "adds"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _publish(api, module, digest, **body):
    return api.post(
        f"/api/modules/{module['id']}/versions/",
        {"script_name": "calc.py", "snapshot": digest, **body},
        format="json",
    )


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_it_creates_a_module_and_refuses_a_taken_or_bad_name(api, module):
    assert module["name"] == "calc" and module["versions"] == []
    assert module["default_version"] is None and module["status"] == "Active"
    taken = _error(api.post("/api/modules/", {"name": "calc"}, format="json"), 409)
    assert taken["message"] == "Module calc already exists."
    bad = _error(api.post("/api/modules/", {"name": "../x"}, format="json"), 400)
    assert bad["field"] == "name"
    assert api.get("/api/modules/by-name/calc/").json()["id"] == module["id"]
    assert _error(api.get("/api/modules/by-name/nope/"), 404)["message"] == "Module nope not found."


def test_it_publishes_versions_with_ports_params_and_arguments(api, module, digest):
    first = _publish(
        api,
        module,
        digest,
        version="1",
        outputs=[{"name": "out_sum", "label": "Sum"}],
        inputs=[{"name": "in1", "is_optional": True}],
        params={"factor": 3, "label": "x"},
        arguments=[{"kind": "literal", "value": "--out"}, {"kind": "output", "value": "out_sum"}],
    )
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["version"] == "1" and data["files"] == ["calc.py"] and not data["is_default"]
    assert data["outputs"][0]["data_type"] == "AnyFile"
    assert data["inputs"][0]["data_types"] == ["AnyFile", "AnyDirectory"]
    assert data["params"] == [
        {"name": "factor", "default": 3, "type": "int"},
        {"name": "label", "default": "x", "type": "str"},
    ]
    second = _publish(api, module, digest, is_default=True)  # no version: the next number
    assert second.json()["version"] == "2" and second.json()["is_default"]
    listed = api.get(f"/api/modules/{module['id']}/").json()
    assert listed["default_version"] == "2"
    assert [v["version"] for v in listed["versions"]] == ["1", "2"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"version": "1"}, "version", "provided version value already exist"),
        ({"script_name": "missing.py"}, "script_name", "script not found at: missing.py"),
        ({"snapshot": "0" * 64}, "snapshot", "has not been uploaded"),
        ({"inputs": [{"name": "a b"}]}, "inputs[0].name", "is not a valid port name"),
        ({"inputs": [{"name": "p"}], "outputs": [{"name": "p"}]}, "outputs", "used twice"),
        ({"params": {"x": [1]}}, "params.x", "must be a string, number, boolean or null"),
        (
            {"arguments": [{"kind": "input", "value": "nope"}]},
            "arguments[0].value",
            "names no input",
        ),
        ({"version": "a/b"}, "version", "A module version starts with"),
        ({"environment": {"python": 3}}, "environment.python", ""),
    ],
)
def test_a_bad_version_is_refused_naming_the_field(api, module, digest, body, field, message):
    assert _publish(api, module, digest, version="1").status_code == 201
    error = _error(_publish(api, module, digest, **body), 409 if "already" in message else 400)
    assert error["field"] == field
    assert message in error["message"]


def test_default_and_status_changes(api, module, digest):
    _publish(api, module, digest, version="1")
    version = _publish(api, module, digest, version="2").json()
    url = f"/api/modules/{module['id']}/"
    refused = _error(api.patch(url, {"default_version": "7"}, format="json"), 400)
    assert refused == {**refused, "field": "default_version"}
    assert refused["message"] == "provided version is not part of the module"
    assert api.patch(url, {"default_version": "2"}, format="json").json()["default_version"] == "2"
    assert _error(api.patch(url, {"status": "Gone"}, format="json"), 400)["field"] == "status"
    assert api.patch(url, {"status": "Deprecated"}, format="json").json()["status"] == "Deprecated"
    changed = api.patch(
        f"/api/moduleversions/{version['id']}/", {"status": "Disabled"}, format="json"
    )
    assert changed.json()["status"] == "Disabled"
    assert _error(api.get("/api/moduleversions/nope/"), 404)["field"] == "module_version_id"


def test_another_submitter_cannot_change_alices_module(module, digest, bob):
    other = factories.client_for(bob)
    refused = other.patch(f"/api/modules/{module['id']}/", {"status": "Disabled"}, format="json")
    assert _error(refused, 403)["message"] == "Only its owner (alice) or an admin may change this."
    assert _error(_publish(other, module, digest, version="9"), 403)


def _graph(published: dict, digest: str, **module) -> dict:
    ref = {"id": published["id"], "name": "calc", "version": published["version"], **module}
    return {
        "steps": [
            {
                "node_id": "a",
                "name": "calc",
                "script_name": "calc.py",
                "snapshot": digest,
                "module": ref,
            }
        ]
    }


def test_a_submission_is_checked_against_the_module_version(api, module, digest, tmp_path):
    version = _publish(api, module, digest, version="1").json()
    ok = api.post(
        "/api/runs/", {"experiment_name": "m", "graph": _graph(version, digest)}, format="json"
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["steps"][0]["module"] == {"id": version["id"], "name": "calc", "version": "1"}

    (tmp_path / "other").mkdir()
    other = factories.uploaded_snapshot(api, tmp_path / "other", {"calc.py": "print('other')\n"})
    for graph, message in [
        (_graph(version, other), "is not module calc version 1"),
        (_graph(version, digest, version="2"), "is not module calc version 1"),
        (_graph({**version, "id": "0" * 8}, digest), "module calc version 1 does not exist"),
    ]:
        refused = api.post("/api/runs/", {"experiment_name": "m", "graph": graph}, format="json")
        error = _error(refused, 400)
        assert error["field"] == "graph.steps[0].module" and message in error["message"]
    bad = _graph(version, digest)
    bad["steps"][0]["module"] = "calc"
    assert (
        _error(api.post("/api/runs/", {"experiment_name": "m", "graph": bad}, format="json"), 400)[
            "field"
        ]
        == "graph.steps[0].module"
    )

    api.patch(f"/api/moduleversions/{version['id']}/", {"status": "Disabled"}, format="json")
    disabled = api.post(
        "/api/runs/", {"experiment_name": "m", "graph": _graph(version, digest)}, format="json"
    )
    assert "module calc version 1 is disabled" in _error(disabled, 400)["message"]


def test_the_pages_list_modules_and_their_users(
    alice, module, digest, api, django_assert_max_num_queries
):
    version = _publish(api, module, digest, version="1").json()
    api.post(
        "/api/runs/", {"experiment_name": "m", "graph": _graph(version, digest)}, format="json"
    )
    client = Client()
    client.force_login(alice)
    listing = client.get("/modules/")
    assert b"calc" in listing.content and listing.status_code == 200
    with django_assert_max_num_queries(12):
        page = client.get(f"/modules/{module['id']}/")
    text = page.content.decode()
    assert "Version 1" in text and "m · Run 1" in text and "calc.py" in text
    made = client.post(f"/modules/{module['id']}/default/", {"version": "1"})
    assert made.status_code == 302
    assert modules.get_module(name="calc").default_version == "1"
    client.post(f"/moduleversions/{version['id']}/deprecate/")
    assert modules.get_version(version["id"]).status == "Deprecated"
