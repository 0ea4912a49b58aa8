"""API authentication: user tokens (``st_...``) and the per-attempt run tokens steps receive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import DatabaseError, transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from studio.workspace import outages, throttle
from studio.workspace.models import ApiToken

if TYPE_CHECKING:
    # Annotations only: DRF imports this module while rest_framework.views is still loading
    # (DEFAULT_AUTHENTICATION_CLASSES), and drf_spectacular.openapi imports that module.
    from django.contrib.auth.models import AbstractUser
    from drf_spectacular.openapi import AutoSchema
    from rest_framework.request import Request

LAST_USED_PRECISION = timedelta(minutes=1)
RUN_TOKEN_SALT = "studio.run-token"


def issue_run_token(step_run_id: str, attempt: int, user_id: int | None) -> str:
    """The token a step attempt's script authenticates with: signed, acting for the user who
    submitted the run, reaching only that run (``RunCredential``)."""
    payload = {"s": step_run_id, "a": attempt, "u": user_id}
    return "run." + signing.dumps(payload, salt=RUN_TOKEN_SALT, compress=True)


@dataclass(frozen=True)
class RunCredential:
    """What a step script may do: act on its own step run (and read its pipeline run)."""

    step_run_id: str
    attempt: int
    scope: str = "run"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(
        self, request: Request
    ) -> tuple[AbstractUser, ApiToken | RunCredential] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: expected 'Bearer <token>'."
            )
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if raw.startswith("run."):
            return self._run_token(raw)
        token = ApiToken.resolve(raw)
        if token is None or not token.user.is_active:
            self._failed(request)
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            # "Last used" to the minute: polling clients do not write the token row each time.
            try:
                with transaction.atomic():
                    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            except DatabaseError as exc:
                # Only a note: reading goes on while the database refuses writes.
                if outages.database_unwritable(exc) is None:
                    raise
        return token.user, token

    @staticmethod
    def _failed(request: Request) -> None:
        """Count a wrong token against its address; past the limit, answer 429 (a valid token
        from the same address still works)."""
        key = throttle.address_key(request.META.get("REMOTE_ADDR"))
        throttle.record_failure(key)
        locked = throttle.locked_for(key)
        if locked:
            raise exceptions.Throttled(
                wait=locked, detail="Too many invalid tokens from this address."
            )

    def _run_token(self, raw: str) -> tuple[AbstractUser, RunCredential]:
        try:
            data = signing.loads(raw[4:], salt=RUN_TOKEN_SALT)
        except signing.BadSignature:
            raise exceptions.AuthenticationFailed("Invalid run token.") from None
        user_id, step_id = data.get("u"), data.get("s")
        user = (
            get_user_model().objects.filter(id=user_id, is_active=True).first() if user_id else None
        )
        if user is None or not isinstance(step_id, str):
            raise exceptions.AuthenticationFailed("Invalid run token.")
        return user, RunCredential(step_run_id=step_id, attempt=data.get("a", 0))

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <token>`` in the OpenAPI schema."""

    target_class = "studio.workspace.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `manage.py createtoken` or the Tokens page.",
        }
