"""Live fragments of list pages: refreshed while something runs, nearly free when nothing changed.

A fragment that polls carries the ETag of what it shows (``data-etag``); studio.js sends it
back as ``If-None-Match``. The view computes the tag from one cheap query over the rows it
shows and answers 304, with no rendering, when the tag is the same. Once nothing shown is
going on any more, the answer stops the polling (htmx's 286).
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from django_htmx.http import HttpResponseStopPolling


def etag(*parts: object) -> str:
    """A strong ETag naming ``parts`` (rows of plain values: ids, statuses, times)."""
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:24] + '"'


def not_modified(request: HttpRequest, tag: str) -> HttpResponse | None:
    """A 304 when the client already shows what ``tag`` names, else None."""
    if tag not in parse_etags(request.headers.get("If-None-Match", "")):
        return None
    response = HttpResponseNotModified()
    response["ETag"] = tag
    return response


def fragment(response: HttpResponse, tag: str, live: bool) -> HttpResponse:
    """A refreshed fragment, tagged; when ``live`` is False it also tells htmx to stop polling."""
    if not live:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        response = stop
    response["ETag"] = tag
    response["Cache-Control"] = "no-cache"
    return response
