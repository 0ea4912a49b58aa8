"""Fixtures every part of the suite shares. Test data comes from ``tests/factories.py``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.harness import Studio, environment_settings, isolated_services


@pytest.fixture(scope="session")
def studio():
    """A live Studio for the integration and browser tests (ended when the session ends)."""
    data_dir = Path(tempfile.mkdtemp(prefix="studio-live-"))
    server = Studio(data_dir, **isolated_services("suite"), **environment_settings(data_dir))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def ws(studio):
    return studio.workspace()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db):
    return factories.user("alice")


@pytest.fixture
def bob(db):
    return factories.user("bob")


@pytest.fixture
def api(alice) -> APIClient:
    return factories.client_for(alice)


@pytest.fixture
def admin_api(db) -> APIClient:
    """An admin's client: a superuser ("root") with an admin token."""
    return factories.client_for(factories.user("root", superuser=True))


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def snapshot(tmp_path, api) -> str:
    """The digest of a real source folder (train.py, score.py), built and uploaded."""
    return factories.uploaded_snapshot(api, tmp_path)
