"""What answers while the database or a disk cannot write: real errors, told apart from bugs."""

from __future__ import annotations

import errno
import json
import sqlite3

import pytest
from django.db import utils
from django.test import RequestFactory

from studio.workspace import outages


def _locked_database_error(tmp_path) -> utils.OperationalError:
    """The error Django raises when SQLite stays locked beyond its busy timeout."""
    path = tmp_path / "db.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0)
    try:
        try:
            other.execute("INSERT INTO t VALUES (1)")
        except sqlite3.OperationalError as exc:
            try:
                raise utils.OperationalError(*exc.args) from exc
            except utils.OperationalError as wrapped:
                return wrapped
        raise AssertionError("the write was not refused")
    finally:
        other.close()
        holder.close()


def _full_disk_error() -> OSError:
    try:
        with open("/dev/full", "wb", buffering=0) as fh:
            fh.write(b"x")
    except OSError as exc:
        return exc
    raise AssertionError("/dev/full took a write")


def test_a_locked_database_is_unwritable_and_a_broken_query_is_not(tmp_path):
    assert outages.database_unwritable(_locked_database_error(tmp_path)) == (
        "it stayed locked beyond the busy timeout"
    )
    assert outages.database_unwritable(utils.OperationalError("no such column: x")) is None
    assert outages.database_unwritable(utils.IntegrityError("UNIQUE constraint failed")) is None
    assert outages.database_unwritable(ValueError("database is locked")) is None


def test_a_full_disk_is_told_with_its_path():
    error = _full_disk_error()
    assert outages.no_space(RuntimeError("wrapped")) is None
    wrapped = RuntimeError("publishing failed")
    wrapped.__cause__ = error
    assert outages.no_space(wrapped) is error
    error.filename = "/data/datastores/out.bin"
    assert outages.no_space_message(error) == "No space left on device: /data/datastores/out.bin"
    assert error.errno == errno.ENOSPC


@pytest.mark.parametrize("path", ["/api/runs/", "/pipelines/v1.0/x"])
def test_the_api_answers_json_503_with_retry_after(tmp_path, path):
    request = RequestFactory().post(path)
    response = outages.unavailable_response(request, _locked_database_error(tmp_path))
    assert response is not None and response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)
    error = json.loads(response.content)["error"]
    assert error["code"] == "unavailable"
    assert "database cannot take writes" in error["message"]
    assert "locked" in error["message"]


def test_a_page_answers_a_plain_503_page(tmp_path):
    request = RequestFactory().post("/login/")
    response = outages.unavailable_response(request, _locked_database_error(tmp_path))
    assert response is not None and response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"database cannot take writes" in response.content
    assert b"Traceback" not in response.content


def test_a_full_disk_answers_507_and_any_other_error_is_left_alone():
    request = RequestFactory().put("/api/snapshots/x/upload/")
    response = outages.unavailable_response(request, _full_disk_error())
    assert response is not None and response.status_code == 507
    assert json.loads(response.content)["error"]["code"] == "no_space"
    assert outages.unavailable_response(request, KeyError("bug")) is None
