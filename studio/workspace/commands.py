"""What management commands run in a second terminal share: a clear error when they do not
reach the database that ``make run`` uses."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, connection


def require_database() -> None:
    """Refuse, saying what to set, unless Studio's tables are in the configured database."""
    try:
        tables = connection.introspection.table_names()
    except DatabaseError as exc:
        raise CommandError(f"Cannot reach the database: {exc}") from None
    if "auth_user" not in tables or "workspace_apitoken" not in tables:
        where = settings.DATABASES["default"]["NAME"]
        raise CommandError(
            f"No Studio database at {where}. Run this command with the STUDIO_DATA_DIR (and "
            "DATABASE_URL) that `make run` uses, or run `manage.py migrate` first."
        )
