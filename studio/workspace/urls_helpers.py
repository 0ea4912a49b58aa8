from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def absolute_base_url(request: HttpRequest | Request | None = None) -> str:
    """The server's public base URL: STUDIO_PUBLIC_URL, else the request's host."""
    if settings.STUDIO_PUBLIC_URL:
        return settings.STUDIO_PUBLIC_URL.rstrip("/")
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return ""
