"""Failed sign-ins and bearer tokens lock the account or the address; valid tokens never are."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from studio.workspace.models import AuthFailure
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def carol(db):
    user = factories.user("carol")
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_the_right_password_is_refused_once_an_account_is_locked(client, carol, settings):
    for _ in range(settings.STUDIO_AUTH_FAILURES - 1):
        assert "did not match" in _sign_in(client, "carol", "wrong").content.decode()
    page = _sign_in(client, "carol", "wrong").content.decode()
    assert "Too many failed sign-ins" in page and "try again in 15 minutes" in page
    refused = _sign_in(client, "carol", PASSWORD, address="198.51.100.1")  # another address too
    assert refused.status_code == 200 and "Too many failed sign-ins" in refused.content.decode()
    AuthFailure.objects.update(locked_until=timezone.now())  # the lockout ends
    assert _sign_in(client, "carol", PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_the_accounts_failures(client, carol, settings):
    for _ in range(settings.STUDIO_AUTH_FAILURES - 1):
        _sign_in(client, "carol", "wrong")
    assert _sign_in(client, "carol", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.STUDIO_AUTH_FAILURES - 1):
        _sign_in(client, "carol", "wrong")
    assert _sign_in(client, "carol", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_locked(client, carol, settings):
    settings.STUDIO_AUTH_ADDRESS_FAILURES = 12
    for i in range(12):
        _sign_in(client, f"guess{i}", "wrong", address="192.0.2.9")
    page = _sign_in(client, "carol", PASSWORD, address="192.0.2.9").content.decode()
    assert "Too many failed sign-ins" in page
    assert _sign_in(client, "carol", PASSWORD, address="192.0.2.10").status_code == 302


def test_wrong_bearer_tokens_are_throttled_and_a_valid_token_never_is(carol, settings):
    settings.STUDIO_AUTH_ADDRESS_FAILURES = 5
    stranger = APIClient(REMOTE_ADDR="192.0.2.44")
    stranger.credentials(HTTP_AUTHORIZATION="Bearer st_not-a-token")
    answers = [stranger.get("/api/experiments/").status_code for _ in range(6)]
    assert answers[:4] == [401] * 4 and answers[4:] == [429, 429]
    body = stranger.get("/api/experiments/").json()
    assert body["error"]["message"].startswith("Too many invalid tokens from this address.")
    valid = factories.client_for(carol, scope="read")
    assert valid.get("/api/experiments/", REMOTE_ADDR="192.0.2.44").status_code == 200
