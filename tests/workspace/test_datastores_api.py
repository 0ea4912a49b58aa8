"""The datastore API keeps every path inside its store, and local folders for admins only."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model

from studio.workspace import storage
from tests.factories import client_for

pytestmark = pytest.mark.django_db

ESCAPES = [
    "../secret.txt",
    "%2e%2e/secret.txt",
    "/etc/passwd",
    "a\\..\\b",
    "x#/../y",
    "file:///etc/passwd",
]


@pytest.fixture
def default_root():
    root = storage.default_datastore().root_path
    (root / "raw").mkdir(parents=True, exist_ok=True)
    (root / "raw" / "a.csv").write_text("a\n1\n")
    (root.parent / "secret.txt").write_text("canary")
    return root


@pytest.mark.parametrize("path", ESCAPES)
def test_downloads_uploads_and_listings_refuse_escapes(api, default_root, path):
    for method, url in [
        ("get", "/api/datastores/workspaceblobstore/download/"),
        ("get", "/api/datastores/workspaceblobstore/files/"),
        ("put", "/api/datastores/workspaceblobstore/upload/"),
    ]:
        if method == "put":
            response = api.put(
                url + "?" + _query(path), data=b"x", content_type="application/octet-stream"
            )
        else:
            response = api.get(url + "?" + _query(path))
        assert response.status_code == 400, (method, url, path, response.content)
        assert response.json()["error"]["field"] == "path"
    assert (default_root.parent / "secret.txt").read_text() == "canary"


def _query(path: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"path": path})


def test_a_symlink_out_of_the_store_is_not_followed(api, default_root):
    os.symlink(default_root.parent / "secret.txt", default_root / "raw" / "link.txt")
    listed = api.get("/api/datastores/workspaceblobstore/files/?path=raw").json()
    assert [e["name"] for e in listed] == ["a.csv"]
    assert api.get(
        "/api/datastores/workspaceblobstore/download/?path=raw/link.txt"
    ).status_code in (400, 404)


def test_upload_and_download_round_trip_and_overwrite_is_explicit(api, default_root):
    url = "/api/datastores/workspaceblobstore/upload/?path=up/x.txt"
    assert api.put(url, data=b"one", content_type="application/octet-stream").status_code == 201
    refused = api.put(url, data=b"two", content_type="application/octet-stream")
    assert refused.status_code == 400 and "overwrite" in refused.json()["error"]["message"]
    assert (
        api.put(
            url + "&overwrite=true", data=b"two", content_type="application/octet-stream"
        ).status_code
        == 201
    )
    got = api.get("/api/datastores/workspaceblobstore/download/?path=up/x.txt")
    assert b"".join(got.streaming_content) == b"two"


def test_only_an_admin_registers_a_local_datastore_under_the_allowed_roots(
    alice, settings, tmp_path
):
    settings.STUDIO_LOCAL_DATASTORE_ROOTS = [tmp_path / "allowed"]
    body = {"name": "mine", "kind": "local", "root": str(tmp_path / "allowed" / "data")}
    refused = client_for(alice).post("/api/datastores/", body, format="json")
    assert refused.status_code == 403 and "admin role" in refused.json()["error"]["message"]
    admin = get_user_model().objects.create_superuser("root", password="x" * 12)
    outside = client_for(admin).post(
        "/api/datastores/", {**body, "root": str(tmp_path / "elsewhere")}, format="json"
    )
    assert (
        outside.status_code == 400
        and "STUDIO_LOCAL_DATASTORE_ROOTS" in outside.json()["error"]["message"]
    )
    created = client_for(admin).post("/api/datastores/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "local"


def test_registering_a_remote_store_that_cannot_be_reached_is_a_clear_400(admin_api, settings):
    settings.STUDIO_DATASTORE_ALLOWED_HOSTS = ["127.0.0.1"]
    body = {
        "name": "nowhere",
        "kind": "s3",
        "bucket": "b1",
        "endpoint_url": "http://127.0.0.1:9/",
        "key": "k",
        "secret": "s",
    }
    response = admin_api.post("/api/datastores/", body, format="json")
    assert response.status_code == 400
    assert "cannot be reached" in response.json()["error"]["message"]


def test_registering_a_remote_store_that_never_answers_gives_up_with_a_clear_400(
    admin_api, settings
):
    # An endpoint that accepts the connection and never answers (a firewall, a wrong port
    # on a busy host) must not hold the request.
    import socket
    import time

    settings.STUDIO_DATASTORE_CHECK_SECONDS = 1.0
    settings.STUDIO_DATASTORE_ALLOWED_HOSTS = ["127.0.0.1"]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        body = {
            "name": "silent",
            "kind": "s3",
            "bucket": "b1",
            "endpoint_url": f"http://127.0.0.1:{silent.getsockname()[1]}/",
            "key": "k",
            "secret": "s",
        }
        started = time.monotonic()
        response = admin_api.post("/api/datastores/", body, format="json")
        assert time.monotonic() - started < 5
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["field"] == "options"
        assert "silent did not answer within 1 s" in error["message"]
        assert admin_api.get("/api/datastores/silent/").status_code == 404  # nothing was registered
    finally:
        silent.close()


def test_dataset_registration_follows_azureml_rules(api, default_root):
    body = {
        "name": "raw",
        "kind": "tabular",
        "paths": [["workspaceblobstore", "raw/*.csv"]],
        "options": {"separator": ","},
    }
    first = api.post("/api/datasets/", body, format="json")
    assert first.status_code == 201 and first.json()["version"] == 1
    changed = {**body, "paths": [["workspaceblobstore", "raw"]]}
    refused = api.post("/api/datasets/", changed, format="json")
    assert refused.status_code == 400
    assert (
        'There is already a dataset registered under name "raw"'
        in refused.json()["error"]["message"]
    )
    second = api.post("/api/datasets/", {**changed, "create_new_version": True}, format="json")
    assert second.json()["version"] == 2
    latest = api.get("/api/datasets/by-name/raw/").json()
    assert latest["version"] == 2
    assert api.get("/api/datasets/by-name/raw/?version=1").json()["paths"] == [
        ["workspaceblobstore", "raw/*.csv"]
    ]
    assert api.get("/api/datasets/by-name/nope/").status_code == 404
    escape = api.post(
        "/api/datasets/",
        {**body, "name": "bad", "paths": [["workspaceblobstore", "../x"]]},
        format="json",
    )
    assert escape.status_code == 400 and escape.json()["error"]["field"].startswith("paths")


def test_a_dataset_keeps_its_partition_format_and_a_bad_one_is_named(api, default_root):
    body = {
        "name": "sales",
        "kind": "file",
        "paths": [["workspaceblobstore", "sales"]],
        "options": {"partition_format": "/{state}/{day:yyyy/MM/dd}/*.csv"},
    }
    created = api.post("/api/datasets/", body, format="json")
    assert created.status_code == 201
    assert created.json()["options"]["partition_format"] == "/{state}/{day:yyyy/MM/dd}/*.csv"
    bad = api.post(
        "/api/datasets/",
        {**body, "name": "bad", "options": {"partition_format": "/state/*.csv"}},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "options"
    assert "partition_format must name at least one partition key" in bad.json()["error"]["message"]
