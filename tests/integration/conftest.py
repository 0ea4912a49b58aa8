"""Emulated remote stores shared by the integration tests: one moto and one Azurite server
for the whole session, each killed with its process group at the end."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.harness import free_port
from tests.integration.emulators import (
    AZURITE_ACCOUNT,
    AZURITE_BLOB,
    MOTO_SERVER,
    Backend,
    _Emulator,
)


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
def s3(moto) -> Backend:
    return Backend("s3", moto)


@pytest.fixture(scope="session", params=["s3", "azure"])
def backend(request) -> Backend:
    if request.param == "s3":
        return Backend("s3", request.getfixturevalue("moto"))
    return Backend("azure", request.getfixturevalue("azurite"))
