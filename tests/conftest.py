"""Fixtures every part of the suite shares. Test data comes from ``tests/factories.py``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.browser.fixtures import *  # noqa: F403 (one browser for every folder's browser tests)
from tests.browser.fixtures import _browser_available  # noqa: F401 (a fixture, by name)
from tests.harness import Studio, environment_settings, free_port, isolated_services
from tests.integration.emulators import AZURITE_ACCOUNT, AZURITE_BLOB, MOTO_SERVER, _Emulator


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
        if not os.environ.get("STUDIO_TEST_KEEP_DATA"):
            shutil.rmtree(data_dir, ignore_errors=True)


# Emulated remote stores on loopback (integration and security tests): one moto and one
# Azurite server for the whole session, each killed with its process group at the end.


@pytest.fixture(scope="session")
def emulator_dir():
    folder = Path(tempfile.mkdtemp(prefix="studio-emulators-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def moto(emulator_dir):
    """A moto S3 server on loopback; its endpoint URL."""
    assert MOTO_SERVER.exists(), (
        f"moto_server is not installed at {MOTO_SERVER}: pip install 'moto[server]'"
    )
    port = free_port()
    server = _Emulator(
        "moto",
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        f"http://127.0.0.1:{port}",
        emulator_dir,
    )
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop(grace=1)  # moto takes seconds to exit on SIGTERM; SIGKILL is fine


@pytest.fixture(scope="session")
def azurite(emulator_dir):
    """An Azurite blob server on loopback; its blob endpoint for devstoreaccount1."""
    if not AZURITE_BLOB.exists():
        pytest.fail(
            f"Azurite is not installed ({AZURITE_BLOB} is missing). Run `make azurite` "
            "(`make test` installs it) to install azurite with npm into .venv/node.",
            pytrace=False,
        )
    port = free_port()
    location = emulator_dir / "azurite-data"
    location.mkdir()
    argv = [
        str(AZURITE_BLOB),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(location),
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
        "--silent",
    ]
    server = _Emulator("azurite", argv, f"http://127.0.0.1:{port}", emulator_dir)
    try:
        server.wait_ready()
        yield f"{server.url}/{AZURITE_ACCOUNT}"
    finally:
        server.stop(grace=5)


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
