"""A NUL character anywhere in a URL is a 400 on every route, before any view looks it up
(PostgreSQL cannot even compare such a string): a page under pages, JSON under the API."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter

API_PREFIXES = ("/api/", "/pipelines/v1.0/")  # Studio's API and Azure's REST submit URLs

pytestmark = pytest.mark.django_db


def _routes(patterns=None, prefix: str = ""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield "/" + prefix + str(entry.pattern).lstrip("^"), entry


def _sample(name: str, converter: object, text: str) -> str:
    """A value the route takes for parameter ``name``; ``text`` where any string will do."""
    if isinstance(converter, UUIDConverter) or (converter is None and name.endswith("_id")):
        return str(uuid.uuid4())
    if isinstance(converter, IntConverter):
        return "1"
    if name == "action":
        return "enable"
    return text


def _urls(text: str, api: bool) -> list[tuple[str, dict[str, str]]]:
    """A URL of every named route (of the API or of the pages), its parameters from ``_sample``."""
    urls = []
    for route, entry in _routes():
        if route.startswith(API_PREFIXES) != api:
            continue
        converters = getattr(entry.pattern, "converters", {})
        names = entry.pattern.regex.groupindex
        kwargs = {name: _sample(name, converters.get(name), text) for name in names}
        urls.append((reverse(entry.name, kwargs=kwargs), kwargs))
    return urls


def test_every_page_route_refuses_nul_in_its_path_or_query_with_a_400(client, alice):
    client.force_login(alice)
    page_urls = _urls("nul\x00name", api=False)
    assert len(page_urls) > 30
    for url, _ in page_urls:
        for method in ("get", "post"):
            nul_in_path = "%00" in url
            for target in ([url] if nul_in_path else []) + [f"{url.replace('%00', '')}?q=a%00b"]:
                response = getattr(client, method)(target)
                assert response.status_code == 400, (method, target, response.status_code)
                assert response["Content-Type"].startswith("text/html")
                assert b"must not contain NUL characters" in response.content


def test_every_api_route_refuses_nul_with_json_naming_the_part(api):
    for url, kwargs in _urls("nul\x00name", api=True):
        target = url if "%00" in url else f"{url}?q%00=x"
        response = api.get(target)
        assert response.status_code == 400, (target, response.status_code)
        error = response.json()["error"]
        assert error["message"].endswith("must not contain NUL characters."), target
        if "?" in target:
            assert error["field"] == "q\\x00", target
        else:
            assert kwargs[error["field"]] == "nul\x00name", target
