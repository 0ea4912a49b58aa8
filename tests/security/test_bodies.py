"""Bounded input: bodies over their route's limit are refused before anything reads them, uploads
stream to disk, damaged snapshot zips are a 400, and every API error is JSON."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.test import Client
from django.urls import path

from studio import urls as studio_urls
from studio.core.snapshot import MAX_SNAPSHOT_BYTES, build
from studio.workspace import storage
from tests import factories

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
UPLOAD = f"/api/datastores/{storage.DEFAULT_DATASTORE}/upload/"


class Zeros(io.RawIOBase):
    """A body of ``size`` zero bytes made as it is read (never whole in memory), counting what
    was read; ``fail_after`` bytes read, it fails as a dropped connection does."""

    def __init__(self, size: int, fail_after: int | None = None):
        self.size, self.read_bytes, self.fail_after = size, 0, fail_after

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.fail_after is not None and self.read_bytes >= self.fail_after:
            raise OSError("connection reset by peer")
        n = self.size - self.read_bytes if n is None or n < 0 else n
        n = min(n, self.size - self.read_bytes, 4 * MB)
        self.read_bytes += n
        return bytes(n)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _body(stream, length: int | None, chunked: bool = False) -> dict:
    """WSGI environ entries for a body read from ``stream``: with a Content-Length, or chunked
    without one (as gunicorn hands it over)."""
    extra = {"wsgi.input": stream, "CONTENT_LENGTH": "" if length is None else str(length)}
    if chunked:
        extra.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    return extra


def _datastore_folder() -> Path:
    return storage.default_datastore().root_path


def test_a_json_body_over_the_limit_is_refused_before_it_is_read(api, settings):
    body = Zeros(100 * MB)
    response = api.post("/api/datasets/", content_type="application/json", **_body(body, body.size))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and error["field"] == "body"
    assert (
        "10 MiB" in error["message"]
        and str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]
    )
    assert body.read_bytes == 0


def test_a_page_form_over_the_limit_gets_an_html_413(client, alice):
    client.force_login(alice)
    body = Zeros(50 * MB)
    response = client.post(
        "/schedules/new/",
        content_type="application/x-www-form-urlencoded",
        **_body(body, body.size),
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert b"over this route&#x27;s limit of 10 MiB" in response.content
    assert body.read_bytes == 0


def test_a_chunked_body_is_counted_and_cut_off_at_the_limit(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * MB
    body = Zeros(500 * MB)
    response = api.post(
        "/api/datasets/", content_type="application/json", **_body(body, None, True)
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert body.read_bytes <= 2 * MB + 4 * MB  # stopped within one read of the limit


def test_a_chunked_upload_under_the_cap_is_stored_whole(api):
    response = api.put(
        f"{UPLOAD}?path=chunked/whole.bin",
        content_type="application/octet-stream",
        **_body(Zeros(3 * MB), None, chunked=True),
    )
    assert response.status_code == 201, response.content
    assert response.json()["size"] == 3 * MB
    assert (_datastore_folder() / "chunked" / "whole.bin").stat().st_size == 3 * MB


def _peak_while(request) -> tuple[object, int]:
    """The response, and the most memory Python held above the start while it was answered."""
    tracemalloc.start()
    try:
        response = request()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def test_every_upload_route_streams_200_mb_to_disk(api, alice, tmp_path):
    size = 200 * MB
    step = factories.step_in("Running", owner=alice)
    archive = tmp_path / "big.zip"
    digest = factories.stored_zip(archive, {"train.py": 10, "data/big.bin": size})
    routes = {
        "datastore": (f"{UPLOAD}?path=big/upload.bin", _datastore_folder() / "big" / "upload.bin"),
        "artifact": (
            f"/api/steps/{step.id}/files/upload/?name=outputs/big.bin",
            storage.step_log_dir(str(step.id)) / "outputs" / "big.bin",
        ),
        "snapshot": (f"/api/snapshots/{digest}/upload/", storage.snapshot_path(digest)),
    }
    for route, (url, written) in routes.items():
        with open(archive, "rb") as body:
            length = archive.stat().st_size
            response, peak = _peak_while(
                lambda url=url, body=body, length=length: api.put(
                    url, content_type="application/zip", **_body(body, length)
                )
            )
        assert response.status_code == 201, (route, response.content)
        assert written.stat().st_size == length, route
        written.unlink()
        assert peak < 16 * MB, (
            f"answering a 200 MB upload to the {route} route held {peak // MB} MB"
        )
    assert response.json()["files"] == ["data/big.bin", "train.py"]


def _no_upload_left(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.is_file() and ".upload" in p.name], (
        "a partial upload was left behind"
    )


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_over_the_cap_is_refused_and_leaves_no_file(api, alice, settings, chunked):
    settings.STUDIO_MAX_UPLOAD_BYTES = 4 * MB
    size = 4 * MB + 1
    response = api.put(
        f"{UPLOAD}?path=capped/too-big.bin",
        content_type="application/octet-stream",
        **_body(Zeros(size), None if chunked else size, chunked),
    )
    assert response.status_code == 413
    assert "4 MiB" in response.json()["error"]["message"]
    assert not (_datastore_folder() / "capped").exists()

    step = factories.step_in("Running", owner=alice)
    response = api.put(
        f"/api/steps/{step.id}/files/upload/?name=outputs/too-big.bin",
        content_type="application/octet-stream",
        **_body(Zeros(size), None if chunked else size, chunked),
    )
    assert response.status_code == 413
    assert not (storage.step_log_dir(str(step.id)) / "outputs").exists()

    digest = "ab" * 32
    response = api.put(
        f"/api/snapshots/{digest}/upload/",
        content_type="application/zip",
        **_body(Zeros(size), None if chunked else size, chunked),
    )
    assert response.status_code == 413
    assert not storage.snapshot_path(digest).exists()
    _no_upload_left(storage.snapshot_path(digest).parent)


def test_an_upload_cut_short_leaves_no_partial_file(api, tmp_path):
    size = 8 * MB
    client = factories.client_for(factories.user("dora"))
    client.raise_request_exception = False
    response = client.put(
        f"{UPLOAD}?path=cut/short.bin",
        content_type="application/octet-stream",
        **_body(Zeros(size, fail_after=4 * MB), size),
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "path: cut/short.bin cannot be written: connection reset by peer."
    )
    assert not (_datastore_folder() / "cut" / "short.bin").exists()
    _no_upload_left(_datastore_folder() / "cut")

    archive = tmp_path / "snapshot.zip"
    digest = factories.stored_zip(archive, {"train.py": 6 * MB})
    with open(archive, "rb") as whole:
        data = whole.read()
    response = client.put(
        f"/api/snapshots/{digest}/upload/",
        content_type="application/zip",
        **_body(_FailingAfter(data, 3 * MB), len(data)),
    )
    assert response.status_code >= 400
    assert not storage.snapshot_path(digest).exists()
    _no_upload_left(storage.snapshot_path(digest).parent)


class _FailingAfter(io.BytesIO):
    def __init__(self, data: bytes, fail_after: int):
        super().__init__(data)
        self.fail_after = fail_after

    def read(self, n: int | None = -1) -> bytes:
        if self.tell() >= self.fail_after:
            raise OSError("connection reset by peer")
        return super().read(min(n if n and n > 0 else MB, MB))


# Damaged and hostile snapshot zips.


def _good_zip(tmp_path: Path) -> tuple[str, bytes]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('train')\n" * 200)
    digest, data, _ = build(tmp_path / "src")
    return digest, data


def _flip_byte_in_data(data: bytes) -> bytes:
    """The same zip with one byte of the first entry's compressed data changed (CRC fails)."""
    name_length, extra_length = struct.unpack("<HH", data[26:30])
    at = 30 + name_length + extra_length + 5
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _with_method(data: bytes, method: int) -> bytes:
    """The same zip, its entries claiming another compression method (local and central)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = out.find(signature)
        while at != -1:
            out[at + offset : at + offset + 2] = struct.pack("<H", method)
            at = out.find(signature, at + 4)
    return bytes(out)


def _with_flag(data: bytes, flag: int) -> bytes:
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at != -1:
            (flags,) = struct.unpack("<H", out[at + offset : at + offset + 2])
            out[at + offset : at + offset + 2] = struct.pack("<H", flags | flag)
            at = out.find(signature, at + 4)
    return bytes(out)


def test_damaged_snapshot_zips_are_a_400_naming_the_problem(api, tmp_path):
    digest, data = _good_zip(tmp_path)
    damaged = {
        "not a zip": b"this is not a zip file at all",
        "truncated": data[: len(data) // 2],
        "corrupt data": _flip_byte_in_data(data),
        "unknown compression": _with_method(data, 99),
        "bz2 claimed": _with_method(data, zipfile.ZIP_BZIP2),
        "encrypted": _with_flag(data, 0x1),
    }
    api.raise_request_exception = False
    for damage, body in damaged.items():
        response = api.put(
            f"/api/snapshots/{digest}/upload/", data=body, content_type="application/zip"
        )
        assert response.status_code == 400, (damage, response.content)
        error = response.json()["error"]
        assert error["field"] == "body" and "zip" in error["message"], damage
    wrong = "0" * 64
    response = api.put(f"/api/snapshots/{wrong}/upload/", data=data, content_type="application/zip")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "digest"
    assert f"hashes to {digest}" in response.json()["error"]["message"]
    for each in (digest, wrong):
        assert not storage.snapshot_path(each).exists()
    _no_upload_left(storage.snapshot_path(digest).parent)


def test_a_zip_bomb_is_refused_by_its_declared_sizes_before_any_entry_is_read(api, tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name in ("a.bin", "b.bin"):
            with zf.open(name, "w", force_zip64=True) as fh:
                for _ in range(MAX_SNAPSHOT_BYTES // (2 * 4 * MB) + 1):
                    fh.write(bytes(4 * MB))
    data = archive.read_bytes()
    assert len(data) < 2 * MB  # hundreds of MB once inflated
    response, peak = _peak_while(
        lambda: api.put(
            f"/api/snapshots/{'ab' * 32}/upload/", data=data, content_type="application/zip"
        )
    )
    assert response.status_code == 400
    assert "over the limit" in response.json()["error"]["message"]
    assert peak < 16 * MB, f"refusing a zip bomb held {peak // MB} MB"


# Every error under the API is JSON; pages keep HTML.


def _fail(request):
    raise RuntimeError("a bug somewhere")


# Studio's URLconf and error handlers, with two routes that fail.
urlpatterns = [path("api/failing/", _fail), path("failing/", _fail), *studio_urls.urlpatterns]
handler400 = getattr(studio_urls, "handler400", "django.views.defaults.bad_request")
handler403 = getattr(studio_urls, "handler403", "django.views.defaults.permission_denied")
handler404 = getattr(studio_urls, "handler404", "django.views.defaults.page_not_found")
handler500 = getattr(studio_urls, "handler500", "django.views.defaults.server_error")


def test_every_api_error_is_json_and_pages_keep_html(alice, settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    crsf_client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    crsf_client.force_login(alice)

    answers = {
        "unknown route": client.get("/api/no-such-thing/"),
        "wrong method": client.delete("/api/workspace/"),
        "bad JSON": client.post("/api/datasets/", "{not json", content_type="application/json"),
        "too large": client.post(
            "/api/datasets/", content_type="application/json", **_body(Zeros(20 * MB), 20 * MB)
        ),
        "csrf": crsf_client.post("/api/no-such-thing/", {"a": "b"}),
        "csrf on a view": crsf_client.post("/api/datasets/", {"a": "b"}),
        "bad host": client.get("/api/workspace/", HTTP_HOST="attacker.example"),
        "server error": client.get("/api/failing/"),
        "azure submit route": client.get("/pipelines/v1.0/no-such-thing"),
    }
    for case, response in answers.items():
        assert response.status_code >= 400, case
        assert response["Content-Type"] == "application/json", (case, response.content[:200])
        error = json.loads(response.content)["error"]
        assert error["message"] and error["code"], case
        assert "Traceback" not in error["message"] and "a bug somewhere" not in error["message"]
    assert answers["server error"].status_code == 500
    assert (
        answers["csrf"].status_code == 403 and "CSRF" in answers["csrf"].json()["error"]["message"]
    )

    page = client.get("/failing/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
