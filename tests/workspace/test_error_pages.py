"""Error pages (DEBUG off): 400, 403, 404 and 500 in the site's layout, with its navigation and
a way back; the 500 page renders with no database; the API keeps its JSON errors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import path

from studio import urls as studio_urls
from studio.workspace import roles
from studio.workspace.api import errors
from tests import factories


def _fail(request):
    raise RuntimeError("a bug somewhere")


urlpatterns = [path("api/failing/", _fail), path("failing/", _fail), *studio_urls.urlpatterns]
handler400 = studio_urls.handler400
handler403 = studio_urls.handler403
handler404 = studio_urls.handler404
handler500 = studio_urls.handler500


def _assert_styled(response, status: int, heading: str) -> None:
    html = response.content.decode()
    assert response.status_code == status, html[:300]
    assert response["Content-Type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/static/studio/studio.css">' in html
    assert '<nav class="sidenav" id="sidenav" aria-label="Main">' in html
    for link in ('href="/experiments/"', 'href="/runs/"', 'href="/schedules/"'):
        assert link in html, (status, link)
    assert '<a class="button primary-link" href="/">Back to Home</a>' in html
    assert heading in html
    assert "Traceback" not in html and "a bug somewhere" not in html


@pytest.fixture
def client(db, settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(factories.user("alice"))
    return client


def test_a_missing_page_is_the_styled_404_naming_the_path(client):
    response = client.get("/no-such-page/<b>")
    _assert_styled(response, 404, "Nothing here")
    assert "<code>/no-such-page/&lt;b&gt;</code>" in response.content.decode()
    assert 'href="/logout/"' not in response.content.decode()  # signing out is a form
    assert "alice" in response.content.decode()


def test_a_missing_object_is_the_styled_404(client):
    _assert_styled(client.get("/runs/no-such-run/"), 404, "Nothing here")


def test_a_bad_request_is_the_styled_400(client):
    response = client.get("/", HTTP_HOST="attacker.example")
    _assert_styled(response, 400, "This request cannot be answered")


def test_a_refusal_is_the_styled_403_with_its_reason(client, db):
    reader = factories.user("reader")
    reader.groups.add(Group.objects.get_or_create(name=roles.READERS_GROUP)[0])
    client.force_login(reader)
    response = client.get("/schedules/new/")
    _assert_styled(response, 403, "Not allowed")
    assert "this needs the submit role" in response.content.decode()


def test_a_server_error_is_the_styled_500(client):
    _assert_styled(client.get("/failing/"), 500, "Something went wrong on the server")


def test_the_500_page_renders_without_the_database(settings):
    """No ``db`` fixture: any query here fails the test."""
    settings.DEBUG = False
    response = errors.server_error(RequestFactory().get("/runs/"))
    _assert_styled(response, 500, "Something went wrong on the server")


def test_the_api_keeps_its_json_errors(client):
    for url, status in (("/api/failing/", 500), ("/api/no-such-thing/", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"]
