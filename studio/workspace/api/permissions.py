from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.exceptions import ValidationError

from studio.workspace import roles
from studio.workspace.auth import RunCredential
from studio.workspace.models import ApiToken

if TYPE_CHECKING:
    # Annotations only: DRF imports this module while rest_framework.views is still loading
    # (DEFAULT_PERMISSION_CLASSES), so importing APIView here at run time would be circular.
    from rest_framework.request import Request
    from rest_framework.views import APIView


def refuse_nul(request: Request, view: APIView) -> None:
    """A 400 for a NUL character in the URL path or query, which PostgreSQL cannot even compare."""
    values = [*getattr(view, "kwargs", {}).items()]
    values += [(name, value) for name, items in request.query_params.lists() for value in items]
    for name, value in values:
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError({name: "Must not contain NUL characters."})


class TokenScope(permissions.BasePermission):
    """Writes need the submit role at least (``roles``): a read token or a read-only account
    only reads; run tokens only reach views that allow them; limited tokens only submit views.

    Being the check every API view makes, it also refuses NUL characters in the URL
    (``refuse_nul``) once the caller is known, before any view looks anything up.
    """

    message = "This token's scope does not allow this request."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        refuse_nul(request, view)
        auth = request.auth
        if isinstance(auth, RunCredential):
            return getattr(view, "allow_run_token", False)
        limited_view = getattr(view, "allow_limited_token", False)
        if (
            isinstance(auth, ApiToken)
            and (auth.pipeline_id or auth.endpoint_id)
            and not limited_view
        ):
            self.message = "This token is limited to one published pipeline or endpoint and can only submit it."
            return False
        if request.method in permissions.SAFE_METHODS or limited_view:
            return True  # a submit view authorizes its pipeline itself (roles.authorize)
        reason = roles.refusal(request, "create")
        if reason is not None:
            self.message = reason
            return False
        return True
