from __future__ import annotations

from typing import Any

from django import template

from studio.core.status import tone as status_tone

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``mapping|get_item:"a.b"``: a dict value whose key has dots or spaces."""
    # Any: a template passes whatever its variable holds; only a mapping's ``get`` is used.
    if hasattr(mapping, "get"):
        return mapping.get(key, "")
    return ""


@register.filter
def tone(status: object) -> str:
    """The tone of a status word (``tone-<tone>`` is its CSS class; see studio.core.status)."""
    return status_tone(str(status))
