"""The emulated remote stores (moto and Azurite, started in tests/conftest.py) as backends."""

from __future__ import annotations

import pytest

from tests.integration.emulators import Backend


@pytest.fixture
def s3(moto) -> Backend:
    return Backend("s3", moto)


@pytest.fixture(scope="session", params=["s3", "azure"])
def backend(request) -> Backend:
    if request.param == "s3":
        return Backend("s3", request.getfixturevalue("moto"))
    return Backend("azure", request.getfixturevalue("azurite"))
