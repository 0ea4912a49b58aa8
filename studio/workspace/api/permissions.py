from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions

from studio.workspace import roles
from studio.workspace.auth import RunCredential
from studio.workspace.models import ApiToken

if TYPE_CHECKING:
    # Annotations only: DRF imports this module while rest_framework.views is still loading
    # (DEFAULT_PERMISSION_CLASSES), so importing APIView here at run time would be circular.
    from rest_framework.request import Request
    from rest_framework.views import APIView


class TokenScope(permissions.BasePermission):
    """Writes need the submit role at least (``roles``): a read token or a read-only account
    only reads; run tokens only reach views that allow them; limited tokens only submit views.
    (NUL characters in the URL are refused before any view, by studio.workspace.api.limits.)
    """

    message = "This token's scope does not allow this request."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
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
