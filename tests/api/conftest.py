from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from studio.workspace.models import ApiToken

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password=PASSWORD)


def client_for(user, scope: str = "admin") -> APIClient:
    """An API client that sends a fresh bearer token of ``user``."""
    _, secret = ApiToken.issue(user, f"{user.username}-{scope}", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api(alice) -> APIClient:
    return client_for(alice)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()
