"""Names are checked before they leave the SDK, by the server's own rules (studio.core.names)."""

from __future__ import annotations

from studio.core.errors import StudioError
from studio.core.names import check_name, check_tags
from studio.sdk.exceptions import UserErrorException


def checked_name(kind: str, name: object, field: str = "name") -> str:
    """``name`` if it is a valid ``kind`` name; otherwise UserErrorException saying the rule."""
    try:
        return check_name(kind, name, field)
    except StudioError as exc:
        raise UserErrorException(exc.message, field=exc.field) from None


def checked_tags(tags: dict) -> dict:
    """Tags or properties whose names are valid tag names."""
    try:
        return check_tags({str(k): str(v) for k, v in tags.items()})
    except StudioError as exc:
        raise UserErrorException(exc.message, field=exc.field) from None
