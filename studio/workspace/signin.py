"""Signing in to the pages: Django's login, refused while the account or address is locked."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError

from studio.workspace import throttle


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password did not match. Please try again.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR") if self.request else None
        keys = (throttle.account_key(username), throttle.address_key(address))
        locked = throttle.locked_for(*keys)
        if locked:
            raise ValidationError(throttle.lockout_message(locked), code="locked")
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.record_failure(*keys)
            locked = throttle.locked_for(*keys)
            if locked:
                raise ValidationError(throttle.lockout_message(locked), code="locked") from None
            raise
        throttle.clear(keys[0])
        return cleaned


class SignInView(LoginView):
    authentication_form = ThrottledAuthenticationForm
