"""Who may use the API: bearer tokens, their scope, revocation, and anonymous callers."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from studio.workspace.models import ApiToken
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def _bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_an_anonymous_caller_gets_401_with_a_json_error(anonymous):
    response = anonymous.get("/api/runs/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
        }
    }
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_issued_token_works_as_a_bearer_header(alice):
    token, secret = ApiToken.issue(alice, "laptop")
    assert secret.startswith(f"st_{token.prefix}_")
    response = _bearer(secret).get("/api/runs/")
    assert response.status_code == 200
    assert response.json()["results"] == []
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_use_is_recorded_to_the_minute_without_a_write_per_request(alice):
    token, secret = ApiToken.issue(alice, "poller")
    client = _bearer(secret)
    assert client.get("/api/runs/").status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert client.get("/api/runs/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first  # a poll a moment later writes nothing

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    assert client.get("/api/runs/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first


def test_the_token_is_not_stored_in_clear(alice):
    token, secret = ApiToken.issue(alice, "laptop")
    assert secret.split("_", 2)[2] not in (token.secret_hash, token.prefix)


@pytest.mark.parametrize(
    "header",
    ["Bearer st_nothere_secret", "Bearer not-a-token", "Bearer a b", "Bearer run.forged"],
)
def test_a_wrong_token_gets_401(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/runs/")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message"}


def test_a_token_with_a_wrong_secret_gets_401(alice):
    token, secret = ApiToken.issue(alice, "laptop")
    response = _bearer(f"st_{token.prefix}_{'x' * 43}").get("/api/runs/")
    assert response.status_code == 401
    assert _bearer(secret).get("/api/runs/").status_code == 200


def test_a_revoked_token_is_refused_at_once(alice):
    token, secret = ApiToken.issue(alice, "laptop")
    client = _bearer(secret)
    assert client.get("/api/runs/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    response = client.get("/api/runs/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid, expired or revoked token."


def test_an_expired_token_is_refused(alice):
    _, secret = ApiToken.issue(alice, "old", expires_at=timezone.now() - timedelta(seconds=1))
    assert _bearer(secret).get("/api/runs/").status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(alice):
    client = client_for(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/api/runs/").status_code == 401


def test_a_read_token_may_read_but_not_create_an_experiment(alice):
    client = client_for(alice, scope="read")
    assert client.get("/api/experiments/").status_code == 200
    response = client.post("/api/experiments/", {"name": "mnist"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "This token's scope (read) does not allow this request: it needs the submit role."
    )


def test_a_submit_token_may_create_an_experiment(alice):
    response = client_for(alice, scope="submit").post(
        "/api/experiments/", {"name": "mnist"}, format="json"
    )
    assert response.status_code == 201


def test_the_schema_answers_an_authenticated_user(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/runs/" in response.content
    assert b"/api/snapshots/{digest}/upload/" in response.content


def test_createtoken_prints_the_token_alone_on_its_last_line_and_it_works(alice):
    out = StringIO()
    call_command("createtoken", "laptop", user="alice", scope="read", stdout=out)
    lines = out.getvalue().strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("st_") and " " not in secret
    assert "laptop" in lines[0] and secret not in lines[0]
    client = _bearer(secret)
    assert client.get("/api/runs/").status_code == 200
    assert client.post("/api/experiments/", {"name": "x"}, format="json").status_code == 403
    assert ApiToken.objects.get(name="laptop").scope == "read"


def test_createtoken_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("createtoken", "laptop", user="nobody", stdout=StringIO())


def test_an_api_path_that_names_no_endpoint_is_a_json_404(api, anonymous):
    for client in (api, anonymous):
        response = client.get("/api/no-such-thing/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "not_found" and "/api/no-such-thing/" in error["message"]
    missing_slash = api.post("/api/runs", {}, format="json")
    assert missing_slash.status_code == 404
    assert "Did you mean /api/runs/ ?" in missing_slash.json()["error"]["message"]
