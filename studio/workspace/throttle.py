"""Failed sign-ins and failed bearer tokens, counted per account and per address.

Past ``STUDIO_AUTH_FAILURES`` failures of an account (or ``STUDIO_AUTH_ADDRESS_FAILURES`` from one
address) within ``STUDIO_AUTH_WINDOW_SECONDS``, that account or address is locked for
``STUDIO_AUTH_LOCKOUT_SECONDS``: a sign-in is refused even with the right password, and a wrong
bearer token from that address answers 429. A valid token is never refused by this. The counts
live in the database, so every web worker sees them.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.workspace.models import AuthFailure


def account_key(username: str) -> str:
    return f"account:{username.strip().lower()[:150]}"


def address_key(address: str | None) -> str:
    return f"address:{(address or 'unknown')[:100]}"


def _limit(key: str) -> int:
    if key.startswith("address:"):
        return settings.STUDIO_AUTH_ADDRESS_FAILURES
    return settings.STUDIO_AUTH_FAILURES


def locked_for(*keys: str) -> int:
    """Seconds until the longest lock among ``keys`` ends (0: none is locked)."""
    now = timezone.now()
    until = (
        AuthFailure.objects.filter(key__in=keys, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    return math.ceil((until - now).total_seconds()) if until else 0


def record_failure(*keys: str) -> None:
    """Count a failure against each key; lock those past their limit."""
    now = timezone.now()
    window = timedelta(seconds=settings.STUDIO_AUTH_WINDOW_SECONDS)
    for key in keys:
        for _ in range(2):
            try:
                with transaction.atomic():
                    row, created = AuthFailure.objects.select_for_update().get_or_create(
                        key=key, defaults={"failures": 1, "first_at": now}
                    )
                    if not created:
                        if now - row.first_at > window:
                            row.failures, row.first_at = 1, now
                        else:
                            row.failures += 1
                    if row.failures >= _limit(key):
                        row.locked_until = now + timedelta(
                            seconds=settings.STUDIO_AUTH_LOCKOUT_SECONDS
                        )
                        row.failures, row.first_at = 0, now
                    row.save()
                break
            except IntegrityError:  # another worker created the row first: count again
                continue


def clear(*keys: str) -> None:
    """A successful sign-in forgets the account's failures (not a lock in force)."""
    AuthFailure.objects.filter(key__in=keys, locked_until__isnull=True).delete()
    AuthFailure.objects.filter(key__in=keys, locked_until__lte=timezone.now()).delete()


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        "Too many failed sign-ins for this account or from this address: try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}."
    )
