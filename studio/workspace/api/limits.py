"""Bounded input at the edge: request bodies over their route's limit, NUL characters in URLs.

Both are refused here, once the route is known and before its view, a form or a parser reads
the request: 400 for a NUL character in the path or the query (PostgreSQL cannot even compare
such a string), 413 for a body over its route's limit. Routes marked ``takes_upload``
(snapshots, datastore files, step artifacts: they stream to disk) allow
``STUDIO_MAX_UPLOAD_BYTES``; every other route, whose JSON or form body is parsed in memory,
``DATA_UPLOAD_MAX_MEMORY_SIZE``. Under the API the answer is the API's JSON error, elsewhere a
page.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

from studio.workspace.api.errors import error_response

View = TypeVar("View", bound=Callable[..., Any])

_CHUNK = 64 * 1024
# A chunked body is kept in memory up to this size, then in a temporary file.
_SPOOL_IN_MEMORY = 1024 * 1024


def takes_upload(view: View) -> View:
    """Mark a view whose body is a file streamed to disk: it may be up to STUDIO_MAX_UPLOAD_BYTES."""
    view.takes_upload = True  # type: ignore[attr-defined]
    return view


def body_limit(view: Callable[..., Any]) -> int:
    if getattr(view, "takes_upload", False):
        return settings.STUDIO_MAX_UPLOAD_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _size(limit: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if limit >= scale:
            return f"{limit / scale:g} {unit}"
    return f"{limit} bytes"


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    return error_response(
        request,
        413,
        "payload_too_large",
        f"The request body is over this route's limit of {_size(limit)} ({limit} bytes).",
        field="body",
    )


def _nul_in_url(request: HttpRequest, kwargs: dict[str, Any]) -> str | None:
    """The part of the URL holding a NUL character: a path parameter's or a query parameter's
    name, or ``path``."""
    for name, value in kwargs.items():
        if isinstance(value, str) and "\x00" in value:
            return name
    if "\x00" in request.path_info:
        return "path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\x00")
    return None


class RequestLimits:
    """The middleware: one rule for pages and the API (see the module's docstring). It comes
    before CsrfViewMiddleware, whose ``process_view`` reads a POSTed form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        spool = getattr(request, "_request_limits_spool", None)
        if spool is not None:
            spool.close()
        return response

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        where = _nul_in_url(request, kwargs)
        if where is not None:
            return error_response(
                request, 400, "invalid", f"{where}: must not contain NUL characters.", field=where
            )
        limit = body_limit(view)
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.strip():
            try:
                length = int(declared)
            except ValueError:
                return error_response(
                    request, 400, "invalid", "Content-Length is not a number.", field="body"
                )
            if length > limit:
                return _too_large(request, limit)
            return None
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and (
            request.META.get("wsgi.input_terminated")
        ):
            return self._spool_chunked(request, limit)
        return None

    def _spool_chunked(self, request: HttpRequest, limit: int) -> HttpResponse | None:
        """Read a body sent without Content-Length, counting, up to ``limit``; then hand it on
        as if its length had been declared (Django and DRF read no body without one)."""
        source = request.META["wsgi.input"]
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
        size = 0
        while chunk := source.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                spool.close()
                return _too_large(request, limit)
            spool.write(chunk)
        spool.seek(0)
        request._stream = LimitedStream(spool, size)  # type: ignore[attr-defined]
        request.META["CONTENT_LENGTH"] = str(size)
        # Kept open until the response is made, then closed (and its file removed) by __call__.
        request._request_limits_spool = spool  # type: ignore[attr-defined]
        return None
