"""JSON errors for the API: one shape, a message that names the problem, never a traceback."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import DisallowedHost, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.csrf import csrf_failure as django_csrf_failure
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from studio.core.errors import StudioError
from studio.workspace import outages

log = logging.getLogger("studio.workspace.api")


class Conflict(exceptions.APIException):
    """The request is fine but the state of things refuses it (a name taken, a run not done)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


_CODES = {404: "not_found", 409: "conflict", 413: "payload_too_large"}

# Where the API answers: Studio's own and Azure's REST submit URLs.
API_PREFIXES = ("/api/", "/pipelines/v1.0/")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIXES)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, field: str | None = None
) -> HttpResponse:
    """An error answered outside any view (middleware, Django's handlers): the API's JSON
    shape under the API, a page elsewhere."""
    if is_api(request):
        error = {"code": code, "message": message}
        if field is not None:
            error["field"] = field
        return JsonResponse({"error": error}, status=status)
    return render(request, "studio/error.html", {"message": message}, status=status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as ``{"error": {"code", "message", "field"?}}``: the project's own
    (StudioError, translated here and nowhere else) and DRF's."""
    if isinstance(exc, StudioError):
        return Response(
            {
                "error": {
                    "code": _CODES.get(exc.status, "invalid"),
                    "message": exc.message,
                    "field": exc.field,
                }
            },
            status=exc.status,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = response.data
        field, message = _first_error(detail)
        response.data = {
            "error": {"code": "invalid", "message": message, "field": field, "details": detail}
        }
    else:
        if isinstance(exc, Http404):
            message, code = (str(exc) or "Not found."), "not_found"
        elif isinstance(exc, PermissionDenied):
            message, code = (
                str(exc) or "You do not have permission to perform this action.",
                "permission_denied",
            )
        else:
            message, code = str(getattr(exc, "detail", exc)), getattr(exc, "default_code", "error")
        response.data = {"error": {"code": code, "message": message}}
    return response


def _first_error(detail: Any, prefix: str = "") -> tuple[str, str]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else prefix.rstrip(".")
            field, message = _first_error(value, f"{prefix}{name}.")
            return field or f"{prefix}{name}", message
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], prefix)
    return prefix.rstrip("."), f"{prefix.rstrip('.')}: {detail}" if prefix else str(detail)


def not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """A path under /api/ that names no endpoint: the same JSON error shape as the rest."""
    from django.urls import Resolver404, resolve

    message = f"No API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message += f" Did you mean {request.path}/ ?"
    message += " The API is described at /api/schema/."
    return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)


# Django's error handlers (studio.urls): JSON under the API, the site's pages elsewhere.


def _error_page(
    template: str, status: int, request: HttpRequest | None = None, **context: Any
) -> HttpResponse:
    """An error page in the site's layout, its navigation shown (``error_page``). Without a
    ``request`` no context processor runs, so nothing queries the database."""
    body = loader.render_to_string(template, {**context, "error_page": True}, request)
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        if isinstance(exception, DisallowedHost):
            message = "The Host header names a host this server does not answer (ALLOWED_HOSTS)."
        else:  # Django's own: too many fields, a body too large for a form, ...
            message = str(exception) or "The request is not valid."
        return error_response(request, 400, "invalid", message)
    return _error_page("400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(
            request, 403, "permission_denied", "You do not have permission to perform this action."
        )
    return _error_page("403.html", 403, request, exception=str(exception))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(request, 404, "not_found", f"Nothing at {request.path}.")
    return _error_page("404.html", 404, request, request_path=request.path)


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500 names no internals: the traceback goes to the log (django.request), not the client.
    What no view caught (a session saved after the view, for one) still answers 503 or 507
    when the database or the disk is the cause. The page is rendered without the request:
    with the database down, a context processor's query would fail again."""
    exc = sys.exc_info()[1]
    unavailable = outages.unavailable_response(request, exc) if exc is not None else None
    if unavailable is not None:
        return unavailable
    if is_api(request):
        return error_response(
            request, 500, "server_error", "The server failed to answer this request."
        )
    return _error_page("500.html", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return error_response(
            request,
            403,
            "csrf_failed",
            f"CSRF check failed ({reason}); send a bearer token, or the CSRF token with a session.",
        )
    return django_csrf_failure(request, reason)
